"""Demo data, created through the services with the clock moved as needed, so its audit trail is real.

Each later capability adds a seeder to SEEDERS: `seed(world: DemoWorld)` creating its own projects
(it may move the clock back for them with time_machine; each project's events stay in time order).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import time_machine
from django.utils import timezone
from django.utils.module_loading import import_string

from bidding import services as bidding_services
from trading import clock as trading_clock
from trading import credit_code, services
from trading.models import Organisation, User
from trading.rules import rule_for

DAY = dt.timedelta(days=1)
PASSWORD = "sunlight-demo"
# Capabilities add their seeders here (dotted paths).
SEEDERS: list[str] = [
    "deposits.demo.seed",
    "bidding.envelopes.demo.seed",
    "bidding.evaluation.demo.seed",
    "bidding.auction.demo.seed",
    "supervision.demo.seed",
    "trading.challenges.demo.seed",
]


# Years the demo's deadlines reach that the official calendar does not know yet (the State Council publishes a
# year's arrangement late in the year before, and the chinesecalendar package follows): the demo loads a
# placeholder for them, named as such, so that it loads whatever the date. A real centre loads the notice
# (manage.py load_calendar); the platform itself never guesses (trading.workdays.CalendarUnknown).
DEMO_CALENDAR_SOURCE = ("演示用占位日历，非国务院办公厅放假安排：仅周末与法定固定日期 — demo placeholder, not the State "
                        "Council's arrangement: weekends and the fixed statutory dates only")
FIXED_STATUTORY_HOLIDAYS = (((1, 1), "元旦"), ((5, 1), "劳动节"), ((5, 2), "劳动节"), ((10, 1), "国庆节"),
                            ((10, 2), "国庆节"), ((10, 3), "国庆节"))
DEMO_REACH = (40 * dt.timedelta(days=1), 180 * dt.timedelta(days=1))  # the demo's past and its furthest deadline


def ensure_demo_calendar(today: dt.date) -> list[int]:
    """Load a placeholder (DEMO_CALENDAR_SOURCE) for each year the demo's dates reach that the platform's
    calendar does not know; returns those years (none while the official arrangement is known)."""
    from trading import workdays

    years = range((today - DEMO_REACH[0]).year, (today + DEMO_REACH[1]).year + 1)
    unknown = [y for y in years if not workdays.platform_calendar().knows(dt.date(y, 12, 31))]
    for year in unknown:
        days = {dt.date(year, m, d): (False, name) for (m, d), name in FIXED_STATUTORY_HOLIDAYS}
        services.load_calendar_year(actor=None, year=year, days=days, source=DEMO_CALENDAR_SOURCE)
    return unknown


@dataclass
class DemoWorld:
    centre: Organisation
    supervisor_org: Organisation
    tenderees: list[Organisation]
    agent: Organisation
    bidder_orgs: list[Organisation]
    expert_orgs: list[Organisation]
    staff: User
    supervisor: User
    bidders: list[User]
    experts: list[User]
    admin: User
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    placeholder_calendar_years: list[int] = field(default_factory=list)


def _code(n: int) -> str:
    return credit_code.complete(f"91310000{n:09d}")


def _org(n: int, kind: str, name: str, name_en: str, region: str = "市本级", **kw) -> Organisation:
    return services.create_organisation(actor=None, name=name, name_en=name_en, credit_code_value=_code(n), kind=kind,
                                        region=region, **kw)


def _user(world_logins, username: str, role: str, org: Organisation | None, display: str) -> User:
    user = services.create_user(actor=None, username=username, password=PASSWORD, role=role, organisation=org,
                                display_name=display)
    world_logins.append((username, role, org.name if org else "—"))
    return user


# The demo's authenticator secret for staff, supervisor and admin (README): add it to any TOTP app, or run
# `.venv/bin/python manage.py demo_code` for the current code. A demo-only secret, printed in the open.
DEMO_TOTP_SECRET = "SUNLIGHTDEMOTOTPSECRETXXXXXXXXXX"  # base32


def seed_demo_authenticator(user: User) -> None:
    import base64

    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=user, name="demo authenticator", confirmed=True,
                              key=base64.b32decode(DEMO_TOTP_SECRET).hex())


def make_world() -> DemoWorld:
    logins: list[tuple[str, str, str]] = []
    centre = _org(1, "centre", "阳光市公共资源交易中心", "Sunlight City Public Resource Trading Centre",
                  contact="0571-12345678 · 阳光市人民路1号")
    supervisor_org = _org(2, "supervisor", "阳光市发展和改革委员会", "Sunlight City Development and Reform Commission",
                          contact="投诉电话 complaints 0571-12345679")
    tenderees = [
        _org(3, "tenderee", "阳光市交通运输局", "Sunlight City Transport Bureau"),
        _org(4, "tenderee", "阳光市教育局", "Sunlight City Education Bureau"),
        _org(5, "tenderee", "阳光市自然资源和规划局", "Sunlight City Natural Resources Bureau"),
        _org(6, "tenderee", "阳光市国有资产投资集团", "Sunlight State Assets Investment Group"),
    ]
    agent = _org(7, "agent", "华信招标代理有限公司", "Huaxin Tendering Agency Co.")
    bidder_names = [("东方建设集团有限公司", "Dongfang Construction"), ("南山路桥工程有限公司", "Nanshan Road & Bridge"),
                    ("西湖科技股份有限公司", "Xihu Technology"), ("北辰置业有限公司", "Beichen Real Estate"),
                    ("中和实业有限公司", "Zhonghe Industrial"), ("金石投资有限公司", "Jinshi Investment")]
    bidder_orgs = [_org(10 + i, "bidder", zh, en, bank_account=f"6222020000{i:08d}") for i, (zh, en) in enumerate(bidder_names)]
    expert_orgs = [_org(20 + i, "tenderee", f"阳光市第{i + 1}设计研究院", f"Design Institute No. {i + 1}") for i in range(3)]
    staff = _user(logins, "staff", "staff", centre, "王工作人员")
    supervisor = _user(logins, "supervisor", "supervisor", supervisor_org, "李监督")
    bidders = [_user(logins, f"bidder{i + 1}", "bidder", org, org.name) for i, org in enumerate(bidder_orgs)]
    experts = [_user(logins, f"expert{i + 1}", "expert", expert_orgs[i % 3], f"专家{i + 1}") for i in range(7)]
    admin = _user(logins, "admin", "admin", None, "管理员")
    admin.is_staff = admin.is_superuser = True
    admin.save(update_fields=["is_staff", "is_superuser"])
    for user in (staff, supervisor, admin):  # their second factor: one documented demo authenticator
        seed_demo_authenticator(user)
    return DemoWorld(centre, supervisor_org, tenderees, agent, bidder_orgs, expert_orgs, staff, supervisor, bidders,
                     experts, admin, logins)


def _lot(kind: str, method: str, now: dt.datetime, *, title: str, estimate_fen: int, deadline_days: int,
         eligibility: list[str] | None = None, security_ratio_bp: int | None = None, **kw) -> services.LotSpec:
    rule = rule_for(kind, method)
    bid_deadline = now + deadline_days * DAY + dt.timedelta(hours=6)
    security = estimate_fen * (security_ratio_bp or min(rule.security_cap_bp, 1000)) // 10000
    if rule.security_cap_fen:
        security = min(security, rule.security_cap_fen)
    spec: dict[str, Any] = dict(title=title, estimate_fen=estimate_fen, bid_deadline=bid_deadline, security_fen=security,
                eligibility=eligibility or ["具有独立法人资格和有效的营业执照", "近三年内无重大违法记录"])
    if rule.doc_period_min_days:
        spec.update(doc_start=now, doc_end=now + (rule.doc_period_min_days + 2) * DAY)
    if rule.path == "tender":
        spec["evaluation_method"] = rule.evaluation_methods[0]
    spec.update(kw)
    return services.LotSpec(**spec)


def _project(world: DemoWorld, kind, method, title, owner, lots, description, publish=True):
    project = services.create_project(
        actor=world.staff, kind=kind, method=method, title=title, owner=owner,
        agent=world.agent if rule_for(kind, method).path == "tender" else None, supervisor=world.supervisor_org,
        region="阳光市", budget_fen=sum(l.estimate_fen for l in lots), lots=lots, description=description,
    )
    if publish:
        services.publish_project(actor=world.staff, project=project)
    return project


def _register(world: DemoWorld, lot, bidder_indexes):
    for i in bidder_indexes:
        bidding_services.register(actor=world.bidders[i], lot=lot,
                                  declaration=[{"condition": c, "met": True} for c in lot.eligibility])


def seed_trading(world: DemoWorld, start: dt.datetime, traveller) -> None:
    """Projects of all four kinds in different states, on one timeline from `start` to now."""
    # T-40: state-asset auction: registration closed, auction tomorrow.
    traveller.move_to(start)
    now = timezone.now()
    asset = _project(world, "asset", "auction", "阳光市国资集团闲置办公楼拍卖 Idle office building auction", world.tenderees[3],
                     [_lot("asset", "auction", now, title="人民路88号办公楼 Office building, 88 Renmin Rd", estimate_fen=1_250_000_000,
                           deadline_days=39, security_ratio_bp=1000, auction_start=now + 41 * DAY, increment_fen=5_000_000,
                           closing_rule="countdown")],
                     "整体拍卖，建筑面积3200平方米。Sold as a whole, 3,200 m².")
    # T-35: procurement open tender, deadline passed (bidding closed by the clock).
    traveller.move_to(start + 5 * DAY)
    now = timezone.now()
    proc = _project(world, "procurement", "open_tender", "阳光市中小学教学设备采购 School teaching equipment", world.tenderees[1],
                    [_lot("procurement", "open_tender", now, title="交互式教学一体机 Interactive displays", estimate_fen=380_000_000, deadline_days=27),
                     _lot("procurement", "open_tender", now, title="实验室设备 Laboratory equipment", estimate_fen=120_000_000, deadline_days=27)],
                    "为全市42所中小学采购教学设备。Teaching equipment for 42 schools.")
    traveller.move_to(start + 6 * DAY)
    for lot in proc.lots.all():
        _register(world, lot, [0, 2, 4])
    # T-25: land listing, listing period running.
    traveller.move_to(start + 15 * DAY)
    now = timezone.now()
    land = _project(world, "land", "listing", "阳光市2026-07号地块国有建设用地使用权挂牌出让 Land parcel 2026-07 listing",
                    world.tenderees[2],
                    [_lot("land", "listing", now, title="2026-07号地块（商住用地，45,000㎡）Parcel 2026-07", estimate_fen=8_600_000_000,
                          deadline_days=31, security_ratio_bp=2000, listing_start=now + 21 * DAY, listing_end=now + 32 * DAY,
                          increment_fen=20_000_000, closing_rule="soft_close")],
                    "挂牌起始价8600万元，竞买保证金1720万元。")
    # T-12: an engineering tender terminated after publication.
    traveller.move_to(start + 28 * DAY)
    now = timezone.now()
    term = _project(world, "engineering", "open_tender", "阳光市滨江绿道二期工程施工 Riverside greenway phase II", world.tenderees[0],
                    [_lot("engineering", "open_tender", now, title="施工总承包 General contract", estimate_fen=2_400_000_000, deadline_days=22)],
                    "滨江绿道二期，全长6.2公里。")
    traveller.move_to(start + 31 * DAY)
    services.terminate_project(actor=world.staff, project=term, reason="项目规划调整，招标人申请终止 Planning changed; terminated at the tenderee's request")
    # T-6: engineering open tender, bidding open now (with an amendment that pushed the deadline).
    traveller.move_to(start + 34 * DAY)
    now = timezone.now()
    eng = _project(world, "engineering", "open_tender", "阳光市人民路改造工程施工 Renmin Road reconstruction", world.tenderees[0],
                   [_lot("engineering", "open_tender", now, title="第一标段 道路工程 Lot 1 roadworks", estimate_fen=5_600_000_000, deadline_days=20),
                    _lot("engineering", "open_tender", now, title="第二标段 排水工程 Lot 2 drainage", estimate_fen=1_800_000_000, deadline_days=20)],
                   "人民路全线改造，含道路、排水、照明。Full reconstruction of Renmin Road.")
    services.attach_document(actor=world.staff, notice=eng.notices.get(kind="tender"), name="招标文件.pdf",
                             content=b"%PDF-1.4 demo tender document for Renmin Road\n", content_type="application/pdf",
                             access="registered")
    traveller.move_to(start + 39 * DAY + DAY / 2)
    services.publish_amendment(actor=world.staff, notice=eng.notices.get(kind="tender"), title="人民路改造工程 澄清与变更公告 Clarification",
                               body="第一标段工程量清单第3.2项更正；投标截止时间相应顺延。Bill of quantities item 3.2 corrected; deadline extended.")
    _register(world, eng.lots.get(number=1), [0, 1])
    # A draft waiting to be published.
    _project(world, "procurement", "inquiry", "阳光市政务云服务器询价采购 Government cloud servers (inquiry)", world.tenderees[1],
             [_lot("procurement", "inquiry", timezone.now(), title="服务器20台 20 servers", estimate_fen=90_000_000, deadline_days=5,
                   evaluation_method="lowest_quote")],
             "询价采购。", publish=False)
    del asset, land


def load_demo() -> DemoWorld:
    real_now = timezone.now()
    start = real_now - 40 * DAY
    with time_machine.travel(start, tick=True) as traveller:
        placeholders = ensure_demo_calendar(timezone.localdate(real_now))
        world = make_world()
        world.placeholder_calendar_years = placeholders
        seed_trading(world, start, traveller)
    # The seeders first (they move the clock back for their own events), then the deadlines fire:
    # that way every project's events stay in time order.
    for path in SEEDERS:
        import_string(path)(world)
    trading_clock.run_all_ticks()
    return world
