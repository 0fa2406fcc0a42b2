"""The built-in watched clocks: every deadline of the rules table (trading/rules.py) and the law that a
step of a running project must meet. Each provider returns only the steps still open (cheap queries
on indexed status columns), so the clock tick can run every second.

Limits the law leaves to the platform are named "本平台规则" in their basis; the legal periods come from
the lot's ``Rule`` (one rule, one place).
"""
from __future__ import annotations

from audit import timestamps

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from supervision.clocks import Watch, WatchedClock
from trading.lifecycle import LotStatus
from trading.rules import rule_for

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
BEIJING = ZoneInfo("Asia/Shanghai")

# Platform limits where the law names none (one place; shown with the card).
OPENING_GRACE = HOUR  # opening is due at the bid deadline (招标投标法 art. 34); red after this grace
EVALUATION_DAYS = 10  # opening → evaluation report
AWARD_DAYS_AFTER_PUBLICITY = 5  # publicity ended → award (政府采购法实施条例 art. 43: 5 working days)
CLOSE_GRACE = 10 * MINUTE  # a clock-driven step (deadline, listing end, auction end) must fire within this


def _transition_at(lot_ids: list[int], target: str) -> dict[int, dt.datetime]:
    from django.db.models import Max

    from trading.models import LotTransition

    rows = LotTransition.objects.filter(lot_id__in=lot_ids, target=target).values("lot_id").annotate(at=Max("at"))
    return {r["lot_id"]: r["at"] for r in rows}


def _lots(status: str, **filters):
    from trading.models import Lot

    return Lot.objects.filter(status=status, **filters).select_related("project")


def deadline_close(now: dt.datetime) -> Iterable[Watch]:
    for lot in _lots(LotStatus.PUBLISHED, bid_deadline__lte=now + HOUR):
        if lot.path == "listing":
            continue
        yield Watch(subject=f"lot:{lot.pk}", due=lot.bid_deadline + CLOSE_GRACE, project_id=lot.project_id,
                    lot_id=lot.pk, started=lot.notice_at, detail={"bid_deadline": timestamps.iso_z(lot.bid_deadline)})


def opening(now: dt.datetime) -> Iterable[Watch]:
    for lot in _lots(LotStatus.BIDDING_CLOSED):
        yield Watch(subject=f"lot:{lot.pk}", due=lot.bid_deadline + OPENING_GRACE, project_id=lot.project_id,
                    lot_id=lot.pk, started=lot.bid_deadline, detail={"bid_deadline": timestamps.iso_z(lot.bid_deadline)})


def evaluation_report(now: dt.datetime) -> Iterable[Watch]:
    lots = list(_lots(LotStatus.OPENED))
    opened = _transition_at([lot.pk for lot in lots], "opened")
    for lot in lots:
        start = opened.get(lot.pk) or lot.bid_deadline
        yield Watch(subject=f"lot:{lot.pk}", due=start + EVALUATION_DAYS * DAY, project_id=lot.project_id,
                    lot_id=lot.pk, started=start)


def publicity_start(now: dt.datetime) -> Iterable[Watch]:
    from bidding.evaluation.models import Evaluation

    for ev in Evaluation.objects.filter(status="reported", failed=False, lot__status=LotStatus.EVALUATED) \
            .select_related("lot__project"):
        lot = ev.lot
        yield Watch(subject=f"lot:{lot.pk}", due=ev.reported_at + lot.rule.publicity_within_days * DAY,
                    project_id=lot.project_id, lot_id=lot.pk, started=ev.reported_at,
                    detail={"reported_at": timestamps.iso(ev.reported_at) or ""})


def award(now: dt.datetime) -> Iterable[Watch]:
    from bidding.evaluation.models import Publicity

    for pub in Publicity.objects.filter(cancelled=False, lot__status=LotStatus.PUBLICITY).select_related("lot"):
        yield Watch(subject=f"lot:{pub.lot_id}", due=pub.ends_at + AWARD_DAYS_AFTER_PUBLICITY * DAY,
                    project_id=pub.lot.project_id, lot_id=pub.lot_id, started=pub.ends_at,
                    detail={"publicity_ends": timestamps.iso_z(pub.ends_at)})


def contract(now: dt.datetime) -> Iterable[Watch]:
    from bidding.evaluation.models import Award

    for aw in Award.objects.filter(status="active", lot__status=LotStatus.AWARDED).select_related("lot"):
        yield Watch(subject=f"lot:{aw.lot_id}", due=aw.contract_due, project_id=aw.lot.project_id, lot_id=aw.lot_id,
                    started=aw.awarded_at, detail={"awarded_at": timestamps.iso_z(aw.awarded_at)})


def sale_contract(now: dt.datetime) -> Iterable[Watch]:
    """Auctions and listings: the contract within the period the transaction confirmation (成交确认书) fixed."""
    from bidding.auction.models import Confirmation

    for conf in Confirmation.objects.filter(lot__status=LotStatus.AWARDED).select_related("lot"):
        yield Watch(subject=f"lot:{conf.lot_id}", due=conf.contract_due, project_id=conf.lot.project_id,
                    lot_id=conf.lot_id, started=conf.issued_at,
                    detail={"confirmation": conf.sha256, "contract_due": timestamps.iso_z(conf.contract_due),
                            "basis": conf.lot.rule.basis.get("sale_contract", "")})


def refunds(now: dt.datetime) -> Iterable[Watch]:
    from deposits.models import RefundOrder

    open_states = ("pending", "sent", "failed")
    # an order whose due day the calendar does not reach yet is watched once the clock fills it in
    for order in RefundOrder.objects.filter(status__in=open_states, due_on__isnull=False).select_related("account__lot"):
        lot, due_on = order.account.lot, order.due_on
        assert due_on is not None  # filtered
        due = dt.datetime.combine(due_on + DAY, dt.time(0, 0), tzinfo=BEIJING)  # end of the due day, Beijing
        yield Watch(subject=f"refund:{order.pk}", due=due, project_id=lot.project_id if lot else None,
                    lot_id=lot.pk if lot else None, started=order.created_at,
                    secret_until=lot.bid_deadline if lot else None,
                    detail={"refund": order.pk, "reason": order.reason, "due_on": due_on.isoformat()})


def listing_period(now: dt.datetime) -> Iterable[Watch]:
    for lot in _lots(LotStatus.LISTING):
        if lot.listing_end:
            yield Watch(subject=f"lot:{lot.pk}", due=lot.listing_end + CLOSE_GRACE, project_id=lot.project_id,
                        lot_id=lot.pk, started=lot.listing_start, detail={"listing_end": timestamps.iso_z(lot.listing_end)})
    for lot in _lots(LotStatus.PUBLISHED, listing_start__lte=now + HOUR):
        if lot.path == "listing" and lot.listing_start:
            yield Watch(subject=f"lot:{lot.pk}:start", due=lot.listing_start + CLOSE_GRACE, project_id=lot.project_id,
                        lot_id=lot.pk, started=lot.notice_at, detail={"listing_start": timestamps.iso_z(lot.listing_start)})


def auction_period(now: dt.datetime) -> Iterable[Watch]:
    from bidding.auction.models import Auction

    for lot in _lots(LotStatus.AUCTION_SCHEDULED, auction_start__lte=now + HOUR):
        yield Watch(subject=f"lot:{lot.pk}:start", due=lot.auction_start + CLOSE_GRACE, project_id=lot.project_id,
                    lot_id=lot.pk, started=lot.bid_deadline, detail={"auction_start": timestamps.iso_z(lot.auction_start)})
    for auc in Auction.objects.filter(phase="live", end_at__lte=now + HOUR).select_related("lot"):
        yield Watch(subject=f"lot:{auc.lot_id}:end", due=auc.end_at + CLOSE_GRACE, project_id=auc.lot.project_id,
                    lot_id=auc.lot_id, started=auc.start_at, detail={"end_at": timestamps.iso_z(auc.end_at)})


_TB = "《招标投标法》"
CLOCKS: list[WatchedClock] = [
    WatchedClock("bid_deadline", "投标截止按时截止", "Bidding closes at the deadline",
                 f"{_TB}第二十四条：提交投标文件截止时间由招标文件确定；本平台规则：截止后{CLOSE_GRACE.seconds // 60}分钟内关闭投标",
                 yellow_before=5 * MINUTE, watches=deadline_close),
    WatchedClock("opening", "开标在投标截止时间进行", "Opening at the bid deadline",
                 f"{_TB}第三十四条：开标应当在招标文件确定的提交投标文件截止时间的同一时间公开进行；"
                 f"本平台规则：截止后{OPENING_GRACE.seconds // 3600}小时未开标为红牌",
                 yellow_before=45 * MINUTE, watches=opening),
    WatchedClock("evaluation_report", "评标报告", "Evaluation report",
                 f"《招标投标法实施条例》第二十五条：评标应在投标有效期内完成；本平台规则：开标后{EVALUATION_DAYS}日内提交评标报告",
                 yellow_before=2 * DAY, watches=evaluation_report),
    WatchedClock("publicity_start", "中标候选人公示（收到评标报告3日内）", "Candidate publicity within 3 days",
                 "《招标投标法实施条例》第五十四条：收到评标报告之日起三日内公示中标候选人，公示期不得少于三日",
                 yellow_before=DAY, watches=publicity_start),
    WatchedClock("award", "定标", "Award after the publicity",
                 "《政府采购法实施条例》第四十三条：收到评审报告之日起5个工作日内确定中标人；"
                 f"本平台规则：公示期满后{AWARD_DAYS_AFTER_PUBLICITY}日内定标",
                 yellow_before=DAY, watches=award),
    WatchedClock("contract", "订立合同（30日内）", "Contract within 30 days",
                 f"{_TB}第四十六条：自中标通知书发出之日起三十日内订立书面合同",
                 yellow_before=5 * DAY, watches=contract),
    WatchedClock("sale_contract", "出让/交易合同按成交确认书约定的时间签订", "Sale contract by the confirmation's date",
                 rule_for("land", "auction").basis["sale_contract"],
                 yellow_before=2 * DAY, watches=sale_contract),
    WatchedClock("refund", "退还保证金（5个工作日内）", "Deposit refunds within 5 working days",
                 "《政府采购法实施条例》第三十三条、《招标投标法实施条例》第五十七条：合同签订后5日（政府采购为5个工作日）内退还投标保证金",
                 yellow_before=DAY, watches=refunds),
    # answers to objections, challenges, complaints, disclosure requests: supervision.case_clocks
    WatchedClock("listing_period", "挂牌期间", "Listing period",
                 "《招标拍卖挂牌出让国有建设用地使用权规定》第十九条、第二十条：挂牌时间不得少于10日，期满按规定确定竞得人或现场竞价",
                 yellow_before=5 * MINUTE, watches=listing_period),
    WatchedClock("auction_period", "拍卖/竞价时间", "Auction period",
                 "《拍卖法》第四十五条、《招标拍卖挂牌出让国有建设用地使用权规定》第十五条：按公告的时间举行拍卖；"
                 f"本平台规则：开始、结束时刻后{CLOSE_GRACE.seconds // 60}分钟内必须执行",
                 yellow_before=5 * MINUTE, watches=auction_period),
]
