"""Demo cases, through the services with the clock moved as needed (frontend.demo SEEDERS):

- a tender whose candidates drew an objection (answered, dismissed), then a complaint to the supervising
  department: accepted, the project suspended for two days, the complaint upheld → the lot back to evaluation;
- a document objection answered before the deadline (on a tender of the trading demo, if one is open);
- disclosure requests from the public: one answered with the document, one refused on its legal ground,
  one awaiting its answer (with its countdown).

The objection answered and the one awaiting its answer on the other tenders come from bidding.evaluation.demo.
"""
from __future__ import annotations

import datetime as dt

import time_machine
from django.utils import timezone

from trading.challenges import services as cs
from trading.lifecycle import LotStatus

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def seed(world) -> dict:
    from bidding.envelopes import demo as envelopes_demo
    from bidding.evaluation import demo as evaluation_demo
    from bidding.evaluation import services as ev

    envelopes_demo.ensure_keys(world)
    evaluation_demo.ensure_experts(world)
    real_now = timezone.now()
    done: dict = {}
    staff, supervisor = world.staff, world.supervisor

    with time_machine.travel(real_now - 45 * DAY, tick=False) as traveller:
        lot = envelopes_demo.tender(
            world, title="阳光市滨江公园景观提升工程 Riverside park landscaping", lot_title="施工 Construction",
            owner=world.tenderees[0], estimate_fen=860_000_000, evaluation_method="lowest_evaluated_price",
            description="滨江公园3.2公里岸线景观、步道及照明提升。3.2 km of riverside landscape, paths and lighting.")
        traveller.move_to(timezone.now() + DAY)
        envelopes_demo.register_and_pay(world, lot, [0, 3, 4], traveller=traveller)
        for i, price in ((3, "8125000.00"), (0, "8340000.00"), (4, "8262000.00")):
            traveller.move_to(timezone.now() + 2 * DAY)
            envelopes_demo.submit(world, lot, i, price, terms={"工期": "240日历天", "质保期": "2年"})
        envelopes_demo.close_and_open(world, lot, traveller)  # deadline: 45 - 21 days ago
        traveller.move_to(timezone.now() + DAY)
        evaluation_demo._draw_and_start(world, lot, traveller)
        evaluation_demo._sheets(world, lot, traveller)
        ev.report_evaluation(actor=staff, lot=lot)
        traveller.move_to(timezone.now() + DAY)
        ev.publish_candidates(actor=staff, lot=lot, days=3)
        traveller.move_to(timezone.now() + 6 * HOUR)
        objection = cs.file_case(
            actor=world.bidders[0], kind="candidate_objection", lot=lot, subject="第一中标候选人业绩 The first candidate's references",
            text="第一中标候选人提供的类似工程业绩合同金额与中标通知书不一致，涉嫌弄虚作假。"
                 "The first candidate's reference contract does not match its award notice.")
        traveller.move_to(timezone.now() + DAY)
        cs.answer_case(actor=staff, case=objection, outcome="dismissed",
                       answer="经向业绩所在项目的招标人核实，合同金额差异系结算调整所致，异议不成立。"
                              "The difference comes from the final account; dismissed.")
        traveller.move_to(timezone.now() + DAY)
        complaint = cs.file_case(
            actor=world.bidders[0], kind="engineering_complaint", lot=lot, follows=objection,
            subject="异议答复未核实原始合同 The answer did not check the original contract",
            text="招标人未调取原始合同即答复异议，请监督部门核查第一中标候选人业绩真实性。"
                 "The tenderee answered without the original contract; please verify the reference.",
            known_on=timezone.localdate())
        traveller.move_to(timezone.now() + DAY)
        cs.accept_complaint(actor=supervisor, case=complaint)
        traveller.move_to(timezone.now() + HOUR)
        cs.suspend_project(actor=supervisor, project=lot.project, case=complaint,
                           reason="调取原始合同核查业绩 Checking the original reference contract")
        traveller.move_to(timezone.now() + 2 * DAY)
        cs.resume_project(actor=supervisor, project=lot.project)
        traveller.move_to(timezone.now() + DAY)
        cs.decide_complaint(
            actor=supervisor, case=complaint, outcome="upheld", remedy="reevaluate",
            decision="经调取原始合同核查，第一中标候选人所报业绩的合同金额系伪造，投诉成立。依据《招标投标法实施条例》"
                     "第六十一条，责令招标人组织原评标委员会重新评审。The reference was forged: complaint upheld; "
                     "the lot goes back to evaluation.")
        done["reevaluation"] = lot.pk

    # a document objection answered before the bid deadline, on a tender of the trading demo still open
    # (after that project's last event, so that its events stay in time order)
    from django.db.models import Max

    from audit.models import Event
    from trading.models import Lot

    open_lot = (Lot.objects.filter(status=LotStatus.PUBLISHED, project__kind="engineering", objection_deadline__gt=real_now)
                .order_by("bid_deadline").first())
    last = Event.objects.filter(project_id=open_lot.project_id).aggregate(t=Max("created_at"))["t"] if open_lot else None
    if open_lot is not None and last is not None and last + 2 * HOUR < real_now:
        with time_machine.travel(last + dt.timedelta(minutes=5), tick=False) as traveller:
            doc = cs.file_case(actor=world.bidders[2], kind="document_objection", lot=open_lot,
                               subject="资质要求 Qualification requirement",
                               text="招标文件要求的业绩数量明显超出项目需要，排斥潜在投标人。"
                                    "The reference requirement exceeds the project's needs.")
            traveller.move_to(timezone.now() + HOUR)
            cs.answer_case(actor=staff, case=doc, outcome="dismissed",
                           answer="业绩要求与项目规模相适应，符合《招标投标法实施条例》第三十二条，异议不成立。")
        done["document_objection"] = doc.pk

    # disclosure requests from the public
    with time_machine.travel(real_now - 12 * DAY, tick=False) as traveller:  # after the complaint's decision
        req = cs.file_case(actor=None, kind="disclosure_request", project=lot.project,
                           subject="评标委员会成员名单 Members of the evaluation committee",
                           text="申请公开滨江公园项目评标委员会成员名单及评分汇总表。",
                           name="周晓明", contact="zhouxm@example.com")
        traveller.move_to(timezone.now() + 3 * DAY)
        cs.answer_case(actor=staff, case=req, outcome="disclosed",
                       answer="评标结束后依法公开评标委员会成员名单，见附件。",
                       attachments=[cs.Upload("评标委员会成员名单.pdf", "%PDF-1.4 评标委员会成员名单（示例）".encode(),
                                              "application/pdf")])
        traveller.move_to(timezone.now() + 2 * DAY)
        refused = cs.file_case(actor=None, kind="disclosure_request", subject="投标人银行账户 Bidders' bank accounts",
                               text="申请公开2026年全部投标人的银行账户信息。", name="吴强", contact="13700001111")
        traveller.move_to(timezone.now() + 2 * DAY)
        cs.answer_case(actor=staff, case=refused, outcome="refused", ground="trade_secret_privacy",
                       answer="投标人银行账户属于商业秘密，公开会损害第三方合法权益，不予公开。")
    with time_machine.travel(real_now - 2 * DAY, tick=False):
        pending = cs.file_case(actor=None, kind="disclosure_request", subject="交易服务费核定文件 Fee approval",
                               text="申请公开交易服务费收费标准的核定文件。", name="郑敏", contact="zhengmin@example.com")
    done["disclosure_pending"] = pending.number
    return done
