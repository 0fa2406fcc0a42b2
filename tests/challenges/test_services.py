"""Cases through the services on PostgreSQL: every kind, its window and clock, suspension, remedies."""
from __future__ import annotations

import datetime as dt

import pytest

from audit.models import Event
from bidding.evaluation import services as ev
from bidding.evaluation.models import Evaluation
from tests import factories
from tests.evaluation.conftest import open_lot
from tests.evaluation.test_award import to_publicity
from trading import services as trading_services
from trading.challenges import services as cs
from trading.challenges.clocks import BEIJING
from trading.challenges.models import Case, CaseAttachment, Suspension
from trading.challenges.selectors import live_challenges, reply_deadlines
from trading.clock import tick as lot_tick
from trading.errors import Conflict, Forbidden, Invalid, NotFound
from trading.models import Lot

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def bj(y, m, d, h=0, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=BEIJING)


def snapshot():
    return (Event.objects.count(), Case.objects.count(), CaseAttachment.objects.count(), Suspension.objects.count(),
            tuple(Lot.objects.order_by("id").values_list("status", flat=True)))


def unchanged(exc_type, fn, match=None):
    before = snapshot()
    with pytest.raises(exc_type, match=match) as err:
        fn()
    assert snapshot() == before
    return err.value


def test_document_objection_window_answer_and_block(world, clock):
    project = factories.make_project(world, publish=True)
    lot = project.lots.get()
    bidder = world.bidders[0]
    case = cs.file_case(actor=bidder, kind="document_objection", lot=lot, subject="资格条件", text="资格条件排斥潜在投标人")
    assert case.number.startswith(project.code + "-YY") and case.due_at == bj(2026, 3, 6)  # filed Mon 09:00: end of Thu
    assert case.token == ""  # a logged-in bidder follows it from the workspace
    # twice, staff, an empty text: refused, nothing recorded
    unchanged(Conflict, lambda: cs.file_case(actor=bidder, kind="document_objection", lot=lot, subject="again", text="x"),
              "already filed")
    unchanged(Forbidden, lambda: cs.file_case(actor=world.staff, kind="document_objection", lot=lot, subject="s", text="x"))
    unchanged(Invalid, lambda: cs.file_case(actor=world.bidders[1], kind="document_objection", lot=lot, subject="s", text=" "))
    # answered by the centre's staff only
    unchanged(Forbidden, lambda: cs.answer_case(actor=world.other_staff, case=case, outcome="dismissed", answer="x"))
    unchanged(Forbidden, lambda: cs.answer_case(actor=world.supervisor, case=case, outcome="dismissed", answer="x"))
    cs.answer_case(actor=world.staff, case=case, outcome="dismissed", answer="资格条件符合法律规定")
    case.refresh_from_db()
    assert (case.status, case.outcome, case.late) == ("answered", "dismissed", False)
    # the window closes 10 days before the deadline, with its article in the message
    clock.move_to(lot.bid_deadline - 10 * DAY)
    err = unchanged(Conflict, lambda: cs.file_case(actor=world.bidders[1], kind="document_objection", lot=lot,
                                                   subject="s", text="late"), "closed at")
    assert "第二十二条" in err.message


def test_an_open_document_objection_holds_the_close_of_bidding(world, clock):
    project = factories.make_project(world, publish=True)
    lot = project.lots.get()
    case = cs.file_case(actor=world.bidders[0], kind="document_objection", lot=lot, subject="s", text="t")
    clock.move_to(lot.bid_deadline + dt.timedelta(minutes=1))
    assert lot_tick() == 0  # the next step waits until the objection is answered (art. 22)
    lot.refresh_from_db()
    assert lot.status == "published"
    assert cs.tick() == 1 and cs.tick() == 0  # and its late answer is flagged once (a red card)
    assert Event.objects.filter(action="case.overdue", subject=f"case:{case.number}").count() == 1
    cs.answer_case(actor=world.staff, case=case, outcome="dismissed", answer="无误")
    assert Case.objects.get(pk=case.pk).late
    assert lot_tick() == 1


def test_disclosure_request_from_the_public_extended_once_and_refused_with_ground(world, clock):
    project = factories.make_project(world, publish=True)
    case = cs.file_case(actor=None, kind="disclosure_request", project=project, subject="评标专家名单",
                        text="请公开本项目的评标委员会成员名单", name="张三", contact="zhangsan@example.com")
    assert case.token and case.number.startswith(project.code + "-YSQ")
    # 20 working days from Monday 2026-03-02: end of Monday 03-30
    assert case.due_at == bj(2026, 3, 31)
    assert cs.case_by_token(number=case.number, token=case.token).pk == case.pk
    with pytest.raises(NotFound):
        cs.case_by_token(number=case.number, token="wrong")
    # never the contact in an event body
    for e in Event.objects.all():
        assert "zhangsan@example.com" not in str(e.body) and "张三" not in str(e.body)
    # the same request twice from the same person: refused; a different request is fine
    unchanged(Conflict, lambda: cs.file_case(actor=None, kind="disclosure_request", project=project, subject="评标专家名单",
                                             text="请公开本项目的评标委员会成员名单", name="张三", contact="ZhangSan@example.com"))
    unchanged(Invalid, lambda: cs.file_case(actor=None, kind="disclosure_request", project=project, subject="s", text="t"),
              "name")
    cs.extend_case(actor=world.staff, case=case, reason="需征求第三方意见")
    case.refresh_from_db()
    assert case.extended and case.due_at == bj(2026, 4, 29)  # 20 more working days (清明 04-06 off)
    unchanged(Conflict, lambda: cs.extend_case(actor=world.staff, case=case, reason="again"), "once")
    unchanged(Invalid, lambda: cs.answer_case(actor=world.staff, case=case, outcome="refused", answer="不予公开"), "ground")
    cs.answer_case(actor=world.staff, case=case, outcome="refused", ground="internal", answer="属于过程性信息，张三请知悉")
    e = Event.objects.get(action="case.answer")
    assert "张三" not in e.body["payload"]["answer"] and "第十六条" in e.body["payload"]["ground_text"]


def test_disclosure_publishes_the_document_and_attachment_limits(world, clock, settings):
    settings.SUNLIGHT_CASE_ATTACHMENT_MAX_BYTES = 2048
    too_big = cs.Upload("证明.pdf", b"x" * 4096, "application/pdf")
    unchanged(Invalid, lambda: cs.file_case(actor=world.bidders[0], kind="disclosure_request", subject="s", text="t",
                                            attachments=[too_big]), "limit")
    unchanged(Invalid, lambda: cs.file_case(actor=world.bidders[0], kind="disclosure_request", subject="s", text="t",
                                            attachments=[cs.Upload("a.exe", b"MZ")]), "not accepted")
    unchanged(Invalid, lambda: cs.file_case(actor=world.bidders[0], kind="disclosure_request", subject="s", text="t",
                                            attachments=[cs.Upload(f"{i}.pdf", b"%PDF") for i in range(6)]), "at most 5")
    case = cs.file_case(actor=world.bidders[0], kind="disclosure_request", subject="收费标准依据", text="请公开交易服务费的核定文件")
    assert case.project is None and case.number.startswith("YSQ-2026-")
    unchanged(Invalid, lambda: cs.answer_case(actor=world.staff, case=case, outcome="disclosed", answer="见附件"), "attach")
    cs.answer_case(actor=world.staff, case=case, outcome="disclosed", answer="见附件",
                   attachments=[cs.Upload("收费标准.pdf", b"%PDF-1.4 fee schedule", "application/pdf")])
    att = case.attachments.get()
    assert att.public and att.role == "answer"


def test_candidate_objection_upheld_sends_the_lot_back_to_evaluation(ew, clock):
    world = ew.world
    lot = to_publicity(ew, clock, [1_000_000, 900_000, 950_000])
    unchanged(Forbidden, lambda: cs.file_case(actor=world.bidders[3], kind="candidate_objection", lot=lot,
                                              subject="s", text="not a bidder of this lot"))
    case = cs.file_case(actor=world.bidders[0], kind="candidate_objection", lot=lot, subject="第一名资格",
                        text="第一名资质证书已过期")
    clock.advance(days=3, minutes=1)
    unchanged(Conflict, lambda: ev.award_lot(actor=world.staff, lot=lot), "awaits its answer")
    cs.answer_case(actor=world.staff, case=case, outcome="upheld", answer="经核查，第一名资质证书已过期")
    lot.refresh_from_db()
    assert lot.status == "opened"
    assert list(Evaluation.objects.filter(lot=lot).values_list("round", "status")) == [(1, "superseded"), (2, "open")]


def test_opening_objection_answered_on_the_spot_in_the_opening_record(ew, clock):
    world = ew.world
    lot = open_lot(ew, clock, [1_000_000, 900_000, 950_000])
    case = cs.file_case(actor=world.bidders[1], kind="opening_objection", lot=lot, subject="唱标价格",
                        text="唱标价格与投标文件不一致")
    cs.answer_case(actor=world.staff, case=case, outcome="dismissed", answer="经核对，唱标价格与投标文件一致")
    case.refresh_from_db()
    record = case.notice
    assert record is not None
    assert record.kind == "opening_record" and "唱标价格与投标文件一致" in record.body
    clock.advance(days=1)
    unchanged(Conflict, lambda: cs.file_case(actor=world.bidders[2], kind="opening_objection", lot=lot,
                                             subject="s", text="late"), "第四十四条")


def test_complaint_suspension_stops_every_clock_then_upheld_reevaluation(ew, clock):
    """An engineering complaint during the publicity: accepted, the project suspended (every lot step refused,
    clocks stopped), lifted across the National Day holiday with its make-up days, decided upheld."""
    world = ew.world
    clock.move_to(bj(2026, 9, 1, 9))
    lot = to_publicity(ew, clock, [1_000_000, 900_000, 950_000])
    publicity_end = lot.publicities.get().ends_at
    objection = cs.file_case(actor=world.bidders[0], kind="candidate_objection", lot=lot, subject="s", text="t")
    cs.answer_case(actor=world.staff, case=objection, outcome="dismissed", answer="无误")
    complaint = cs.file_case(actor=world.bidders[0], kind="engineering_complaint", lot=lot, subject="评标不公",
                             text="评标委员会未按招标文件评审", known_on=clock.now.astimezone(BEIJING).date(),
                             follows=objection)
    assert complaint.clock == "accept"
    unchanged(Forbidden, lambda: cs.accept_complaint(actor=world.staff, case=complaint))
    cs.accept_complaint(actor=world.supervisor, case=complaint)
    complaint.refresh_from_db()
    assert complaint.clock == "decide"
    decide_due = complaint.due_at
    s = cs.suspend_project(actor=world.supervisor, project=lot.project, case=complaint, reason="调查评标过程")
    assert s.limit_at is None  # engineering: no legal maximum
    err = unchanged(cs.Suspended, lambda: trading_services.terminate_project(actor=world.staff, project=lot.project,
                                                                             reason="x"), "suspended")
    unchanged(cs.Suspended, lambda: ev.reevaluate(actor=world.staff, lot=lot, reason="x"), "suspended")
    assert err.status_code == 409 and complaint.number in err.message
    unchanged(Conflict, lambda: cs.suspend_project(actor=world.supervisor, project=lot.project, reason="x"), "already")
    # suspended over the National Day holiday: the clocks stop
    suspended_at = clock.now
    clock.move_to(bj(2026, 9, 30, 9))
    assert cs.tick() == 0  # no late flags while suspended
    cs.resume_project(actor=world.supervisor, project=lot.project)
    pause = clock.now - suspended_at
    complaint.refresh_from_db()
    lot.refresh_from_db()
    assert lot.publicities.get().ends_at == publicity_end + pause  # a calendar clock moves by the pause
    # the decision's working days left are kept, counted over the holiday and the make-up Saturday 10-10
    from trading.challenges import clocks
    from trading.workdays import platform_calendar
    cal = platform_calendar()
    assert decide_due is not None
    left = cal.working_days_between(clocks.local_day(suspended_at), clocks.local_day(decide_due) - DAY)
    assert complaint.due_at == clocks.end_of(cal.add_working_days(dt.date(2026, 9, 30), left))
    assert Event.objects.filter(action="project.resume").count() == 1
    cs.decide_complaint(actor=world.supervisor, case=complaint, outcome="upheld", remedy="reevaluate",
                        decision="评标委员会未按招标文件规定的标准评审，责令重新评标")
    lot.refresh_from_db()
    assert lot.status == "opened"
    decided = Event.objects.get(action="case.decide")
    assert decided.body["visibility"] == "public" and "filer_org" not in decided.body["payload"]


def test_procurement_challenge_then_complaint_in_working_days(world, clock):
    project = factories.make_project(world, kind="procurement", method="open_tender", publish=True)
    lot = project.lots.get()
    clock.move_to(bj(2026, 9, 28, 10))
    # knew on 09-16: 7 working days = 09-17, 09-18, 09-20 (a Sunday worked, 调休), 09-21, 09-22, 09-23, 09-24
    # (09-25 is the Mid-Autumn Festival): closed at the end of 09-24
    err = unchanged(Conflict, lambda: cs.file_case(actor=world.bidders[0], kind="procurement_challenge", project=project,
                                                   lot=lot, subject="s", text="t", known_on=dt.date(2026, 9, 16)),
                    "2026-09-25 00:00")
    assert "7个工作日" in err.message
    challenge = cs.file_case(actor=world.bidders[0], kind="procurement_challenge", project=project, lot=lot,
                             subject="采购需求", text="采购需求指向特定供应商", known_on=dt.date(2026, 9, 25))
    assert challenge.due_at == bj(2026, 10, 14)  # 09-29, 09-30, 10-08, 10-09, 10-10 (Sat), 10-12, 10-13
    # a complaint before the challenge's answer period ends: refused
    unchanged(Conflict, lambda: cs.file_case(actor=world.bidders[0], kind="procurement_complaint", project=project,
                                             lot=lot, subject="s", text="t", follows=challenge), "answer period")
    clock.move_to(bj(2026, 10, 14, 10))
    assert cs.tick() == 1  # unanswered: a red card
    complaint = cs.file_case(actor=world.bidders[0], kind="procurement_complaint", project=project, lot=lot,
                             subject="质疑未答复", text="采购人未在法定期限内答复质疑", follows=challenge)
    assert complaint.due_at == bj(2026, 10, 22)  # acceptance within 5 working days
    s = cs.suspend_project(actor=world.supervisor, project=project, case=complaint, reason="暂停采购活动")
    assert s.limit_at == s.started_at + 30 * DAY
    clock.move_to(s.limit_at + dt.timedelta(minutes=1))
    assert cs.tick() >= 1
    s.refresh_from_db()
    assert s.lifted_at is not None and s.lifted_by is None  # lifted at the legal maximum
    complaint.refresh_from_db()
    assert complaint.due_at > bj(2026, 11, 13)  # the acceptance clock stopped during the suspension
    cs.refuse_complaint(actor=world.supervisor, case=complaint, ground="out_of_scope", answer="不属于本部门受理范围")
    assert not Case.objects.get(pk=complaint.pk).late


def test_closed_project_refuses_cases(world, clock):
    project = factories.make_project(world, publish=True)
    trading_services.terminate_project(actor=world.staff, project=project, reason="需求取消")
    unchanged(Conflict, lambda: cs.file_case(actor=world.bidders[0], kind="engineering_complaint", project=project,
                                             subject="s", text="t", known_on=clock.now.date()), "closed")
    # information about a closed project can still be requested
    cs.file_case(actor=None, kind="disclosure_request", project=project, subject="终止原因", text="请公开终止原因",
                 name="李四", contact="13800000000")


def test_a_clock_past_the_known_calendar_is_flagged_then_computed_when_loaded(world, clock):
    clock.move_to(bj(2026, 12, 10, 10))
    case = cs.file_case(actor=None, kind="disclosure_request", subject="年度报告", text="请提供2026年度报告",
                        name="王五", contact="wangwu@example.com")
    assert case.due_at is None and case.calendar_unknown
    row = next(r for r in reply_deadlines() if r["case"] == case.number)
    assert row["calendar_unknown"] and row["due_at"] is None and "第三十三条" in row["basis"]
    assert cs.tick() == 0
    trading_services.load_calendar_year(actor=None, year=2027, source="test", days={
        dt.date(2027, 1, 1): (False, "元旦")})
    assert cs.tick() == 1
    case.refresh_from_db()
    assert not case.calendar_unknown and case.due_at == bj(2027, 1, 9)  # 20 working days to 01-08, 01-01 off


def test_a_filing_window_reaching_an_unknown_year_is_judged_by_the_days_so_far(world, clock):
    """Late in the last year the calendar knows, a procurement challenge's window (7 working days of knowing) ends
    in a year not loaded yet: the supplier files all the same (before, a 409 calendar_unknown refused it), the
    answer clock is left open and flagged, and a window that closed earlier is still refused with its date.
    The dates are relative to the pinned library's last year, not to the day the suite runs."""
    from trading import workdays
    from trading.challenges import clocks
    from trading.rules import CHALLENGE_RULES

    _, _, last = workdays.library_days()
    know = CHALLENGE_RULES["procurement_challenge"].know_within
    assert know is not None
    clock.move_to(bj(last, 12, 28, 10))
    project = factories.make_project(world, kind="procurement", method="open_tender", publish=True)
    lot = project.lots.get()
    knew = dt.date(last, 12, 24)
    with pytest.raises(workdays.CalendarUnknown):  # the window's last day cannot be known yet
        clocks.deadline(know, clocks.end_of(knew) - dt.timedelta(microseconds=1), workdays.platform_calendar())
    case = cs.file_case(actor=world.bidders[0], kind="procurement_challenge", project=project, lot=lot,
                        subject="采购需求", text="采购需求指向特定供应商", known_on=knew)
    assert case.due_at is None and case.calendar_unknown
    early = dt.date(last, 12, 1)
    closes = clocks.deadline(know, clocks.end_of(early) - dt.timedelta(microseconds=1), workdays.platform_calendar())
    unchanged(Conflict, lambda: cs.file_case(actor=world.bidders[1], kind="procurement_challenge", project=project,
                                             lot=lot, subject="s", text="t", known_on=early),
              closes.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M"))


def test_replay_matches_live(world, clock):
    project = factories.make_project(world, publish=True)
    case = cs.file_case(actor=world.bidders[0], kind="document_objection", lot=project.lots.get(), subject="s", text="t")
    from frontend.selectors import replayed_state
    assert replayed_state(project)["challenges"] == live_challenges(project, clock.now)
    assert case.number in live_challenges(project, clock.now)["cases"]
