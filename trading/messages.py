"""What trading's pure modules say to people, translatable: the schedule validator's problems
(trading/periods.py, ``Problem.code``). The validator keeps its English; the services answer with these
(``trading.errors.translated``) in the request's language. ``%(basis)s`` is the rule's legal basis as the rules
table states it.
"""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

# periods.Problem.code → message
SCHEDULE: dict[str, Any] = {
    "auction_start_missing": _("an auction needs its start time"),
    "auction_start_early": _("the auction must start at or after the registration (deposit) deadline"),
    "listing_missing": _("a listing needs its start and end"),
    "listing_short": _("the listing period must last at least %(days)s days (it lasts %(lasts)s) — %(basis)s"),
    "deadline_after_listing": _("the registration (deposit) deadline must not be after the listing end"),
    "notice_trading": _("at least %(days)s days must pass between the notice and the start of trading (only "
                        "%(given)s days given) — %(basis)s"),
    "documents_deadline": _("at least %(days)s days must pass between the start of the document period and the bid "
                            "deadline (only %(given)s days given) — %(basis)s"),
    "notice_deadline": _("at least %(days)s days must pass between the notice and the bid deadline (only "
                         "%(given)s days given) — %(basis)s"),
    "deadline_before_notice": _("the deadline must come after the notice"),
    "documents_missing": _("the tender document period (start and end) is required"),
    "documents_short": _("the document period must last at least %(days)s days — %(basis)s"),
    "documents_late": _("the document period must end by the bid deadline"),
    "objections_late": _("objections to the documents must close at least %(days)s days before the bid deadline — "
                         "%(basis)s"),
    "objections_early": _("the objection deadline cannot be before the notice"),
}
