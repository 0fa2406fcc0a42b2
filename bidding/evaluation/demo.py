"""Demo data for evaluation, candidates, award and contract (called from frontend.demo SEEDERS as
``seed(world)``, after the envelopes seeder).

Through the services with the clock moved (time_machine), each project's events in time order; the
bids are sealed, paid for and opened with the envelopes demo's helpers (the real ceremony):

- the seven demo experts registered in the pool;
- (c) a tender evaluated at the lowest evaluated price, candidates publicised, an objection dismissed,
  awarded (the non-winners' securities refunded through the simulated bank) and its contract signed
  (the winner's security converted); status: contracted;
- (b) a tender evaluated by comprehensive scoring (experts drawn, technical and business points
  entered), candidates under publicity now, with an objection awaiting the staff's answer;
- a lot in evaluation now: expert1..expert5 sit on its committee (expert6 and expert7 declared a
  conflict), four have scored and expert1 can score in the browser.
"""
from __future__ import annotations

import datetime as dt
import hashlib

import time_machine
from django.utils import timezone

from bidding.envelopes import demo as envelopes_demo
from bidding.evaluation import services as ev
from trading.challenges import services as cases
from bidding.evaluation.models import Expert, Publicity
from trading.models import Lot

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
SPECIALITIES = [["市政公用工程", "道路桥梁"], ["建筑工程", "结构"], ["给排水", "环境工程"], ["电气", "智能化"],
                ["工程造价"], ["市政公用工程", "工程造价"], ["建筑工程", "电气"]]


def ensure_experts(world) -> list[Expert]:
    """The demo's expert users as pool experts (registered with the keys, long before the tenders)."""
    todo = [u for u in world.experts if not Expert.objects.filter(user=u).exists()]
    if todo:
        with time_machine.travel(timezone.now() - envelopes_demo.KEYS_AGE + HOUR, tick=False):
            for u in todo:
                i = world.experts.index(u)
                ev.register_expert(actor=world.staff, user=u, name=u.first_name or u.username,
                                   organisation=u.organisation, specialities=SPECIALITIES[i % len(SPECIALITIES)],
                                   region="市本级")
    return [Expert.objects.get(user=u) for u in world.experts]


def _user_of(world, expert_id: int):
    return Expert.objects.select_related("user").get(pk=expert_id).user


def _sheets(world, lot: Lot, traveller, *, points=None, skip_usernames=()) -> None:
    """Every committee member passes every bid on compliance; `points` {bidder index: {criterion: [per member]}}."""
    method = ev.method_for(lot)
    orgs = {o.pk: n for n, o in enumerate(world.bidder_orgs)}
    for j, expert_id in enumerate(ev.committee_experts(lot)):
        user = _user_of(world, expert_id)
        if user.username in skip_usernames:
            continue
        for bid in ev.opened_bids(lot):
            votes = {c.code: True for c in method.compliance_criteria}
            scores = {c: vals[j] for c, vals in ((points or {}).get(orgs[bid.bidder], {})).items()}
            ev.submit_sheet(actor=user, lot=lot, bidder=bid.bidder, votes=votes, scores=scores)
        traveller.move_to(timezone.now() + 7 * MINUTE)


def _draw_and_start(world, lot: Lot, traveller) -> None:
    ev.commit_draw(actor=world.staff, lot=lot, size=5)
    traveller.move_to(timezone.now() + 10 * MINUTE)
    ev.reveal_draw(actor=world.staff, lot=lot)
    traveller.move_to(timezone.now() + 40 * MINUTE)
    ev.start_evaluation(actor=world.staff, lot=lot)
    traveller.move_to(timezone.now() + 20 * MINUTE)


def seed(world) -> dict:
    envelopes_demo.ensure_keys(world)
    ensure_experts(world)
    real_now = timezone.now()
    done: dict = {}
    staff = world.staff

    # (c) awarded and contracted: lowest evaluated price; the winner's security converted.
    with time_machine.travel(real_now - 75 * DAY, tick=False) as traveller:
        lot = envelopes_demo.tender(
            world, title="阳光市城北污水处理厂提标改造工程 North sewage plant upgrade", lot_title="施工 Construction",
            owner=world.tenderees[0], estimate_fen=2_350_000_000, evaluation_method="lowest_evaluated_price",
            description="日处理能力10万吨，出水达到一级A标准。100,000 t/day, effluent to class 1-A.")
        traveller.move_to(timezone.now() + DAY)
        envelopes_demo.register_and_pay(world, lot, [0, 1, 2, 4], traveller=traveller)
        for i, price in ((1, "22860000.00"), (0, "23125000.00"), (4, "22498000.00"), (2, "23010000.00")):
            traveller.move_to(timezone.now() + 2 * DAY)
            envelopes_demo.submit(world, lot, i, price, terms={"工期": "300日历天", "质保期": "2年"})
        envelopes_demo.close_and_open(world, lot, traveller)
        traveller.move_to(timezone.now() + DAY)
        _draw_and_start(world, lot, traveller)
        _sheets(world, lot, traveller)
        ev.report_evaluation(actor=staff, lot=lot)
        traveller.move_to(timezone.now() + DAY)
        ev.publish_candidates(actor=staff, lot=lot, days=3)
        traveller.move_to(timezone.now() + DAY)
        objection = cases.file_case(actor=world.bidders[0], kind="candidate_objection", lot=lot,
                                    subject="第一中标候选人项目经理 The first candidate's project manager",
                                    text="第一中标候选人的项目经理在建工程未完工，不满足招标文件要求。"
                                         "The first candidate's project manager is still engaged on another site.")
        traveller.move_to(timezone.now() + DAY)
        cases.answer_case(actor=staff, case=objection, outcome="dismissed",
                          answer="经核查，该项目经理在建工程已于投标截止前竣工验收，异议不成立。"
                                 "Checked: that project was completed and accepted before the deadline; dismissed.")
        traveller.move_to(max(timezone.now(), Publicity.objects.get(lot=lot).ends_at) + HOUR)
        award = ev.award_lot(actor=staff, lot=lot)  # non-winners' securities refunded (deposits hook)
        traveller.move_to(timezone.now() + 9 * DAY)
        contract_pdf = f"%PDF-1.4 demo contract {lot.project.code} {award.price_fen}".encode()
        ev.record_contract(actor=staff, lot=lot, signed_on=timezone.localdate(), amount_fen=award.price_fen,
                           documents=[{"name": "施工合同.pdf", "sha256": hashlib.sha256(contract_pdf).hexdigest()}],
                           deposit_mode="convert")
        done["contracted"] = lot.pk

    # (b) comprehensive scoring, candidates under publicity now, an objection awaiting its answer.
    with time_machine.travel(real_now - 30 * DAY, tick=False) as traveller:
        lot = envelopes_demo.tender(
            world, title="阳光市智慧交通信号控制系统工程 Smart traffic signal control system",
            lot_title="设备供货及安装 Supply and installation", owner=world.tenderees[0], estimate_fen=640_000_000,
            evaluation_method="comprehensive",
            eligibility=["具有独立法人资格和有效的营业执照", "具备电子与智能化工程专业承包二级及以上资质"],
            description="全市86个路口信号机更新及区域协调控制平台。86 junction controllers and the area control platform.")
        traveller.move_to(timezone.now() + DAY)
        envelopes_demo.register_and_pay(world, lot, [1, 2, 3, 5], traveller=traveller)
        for i, price in ((2, "6185000.00"), (5, "6020000.00"), (1, "6298000.00"), (3, "6106500.00")):
            traveller.move_to(timezone.now() + 2 * DAY)
            envelopes_demo.submit(world, lot, i, price, terms={"工期": "150日历天", "质保期": "3年"})
        envelopes_demo.close_and_open(world, lot, traveller)  # deadline: 30 - 20 days ago
        traveller.move_to(timezone.now() + 2 * DAY)
        _draw_and_start(world, lot, traveller)
        #                     technical (0-30) per member          business (0-10) per member
        points = {2: {"technical": ["27", "26.5", "28", "27", "26"], "business": ["9", "8.5", "9", "9", "8"]},
                  5: {"technical": ["23", "24", "22.5", "23", "24"], "business": ["8", "8", "7.5", "8", "8"]},
                  1: {"technical": ["25", "25.5", "26", "24", "25"], "business": ["7", "8", "7", "7.5", "7"]},
                  3: {"technical": ["24", "23", "25", "24.5", "23"], "business": ["8", "9", "8", "8", "8.5"]}}
        _sheets(world, lot, traveller, points=points)
        traveller.move_to(real_now - 3 * DAY)
        ev.report_evaluation(actor=staff, lot=lot)
        traveller.move_to(real_now - 2 * DAY)
        ev.publish_candidates(actor=staff, lot=lot, days=5)
        traveller.move_to(real_now - 12 * HOUR)
        cases.file_case(actor=world.bidders[5], kind="candidate_objection", lot=lot,
                        subject="价格分复核 Price score re-check",
                        text="我公司报价最低，价格分计算可能有误，请复核。Our price is the lowest; please re-check the price score.")
        done["publicity"] = lot.pk

    # a lot in evaluation now: expert1 still has to score it.
    with time_machine.travel(real_now - 25 * DAY, tick=False) as traveller:
        lot = envelopes_demo.tender(
            world, kind="procurement", title="阳光市体育中心场馆照明改造采购 Sports centre lighting upgrade",
            lot_title="LED场馆照明系统 LED arena lighting", owner=world.tenderees[1], estimate_fen=298_000_000,
            evaluation_method="lowest_evaluated_price",
            eligibility=["具有独立承担民事责任的能力", "参加政府采购活动前三年内无重大违法记录"],
            description="体育馆、游泳馆LED照明及智能控制系统。LED lighting and controls for the arena and the pool.")
        traveller.move_to(timezone.now() + DAY)
        envelopes_demo.register_and_pay(world, lot, [0, 2, 4], traveller=traveller)
        for i, price in ((4, "2875000.00"), (0, "2912300.00"), (2, "2846000.00")):
            traveller.move_to(timezone.now() + 2 * DAY)
            envelopes_demo.submit(world, lot, i, price, terms={"交货期": "60日", "质保期": "5年"})
        envelopes_demo.close_and_open(world, lot, traveller)
        traveller.move_to(real_now - 2 * DAY)
        for u in world.experts[5:7]:
            ev.declare_conflict(actor=u, lot=lot, reason="曾为投标产品的制造商提供技术咨询。Consulted for a bidder's manufacturer.")
            traveller.move_to(timezone.now() + 10 * MINUTE)
        _draw_and_start(world, lot, traveller)
        _sheets(world, lot, traveller, skip_usernames={world.experts[0].username})
        done["evaluating"] = lot.pk
    return done
