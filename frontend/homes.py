"""Reads for each role's home (selectors only: nothing here changes state).

- ``home_url(user)``: where a role lands after logging in.
- ``bidder_rows(user)``: each registration with its state, its one next step (bidding.next_step) and the links
  to the pages that step needs — only pages the bidder can open.
- ``staff_dashboard(user)``: today's and this week's openings, auctions and deadlines of the centre, and the
  steps waiting for staff. Only public schedule facts and lot statuses: never who or how many registered or
  paid before a deadline.
- ``supervisor_home(user)``: open alerts, open cases and the projects that need attention.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bidding.next_step import Facts, Step, next_step
from trading.permissions import role_of
from trading.lifecycle import LotStatus

ROLE_HOMES = {"bidder": "bidder-home", "staff": "staff-home", "supervisor": "supervisor-home",
              "expert": "evaluation-home", "admin": "audit-console-index"}

STEP_LABELS = {
    "pay": _("Pay the bid security to your sub-account"),
    "seal": _("Seal and submit your bid"),
    "wait_opening": _("Your sealed bid is in: wait for the opening"),
    "wait_result": _("Wait for the result"),
    "wait_auction": _("Wait for the auction to start"),
    "join_auction": _("Join the auction now"),
    "result": _("See the result"),
    "missed": _("The deadline passed without a paid security or a sealed bid"),
    "withdrawn": _("Registration withdrawn"),
}

ROOM_OPEN = ("listing", "live", "paused")


def home_url(user) -> str:
    return reverse(ROLE_HOMES.get(role_of(user), "portal-home"))


def bidder_rows(user, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    import deposits
    from bidding.auction.models import Auction
    from bidding.envelopes import selectors as envelopes
    from bidding.selectors import my_registrations
    from deposits.selectors import my_deposits
    from trading.models import Notice
    from trading.selectors import RESULT_STATES

    now = now or timezone.now()
    regs = list(my_registrations(user).order_by("-created_at", "-id"))
    lot_ids = [r.lot_id for r in regs]
    accounts = {a.lot_id: a for a in my_deposits(user).filter(lot_id__in=lot_ids)}
    auctions = {a.lot_id: a for a in Auction.objects.filter(lot_id__in=lot_ids)}
    results = {}
    for n in Notice.objects.filter(lot_id__in=lot_ids, kind="result").order_by("published_at", "id"):
        results[n.lot_id] = n  # the latest result notice of each lot
    rows = []
    for reg in regs:
        lot = reg.lot
        acc = accounts.get(lot.pk)
        env = envelopes.my_envelope(user, lot) if lot.path == "tender" else None
        auction = auctions.get(lot.pk)
        paid = deposits.is_secured(user.organisation_id, lot) if lot.requires_security else True
        step: Step = next_step(Facts(
            registration=reg.status, path=lot.path, lot_status=lot.status, result_known=lot.status in RESULT_STATES,
            now=now, deadline=lot.bid_deadline, security_required=lot.requires_security, security_paid=paid,
            envelope=env is not None, room_open=auction is not None and auction.phase in ROOM_OPEN,
            room_closed=auction is not None and auction.phase == "closed",
            room_start=auction.start_at if auction is not None else (lot.auction_start or lot.listing_start)))
        links = {"project": reverse("project-detail", args=[lot.project.code])}
        if acc is not None:
            links["pay"] = reverse("deposits-account-page", args=[acc.pk])
        if lot.path == "tender" and reg.status == "active" and now < lot.bid_deadline:
            links["seal"] = reverse("envelopes-submit", args=[lot.pk])
        if env is not None:
            links["receipt"] = reverse("envelopes-receipt", args=[env.digest])
        if lot.path == "tender" and now >= lot.bid_deadline:
            links["opening"] = reverse("envelopes-follow", args=[lot.pk])
        if auction is not None:
            links["room"] = reverse("auction-room", args=[auction.pk])
        if lot.pk in results:
            links["result"] = reverse("notice-detail", args=[results[lot.pk].number])
        main = {"pay": "pay", "seal": "seal", "wait_opening": "receipt", "join_auction": "room", "wait_auction": "room",
                "result": "result", "wait_result": "opening" if lot.path == "tender" else "room"}.get(step.action)
        rows.append({"registration": reg, "lot": lot, "step": step, "label": STEP_LABELS[step.action],
                     "main": links.get(main or ""), "links": links, "account": acc, "envelope": env,
                     "auction": auction, "paid": paid})
    return rows


def _window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """The start of today, of tomorrow and a week from today, in Beijing time."""
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + dt.timedelta(days=1), start + dt.timedelta(days=7)


PENDING = {  # lot status -> the step staff take next (the page it is taken on)
    LotStatus.BIDDING_CLOSED: (_("Open the bids"), "envelopes-ceremony"),
    LotStatus.OPENED: (_("Evaluation"), "evaluation-console"),
    LotStatus.EVALUATED: (_("Publicise the candidates"), "evaluation-console"),
    LotStatus.PUBLICITY: (_("Award after the publicity"), "evaluation-console"),
    LotStatus.AUCTION_SCHEDULED: (_("Auction scheduled"), "auction-console"),
    LotStatus.CLOSED: (_("Record the auction's result"), "auction-console"),
}

DEADLINES = (  # lot field -> label
    ("doc_end", _("Documents period ends")),
    ("objection_deadline", _("Objection period ends")),
    ("bid_deadline", _("Bid deadline")),
    ("listing_end", _("Listing ends")),
)


def staff_dashboard(user, now: dt.datetime | None = None) -> dict[str, Any]:
    from bidding.auction.models import Auction
    from trading.challenges.lifecycle import OPEN
    from trading.challenges.selectors import visible_cases
    from trading.models import Lot, Project

    now = now or timezone.now()
    today, tomorrow, week = _window(now)
    lots = (Lot.objects.filter(project__centre_id=user.organisation_id).exclude(status=LotStatus.DRAFT)
            .select_related("project"))
    openings = []
    due = lots.filter(Q(bid_deadline__gte=today, bid_deadline__lt=week) | Q(status=LotStatus.BIDDING_CLOSED))
    for lot in due.order_by("bid_deadline"):
        if lot.path != "tender":
            continue
        openings.append({"lot": lot, "at": lot.bid_deadline, "today": today <= lot.bid_deadline < tomorrow,
                         "url": reverse("envelopes-ceremony", args=[lot.pk])})
    auctions = []
    for a in (Auction.objects.filter(lot__project__centre_id=user.organisation_id)
              .filter(Q(start_at__gte=today, start_at__lt=week) | Q(phase__in=ROOM_OPEN))
              .select_related("lot__project").order_by("start_at")):
        auctions.append({"auction": a, "lot": a.lot, "at": a.start_at, "today": today <= a.start_at < tomorrow,
                         "url": reverse("auction-room", args=[a.pk])})
    deadlines = []
    for name, label in DEADLINES:
        for lot in lots.filter(**{f"{name}__gte": now, f"{name}__lt": week}):
            at = getattr(lot, name)
            deadlines.append({"lot": lot, "at": at, "label": label, "today": at < tomorrow,
                              "url": reverse("staff-project", args=[lot.project.code])})
    deadlines.sort(key=lambda d: d["at"])
    pending = []
    for lot in lots.filter(status__in=list(PENDING)).order_by("bid_deadline"):
        label, page = PENDING[lot.status]
        url = reverse(page) if page == "auction-console" else reverse(page, args=[lot.pk])
        pending.append({"lot": lot, "label": label, "url": url})
    drafts = Project.objects.filter(centre_id=user.organisation_id, lots__status=LotStatus.DRAFT).distinct().order_by("-created_at")
    cases = visible_cases(user).filter(status__in=list(OPEN)).order_by("due_at")[:10]
    return {"openings": openings, "auctions": auctions, "deadlines": deadlines, "pending": pending,
            "drafts": list(drafts[:20]), "cases": list(cases), "today": today}


def supervisor_home(user, now: dt.datetime | None = None) -> dict[str, Any]:
    from supervision.selectors import alert_row, visible_alerts
    from trading.challenges.lifecycle import OPEN
    from trading.challenges.models import Suspension
    from trading.challenges.selectors import visible_cases
    from trading.models import Project

    now = now or timezone.now()
    alerts = list(visible_alerts(user, now).filter(status__in=["new", "acknowledged"]).order_by("-raised_at")[:20])
    cases = list(visible_cases(user).filter(status__in=list(OPEN)).order_by("due_at")[:20])
    suspended = set(Suspension.objects.filter(lifted_at__isnull=True).values_list("project_id", flat=True))
    reasons: dict[int, list] = {}
    for a in alerts:
        if a.project_id:
            reasons.setdefault(a.project_id, []).append(_("open alert"))
    for c in cases:
        if c.project_id:
            reasons.setdefault(c.project_id, []).append(_("open case"))
    for pid in suspended:
        reasons.setdefault(pid, []).append(_("suspended"))
    projects = Project.objects.filter(pk__in=list(reasons)).select_related("centre").order_by("code")
    attention = [{"project": p, "reasons": sorted({str(r) for r in reasons[p.pk]})} for p in projects]
    return {"alerts": [alert_row(a) for a in alerts], "cases": cases, "attention": attention}
