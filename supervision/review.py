"""Staff actions outside the normal path, listed for the supervisors' review (pure classification of
one audit event + raising the review alert)."""
from __future__ import annotations

from audit import timestamps

import datetime as dt
from dataclasses import dataclass
from trading.lifecycle import LotStatus

# audit actions whose facts the lot screens read: a new one of these screens the project's lots again
SCREEN_TRIGGERS = frozenset({
    "registration.create", "registration.withdraw", "deposit.credit", "envelope.submit", "envelope.replace",
    "envelope.withdraw", "envelope.open", "lot.transition",
})


@dataclass(frozen=True)
class Review:
    rule: str
    title: str
    title_en: str
    basis: str


_TRANSITIONS = {
    "terminate": Review(LotStatus.TERMINATED, "项目终止", "Project terminated",
                        "《招标投标法实施条例》第三十一条：终止招标应当及时发布公告；列入监督复核"),
    "reevaluate": Review("reevaluated", "重新评审", "Re-evaluation",
                         "《招标投标法实施条例》第七十一条：评标委员会成员不得擅自改变评标结果；重新评审列入监督复核"),
}
_ACTIONS = {
    "deposit.suspense_resolve": Review("suspense_resolved", "人工处理挂账款项", "Suspense payment resolved by staff",
                                       "本平台规则：保证金统一账户中未能自动匹配款项的人工处理，全部列入监督复核"),
    "deposit.refund_cancel": Review("ledger_manual", "人工撤销退款", "Refund cancelled by staff",
                                    "本平台规则：保证金账务的人工调整，全部列入监督复核"),
    "deposit.refund_retry": Review("ledger_manual", "人工重发退款", "Refund retried by staff",
                                   "本平台规则：保证金账务的人工调整，全部列入监督复核"),
    "deposit.forfeit_request": Review("ledger_manual", "申请没收保证金", "Deposit forfeit requested",
                                      "《招标投标法实施条例》第七十四条：中标人无正当理由不与招标人订立合同的，保证金不予退还；列入监督复核"),
    "evaluation.conflict": Review("committee_changed", "评标委员会成员变更（回避）", "Committee changed (conflict)",
                                  "《招标投标法实施条例》第四十六条、第四十八条：评标委员会成员的更换应当依法进行"),
    "evaluation.reevaluate": Review("reevaluated", "重新评审", "Re-evaluation",
                                    "《招标投标法实施条例》第七十一条；重新评审列入监督复核"),
}


def classify(ev) -> Review | None:
    """Is this event a staff action outside the normal path? (``ev``: an audit Event row)"""
    if ev.action == "lot.transition":
        payload = ev.body["payload"]
        action = payload.get("action")
        if action in _TRANSITIONS:
            return _TRANSITIONS[action]
        if action == "fail" and ev.actor_role == "staff":
            return Review("failed_by_staff", "人工宣布流标/流拍", "Lot failed by staff",
                          "《招标投标法》第二十八条、第四十二条：流标应有法定事由；人工操作列入监督复核")
        if action in ("start_auction", "close_auction", "open") and ev.actor_role == "staff" \
                and payload.get("from") in (LotStatus.AUCTION_SCHEDULED, LotStatus.LISTING, LotStatus.LIVE):
            return Review("manual_auction", "人工启动/结束竞价", "Auction started or closed by staff",
                          "本平台规则：竞价由系统按公告时间自动执行，人工操作列入监督复核")
        return None
    if ev.action == "notice.publish" and ev.body["payload"].get("kind") == "amendment":
        return Review("schedule_changed", "变更公告（时间表或文件修改）", "Amendment (schedule or documents changed)",
                      "《招标投标法》第二十三条：澄清或者修改应当在投标截止时间至少十五日前发出")
    return _ACTIONS.get(ev.action)


def raise_review(ev, found: Review, *, now: dt.datetime):
    from supervision.services import raise_alert

    visible_from = now
    if ev.visibility == "sealed" and ev.project_id is not None:
        from django.db.models import Max

        from trading.models import Lot

        visible_from = Lot.objects.filter(project_id=ev.project_id).aggregate(m=Max("bid_deadline"))["m"] or now
    return raise_alert(
        key=f"review:{found.rule}:event:{ev.pk}", kind="review", rule=found.rule, severity="info",
        title=found.title, title_en=found.title_en, basis=found.basis,
        evidence={"event": ev.pk, "action": ev.action, "subject": ev.subject, "actor": ev.actor_label,
                  "actor_role": ev.actor_role, "at": timestamps.iso_z(ev.created_at)},
        project_id=ev.project_id, visible_from=visible_from, now=now)
