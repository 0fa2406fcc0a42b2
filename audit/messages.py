"""What the audit log's proofs and archives say to people, translatable: the proof errors of audit/merkle.py and
audit/proofs.py and the archive's refusals (audit/archive.py), by their ``code``. The modules keep their English for
logs and the command-line tools (``audit_export``, ``sunlight-verify``); the API and the pages answer with these
(``trading.errors.translated``) in the request's language.
"""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

# ProofError / NotFoundError code → message
PROOFS: dict[str, Any] = {
    "": _("the proof does not verify"),
    "proof": _("the proof does not verify"),
    "index_outside": _("leaf index %(index)s is outside a tree of size %(size)s"),
    "no_consistency": _("no consistency proof from size %(first)s to size %(second)s"),
    "size_beyond": _("tree size %(size)s is beyond %(current)s"),
    "no_checkpoint": _("no signed checkpoint has tree size %(size)s"),
    "size_unknown": _("tree size %(size)s is unknown: the log holds %(current)s entries"),
    "empty_tree": _("tree size %(size)s is unknown: the empty tree has no leaves"),
    "index_unknown": _("leaf index %(index)s is not in a tree of size %(size)s"),
    "sizes_order": _("first size %(first)s is larger than second size %(second)s"),
    "first_size": _("the first size must be at least 1"),
    "event_not_integrated": _("event %(event)s is not in the log yet (the sequencer integrates it within seconds)"),
    "event_not_covered": _("event %(event)s is not covered by a signed checkpoint yet"),
}

# ArchiveError code → message
ARCHIVE: dict[str, Any] = {
    "": _("the archive cannot be made"),
    "no_events": _("no audit events for project %(project)s"),
    "no_project": _("no project with code %(ref)r in the audit log"),
    "kind": _("an archive is public or full, not %(kind)r"),
    "no_checkpoint": _("no signed (and, with witnesses, cosigned) checkpoint yet: run the sequencer first"),
    "no_events_in_log": _("project %(project)s has no events in the log"),
    "not_covered": _("%(count)s events of project %(project)s are not covered by a checkpoint yet"),
    "format_1": _("project %(project)s has events recorded before leaf headers (format 1)"),
    "before_deadline": _("before the project's deadlines nobody may see who registered or how many: a full archive "
                         "exists only once the deadlines have passed"),
}


def proof_detail(exc: Any) -> str:
    """A proof error of audit's own (``merkle.ProofError``, ``proofs.NotFoundError``) in the active language; the
    English sentence when its code has no specific message (a verification's technical detail)."""
    template = PROOFS.get(getattr(exc, "code", ""))
    if template is None or getattr(exc, "code", "") == "proof":
        return str(exc)
    return str(template) % getattr(exc, "params", {})
