"""Witness cosignatures of the platform's checkpoints (C2SP tlog-witness / tlog-cosignature).

Without configured witnesses the published checkpoint is the platform's signed note alone.
"""
from __future__ import annotations

from audit.log_models import Checkpoint


def published_note(cp: Checkpoint) -> str:
    """The checkpoint note as published: with the witnesses' cosignature lines once they cosigned."""
    return cp.note
