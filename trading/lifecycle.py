"""The lot lifecycle as an explicit transition table (pure: no database).

Each row: from-state, action, to-state, the roles that may do it ("system" = the deadline clock),
the paths (tender / auction / listing) it belongs to, and the name of the guard that
`trading.services.transition_lot` checks. Capability-specific conditions (enough valid bids,
publicity over…) are checked by the capability's own service before it asks for the transition.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from trading.errors import Conflict, Forbidden
from django.utils.translation import gettext_lazy as _

class LotStatus:
    """The lot statuses by name: everywhere outside this module a lot status is named through these
    (tests/trading/test_status_names.py refuses a status literal elsewhere, templates included)."""
    do_not_call_in_templates: Final = True  # templates read LotStatus.OPENED (frontend.context)
    DRAFT: Final = "draft"
    PUBLISHED: Final = "published"
    BIDDING_CLOSED: Final = "bidding_closed"
    OPENED: Final = "opened"
    EVALUATED: Final = "evaluated"
    PUBLICITY: Final = "publicity"
    AWARDED: Final = "awarded"
    CONTRACTED: Final = "contracted"
    COMPLETE: Final = "complete"
    FAILED: Final = "failed"
    TERMINATED: Final = "terminated"
    AUCTION_SCHEDULED: Final = "auction_scheduled"
    LISTING: Final = "listing"
    LIVE: Final = "live"
    CLOSED: Final = "closed"


STATUSES = {
    "draft": ("草稿", "Draft"),
    "published": ("已发布", "Published"),
    "bidding_closed": ("投标截止", "Bidding closed"),
    "opened": ("已开标", "Opened"),
    "evaluated": ("已评标", "Evaluated"),
    "publicity": ("中标候选人公示", "Candidates publicised"),
    "awarded": ("已定标/成交", "Awarded"),
    "contracted": ("已签合同", "Contracted"),
    "complete": ("已完成", "Complete"),
    "failed": ("流标/流拍", "Failed"),
    "terminated": ("已终止", "Terminated"),
    "auction_scheduled": ("待竞价", "Auction scheduled"),
    "listing": ("挂牌中", "Listing"),
    "live": ("竞价中", "Live"),
    "closed": ("竞价结束", "Closed"),
}
FINAL = frozenset({"complete", "failed", "terminated"})
# where the outcome is known (awarded or not): a result was reached
RESULT_STATUSES = (LotStatus.AWARDED, LotStatus.CONTRACTED, LotStatus.COMPLETE, LotStatus.FAILED)
ALL_PATHS = frozenset({"tender", "auction", "listing"})
SALE_PATHS = frozenset({"auction", "listing"})


@dataclass(frozen=True)
class Transition:
    source: str
    action: str
    target: str
    roles: frozenset[str]
    paths: frozenset[str]
    guard: str | None = None
    needs_reason: bool = False


def _t(source: str, action: str, target: str, roles: Iterable[str], paths: Iterable[str] = ALL_PATHS,
       guard: str | None = None, needs_reason: bool = False) -> Transition:
    return Transition(source, action, target, frozenset(roles), frozenset(paths), guard, needs_reason)


TRANSITIONS: tuple[Transition, ...] = (
    _t("draft", "publish", "published", {"staff"}, guard="schedule_valid"),
    # tender path
    _t("published", "close_bidding", "bidding_closed", {"system"}, {"tender"}, guard="bid_deadline_passed"),
    _t("bidding_closed", "open", "opened", {"staff", "system"}, {"tender"}, guard="bid_deadline_passed"),
    _t("bidding_closed", "fail", "failed", {"staff", "system"}, {"tender"}, needs_reason=True),
    _t("opened", "fail", "failed", {"staff", "system"}, {"tender"}, needs_reason=True),
    _t("opened", "evaluate", "evaluated", {"staff", "system"}, {"tender"}),
    # "system": re-evaluation ordered by an upheld objection or complaint (trading.challenges)
    _t("evaluated", "reevaluate", "opened", {"staff", "system"}, {"tender"}, needs_reason=True),
    _t("evaluated", "publicise", "publicity", {"staff"}, {"tender"}),
    _t("publicity", "reevaluate", "opened", {"staff", "system"}, {"tender"}, needs_reason=True),
    _t("awarded", "reevaluate", "opened", {"system"}, {"tender"}, needs_reason=True),
    _t("publicity", "award", "awarded", {"staff", "system"}, {"tender"}),
    _t("awarded", "fail", "failed", {"staff", "system"}, {"tender"}, needs_reason=True),
    # auction path: the bid deadline is the registration / deposit deadline
    _t("published", "close_registration", "auction_scheduled", {"system"}, {"auction"}, guard="bid_deadline_passed"),
    _t("auction_scheduled", "start_auction", "live", {"system", "staff"}, {"auction"}, guard="auction_start_passed"),
    _t("auction_scheduled", "fail", "failed", {"system", "staff"}, {"auction"}, needs_reason=True),
    # listing path
    _t("published", "start_listing", "listing", {"system"}, {"listing"}, guard="listing_start_passed"),
    _t("listing", "start_auction", "live", {"system", "staff"}, {"listing"}, guard="listing_end_passed"),
    _t("listing", "close_auction", "closed", {"system", "staff"}, {"listing"}, guard="listing_end_passed"),
    # shared by auction and listing
    _t("live", "close_auction", "closed", {"system", "staff"}, SALE_PATHS),
    _t("closed", "award", "awarded", {"system", "staff"}, SALE_PATHS),
    _t("closed", "fail", "failed", {"system", "staff"}, SALE_PATHS, needs_reason=True),
    # every path
    _t("awarded", "sign_contract", "contracted", {"staff"}),
    _t("contracted", "complete", "complete", {"staff", "system"}),
) + tuple(
    _t(state, "terminate", "terminated", {"staff", "system"}, needs_reason=True)
    for state in STATUSES
    if state not in FINAL and state != "draft"
)

ACTIONS = sorted({t.action for t in TRANSITIONS})


def find_transition(*, path: str, status: str, action: str) -> Transition:
    """The row for (status, action) on this path, or a Conflict naming the current state."""
    for t in TRANSITIONS:
        if t.source == status and t.action == action and path in t.paths:
            return t
    allowed = available_actions(path=path, status=status)
    hint = f"; possible now: {', '.join(allowed)}" if allowed else "; no further action is possible"
    raise Conflict(_("cannot %(value)s a lot that is %(status)s%(hint)s"), value=action.replace('_', ' '), status=status, hint=hint)


def check_role(t: Transition, role: str) -> None:
    if role not in t.roles:
        who = " or ".join(sorted(t.roles))
        raise Forbidden(_("only %(who)s may %(value)s a lot"), who=who, value=t.action.replace('_', ' '))


def available_actions(*, path: str, status: str) -> list[str]:
    return [t.action for t in TRANSITIONS if t.source == status and path in t.paths]


def reachable_statuses(path: str) -> set[str]:
    seen, frontier = {"draft"}, ["draft"]
    while frontier:
        state = frontier.pop()
        for t in TRANSITIONS:
            if t.source == state and path in t.paths and t.target not in seen:
                seen.add(t.target)
                frontier.append(t.target)
    return seen


assert {v for k, v in vars(LotStatus).items() if k.isupper()} == set(STATUSES), "LotStatus names every status once"
