"""What a Merkle leaf holds: the event's public *leaf header*, not the event itself (pure module).

    leaf hash = SHA-256(0x00 || header)      header = canonical JSON
    {"body": sha256(event canonical bytes) hex, "tag": HMAC(K_project, "n") hex | null,
     "v": 2, "vis": "public" | "supervisors" | "sealed"}   (+ "count": n on a project's closing event)

* ``body`` commits to the whole event (its canonical bytes, which hold a random 128-bit ``uid``,
  so a hidden body cannot be guessed from its hash). A public archive gives a sealed event's
  header only; anyone still checks that it is in the log at its index and where it stands.
* ``tag`` commits to the event's project and its place ``n`` (1, 2, 3, … in log order) in that
  project's own sequence. ``K_project`` is a per-project key derived from the platform's
  secret; until it is revealed the tags of different projects are indistinguishable random
  strings, so nobody learns which leaves (or how many) belong to a project. The key is revealed
  once the project's deadlines have passed (signed archive manifests) and for ever in the
  closing event (``project.close``). Then anyone computes tag(1), tag(2), … and checks that the
  project's events are exactly those leaves, in that order, with nothing missing.
* ``count`` on the closing event is its own ``n``: the project's final number of events.

See docs/verifiability.md for the argument. ``sunlight_verify.py`` re-implements these few lines.
"""
from __future__ import annotations

import hashlib
import hmac

from audit.canonical import canonical_bytes

VERSION = 2
CLOSE_ACTION = "project.close"
_KEY_LABEL = b"sunlight/project-tag-key/v1\n"


def master_from_private(raw_private: bytes) -> bytes:
    """The tag master secret, derived from the log's private key (never published)."""
    return hashlib.sha256(_KEY_LABEL + raw_private).digest()


def project_key(master: bytes, project_id: int) -> bytes:
    return hmac.new(master, f"project {int(project_id)}".encode(), hashlib.sha256).digest()


def tag(key: bytes, n: int) -> str:
    return hmac.new(key, str(int(n)).encode(), hashlib.sha256).hexdigest()


def header(*, canonical: bytes, visibility: str, tag_hex: str | None, count: int | None = None) -> bytes:
    obj = {"body": hashlib.sha256(canonical).hexdigest(), "tag": tag_hex, "v": VERSION, "vis": visibility}
    if count is not None:
        obj["count"] = count
    return canonical_bytes(obj)


def leaf_input(canonical: bytes, header_text: str | None) -> bytes:
    """The bytes a stored leaf hashes: its header (v2), or the whole event for leaves of v1."""
    return header_text.encode("utf-8") if header_text else canonical
