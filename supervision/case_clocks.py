"""The cases' reply clocks as watched clocks (settings.SUNLIGHT_WATCHED_CLOCKS): a yellow card near the
deadline of an answer, an acceptance or a decision, a red card past it. The challenges app exposes its running
clocks (``trading.challenges.selectors.reply_deadlines``: due, basis, period) and knows nothing of supervision;
supervision registers them here, one watched clock per kind of step (dependencies point one way)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from supervision.clocks import Watch, WatchedClock
from trading.challenges.selectors import reply_deadlines
from trading.rules import CHALLENGE_RULES

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def _watches(kinds: set[str], clock: str):
    def provider(now: dt.datetime) -> Iterable[Watch]:
        for row in reply_deadlines(now):
            if row["kind"] in kinds and row["clock"] == clock and row["due_at"] is not None:
                yield Watch(subject=row["subject"], due=row["due_at"], project_id=row["project"], lot_id=row["lot"],
                            started=row["started_at"],
                            detail={"case": row["case"], "kind": row["kind"], "period": row["period"]})
    return provider


OBJECTIONS = {"document_objection", "opening_objection", "candidate_objection"}
R = CHALLENGE_RULES


def _b(kind: str, clock: str) -> str:
    c = getattr(R[kind], clock)
    return c.basis if c is not None else R[kind].window_basis


CLOCKS = [
    WatchedClock("objection_answer", "异议答复（3日内；开标异议当场）", "Answer to an objection (3 days; the opening: on the spot)",
                 _b("candidate_objection", "answer"), yellow_before=DAY, watches=_watches(OBJECTIONS, "answer")),
    WatchedClock("challenge_answer", "质疑答复（7个工作日内）", "Answer to a procurement challenge (7 working days)",
                 _b("procurement_challenge", "answer"), yellow_before=DAY,
                 watches=_watches({"procurement_challenge"}, "answer")),
    WatchedClock("complaint_acceptance", "投诉受理（3/5个工作日内）", "Complaint accepted or refused (3 / 5 working days)",
                 _b("engineering_complaint", "accept") + "；" + _b("procurement_complaint", "accept"), yellow_before=DAY,
                 watches=_watches({"engineering_complaint", "procurement_complaint"}, "accept")),
    WatchedClock("complaint_decision", "投诉处理决定（30个工作日内）", "Complaint decided (30 working days)",
                 _b("engineering_complaint", "decide") + "；" + _b("procurement_complaint", "decide"),
                 yellow_before=3 * DAY, watches=_watches({"engineering_complaint", "procurement_complaint"}, "decide")),
    WatchedClock("disclosure_answer", "依申请公开答复（20个工作日，可延长20个工作日）",
                 "Disclosure request answered (20 working days, once extendable by 20)",
                 _b("disclosure_request", "answer"), yellow_before=3 * DAY,
                 watches=_watches({"disclosure_request"}, "answer")),
]
