"""The centre's annual government-information openness report (政府信息公开工作年度报告), from the data.

Structure as the regulation prescribes (政府信息公开条例 2019 第四十九条、第五十条) and the national template
(国办公开办函〔2021〕30号): 一 overview, 二 proactive disclosure, 三 requests received and how they were
handled, 四 administrative reviews and lawsuits, 五 problems and improvements, 六 other matters — here the
trading figures (projects, value, notices, objections / challenges / complaints by outcome, handling days).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter

from django.db.models import Sum

from trading.challenges.clocks import BEIJING, end_of, local_day
from trading.challenges.models import Case, Suspension
from trading.models import Document, Notice, Project
from trading.money import format_fen, parse_money
from trading.rules import CHALLENGE_RULES, DISCLOSURE_REFUSALS, KINDS

BASIS = "《中华人民共和国政府信息公开条例》第四十九条、第五十条"
NOTICE_LABELS = {"tender": "招标/出让公告", "amendment": "变更公告", "clarification": "澄清公告",
                 "opening_record": "开标记录", "candidates": "中标候选人公示", "result": "结果公告", "termination": "终止公告"}
OUTCOME_LABELS = {"upheld": "成立/支持", "dismissed": "驳回/不成立", "refused": "不予受理", "disclosed": "予以公开",
                  "withdrawn": "撤回", "pending": "尚未办结"}
REQUEST_OUTCOMES = [  # (label, predicate on a closed disclosure request)
    ("予以公开", lambda c: c.outcome == "disclosed"),
    ("不予公开：属于国家秘密等（第十四条）", lambda c: c.ground == "state_secret"),
    ("不予公开：涉及商业秘密、个人隐私（第十五条）", lambda c: c.ground == "trade_secret_privacy"),
    ("不予公开：内部事务、过程性信息（第十六条）", lambda c: c.ground == "internal"),
    ("无法提供：本机关不掌握相关政府信息", lambda c: c.ground == "not_held"),
    ("无法提供：不属于本机关负责公开", lambda c: c.ground == "not_this_body"),
    ("其他处理：已主动公开，告知获取途径", lambda c: c.ground == "already_public"),
    ("申请人撤回", lambda c: c.status == "withdrawn"),
]


def _year_range(year: int) -> tuple[dt.datetime, dt.datetime]:
    return end_of(dt.date(year - 1, 12, 31)), end_of(dt.date(year, 12, 31))


def _working_days(case: Case) -> int | None:
    from trading.workdays import CalendarUnknown, platform_calendar

    if case.closed_at is None:
        return None
    try:
        return platform_calendar().working_days_between(local_day(case.filed_at), local_day(case.closed_at))
    except CalendarUnknown:
        return (local_day(case.closed_at) - local_day(case.filed_at)).days


def _avg(values: list[int]) -> str:
    return f"{sum(values) / len(values):.1f}" if values else "—"


def build(year: int) -> dict:
    start, end = _year_range(year)
    in_year = {"filed_at__gte": start, "filed_at__lt": end}
    notices = Notice.objects.filter(published_at__gte=start, published_at__lt=end)
    by_notice = Counter(notices.values_list("kind", flat=True))
    documents = Document.objects.filter(uploaded_at__gte=start, uploaded_at__lt=end, access="public").count()
    disclosed_docs = Case.objects.filter(kind="disclosure_request", closed_at__gte=start, closed_at__lt=end,
                                         outcome="disclosed").count()

    requests = list(Case.objects.filter(kind="disclosure_request", **in_year))
    carried_in = Case.objects.filter(kind="disclosure_request", filed_at__lt=start).exclude(closed_at__lt=start).count()
    closed = [c for c in requests if c.closed_at and c.closed_at < end]
    natural = sum(1 for c in requests if c.filer_org_id is None)
    handled = [(label, sum(1 for c in closed if pred(c))) for label, pred in REQUEST_OUTCOMES]
    pending = sum(1 for c in requests if not (c.closed_at and c.closed_at < end))
    request_days = [d for d in (_working_days(c) for c in closed if c.status != "withdrawn") if d is not None]

    cases = list(Case.objects.filter(**in_year).exclude(kind="disclosure_request"))
    by_kind = []
    for kind, rule in CHALLENGE_RULES.items():
        if kind == "disclosure_request":
            continue
        mine = [c for c in cases if c.kind == kind]
        outcomes = Counter(("withdrawn" if c.status == "withdrawn" else c.outcome) if c.closed_at and c.closed_at < end
                           else "pending" for c in mine)
        days = [d for d in (_working_days(c) for c in mine if c.closed_at and c.status != "withdrawn") if d is not None]
        by_kind.append({"kind": kind, "label": rule.label[0], "received": len(mine),
                        "outcomes": {OUTCOME_LABELS[k]: outcomes.get(k, 0) for k in
                                     ("upheld", "dismissed", "refused", "withdrawn", "pending")},
                        "late": sum(1 for c in mine if c.late), "average_working_days": _avg(days)})

    projects = Project.objects.filter(created_at__gte=start, created_at__lt=end)
    per_kind = Counter(projects.values_list("kind", flat=True))
    awarded_fen = 0
    for data in notices.filter(kind="result").values_list("data", flat=True):
        price = (data or {}).get("price")
        if isinstance(price, str):
            try:
                awarded_fen += parse_money(price.replace(",", ""))
            except Exception:  # noqa: BLE001 - a malformed figure is left out, never a 500
                pass
    suspensions = Suspension.objects.filter(started_at__gte=start, started_at__lt=end)
    late_requests = sum(1 for c in requests if c.late)
    late_cases = sum(1 for c in cases if c.late)
    problems = []
    if late_requests or late_cases:
        problems.append(f"本年度有 {late_requests} 件政府信息公开申请、{late_cases} 件异议/质疑/投诉未在法定期限内办结，"
                        "已逐件纳入电子监察红牌督办，改进措施：答复期限到期前三个工作日自动提醒（黄牌）。")
    unknown = Case.objects.filter(calendar_unknown=True, filed_at__lt=end).count()
    if unknown:
        problems.append(f"有 {unknown} 件案件的答复期限因下一年度节假日安排尚未载入而无法计算，已提示管理员载入国务院公布的安排。")
    if not problems:
        problems.append("本年度各类申请和案件均在法定期限内办结，未发现超期情况；将继续按期公开年度报告并接受社会监督。")

    total_requests = len(requests)
    return {
        "year": year, "basis": BASIS, "generated_at": dt.datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M"),
        "overview": (f"{year}年，本中心依托电子交易平台主动公开各类交易公告 {notices.count()} 条，受理政府信息公开申请 "
                     f"{total_requests} 件，收到异议、质疑和投诉 {len(cases)} 件，暂停项目 {suspensions.count()} 次。"),
        "proactive": {"notices": {NOTICE_LABELS.get(k, k): by_notice.get(k, 0) for k in NOTICE_LABELS},
                      "notices_total": notices.count(), "public_documents": documents,
                      "documents_disclosed_on_request": disclosed_docs},
        "requests": {"received": total_requests, "natural_persons": natural, "organisations": total_requests - natural,
                     "carried_in": carried_in, "handled": dict(handled), "pending_at_year_end": pending,
                     "extended": sum(1 for c in requests if c.extended), "late": late_requests,
                     "average_working_days": _avg(request_days),
                     "refusal_grounds": {k: v for k, v in DISCLOSURE_REFUSALS.items()}},
        "reviews_and_lawsuits": {"administrative_reviews": 0, "lawsuits": 0,
                                 "note": "平台未记录因政府信息公开引起的行政复议或行政诉讼"},
        "problems": problems,
        "trading": {"projects": projects.count(),
                    "projects_by_kind": {KINDS[k][0]: per_kind.get(k, 0) for k in KINDS},
                    "budget_total": format_fen(projects.aggregate(s=Sum("budget_fen"))["s"] or 0),
                    "awarded_total": format_fen(awarded_fen), "notices": notices.count(),
                    "cases_by_kind": by_kind, "suspensions": suspensions.count()},
    }


def rows(report: dict) -> list[tuple[str, str, str]]:
    """The report flattened to (section, item, value) rows — the CSV and the tests read these."""
    out = [("一、总体情况", "概述", report["overview"])]
    p = report["proactive"]
    out += [("二、主动公开政府信息情况", k, str(v)) for k, v in p["notices"].items()]
    out += [("二、主动公开政府信息情况", "公告合计", str(p["notices_total"])),
            ("二、主动公开政府信息情况", "公开的招标文件等", str(p["public_documents"])),
            ("二、主动公开政府信息情况", "依申请公开的文件", str(p["documents_disclosed_on_request"]))]
    r = report["requests"]
    out += [("三、收到和处理政府信息公开申请情况", "本年新收申请数量", str(r["received"])),
            ("三、收到和处理政府信息公开申请情况", "其中：自然人", str(r["natural_persons"])),
            ("三、收到和处理政府信息公开申请情况", "其中：法人或其他组织", str(r["organisations"])),
            ("三、收到和处理政府信息公开申请情况", "上年结转申请数量", str(r["carried_in"]))]
    out += [("三、收到和处理政府信息公开申请情况", k, str(v)) for k, v in r["handled"].items()]
    out += [("三、收到和处理政府信息公开申请情况", "结转下年度继续办理", str(r["pending_at_year_end"])),
            ("三、收到和处理政府信息公开申请情况", "延长答复期限", str(r["extended"])),
            ("三、收到和处理政府信息公开申请情况", "超期答复", str(r["late"])),
            ("三、收到和处理政府信息公开申请情况", "平均办理工作日", r["average_working_days"])]
    rl = report["reviews_and_lawsuits"]
    out += [("四、政府信息公开行政复议、行政诉讼情况", "行政复议", str(rl["administrative_reviews"])),
            ("四、政府信息公开行政复议、行政诉讼情况", "行政诉讼", str(rl["lawsuits"]))]
    out += [("五、存在的主要问题及改进情况", f"{i}", text) for i, text in enumerate(report["problems"], start=1)]
    t = report["trading"]
    out += [("六、其他需要报告的事项（交易情况）", "新建项目", str(t["projects"]))]
    out += [("六、其他需要报告的事项（交易情况）", f"项目：{k}", str(v)) for k, v in t["projects_by_kind"].items()]
    out += [("六、其他需要报告的事项（交易情况）", "项目预算/起始价合计（元）", t["budget_total"]),
            ("六、其他需要报告的事项（交易情况）", "成交金额合计（元）", t["awarded_total"]),
            ("六、其他需要报告的事项（交易情况）", "暂停项目次数", str(t["suspensions"]))]
    for k in t["cases_by_kind"]:
        out.append(("六、其他需要报告的事项（交易情况）", f"{k['label']}：收到", str(k["received"])))
        out += [("六、其他需要报告的事项（交易情况）", f"{k['label']}：{o}", str(n)) for o, n in k["outcomes"].items()]
        out += [("六、其他需要报告的事项（交易情况）", f"{k['label']}：超期", str(k["late"])),
                ("六、其他需要报告的事项（交易情况）", f"{k['label']}：平均办理工作日", k["average_working_days"])]
    return out


def to_csv(report: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["section", "item", "value"])
    for row in rows(report):
        w.writerow(row)
    return "\ufeff" + buf.getvalue()  # a BOM so that spreadsheet programs read the Chinese as UTF-8
