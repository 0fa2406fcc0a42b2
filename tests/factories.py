"""Test data made through the services (so the audit trail is real)."""
from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from trading import credit_code, services
from trading.models import Organisation, Project, User
from trading.rules import rule_for

_counter = itertools.count(1)
DAY = dt.timedelta(days=1)


def new_credit_code(seed: int | None = None) -> str:
    rnd = random.Random(seed if seed is not None else next(_counter) * 7919)
    first17 = "91" + "".join(rnd.choice("0123456789") for _ in range(6)) + "".join(
        rnd.choice(credit_code.CHARSET) for _ in range(9))
    return credit_code.complete(first17)


def make_org(kind: str, name: str | None = None, **kw) -> Organisation:
    n = next(_counter)
    return services.create_organisation(actor=None, name=name or f"{kind} org {n}", credit_code_value=new_credit_code(),
                                        kind=kind, region=kw.pop("region", "市本级"), **kw)


def make_user(role: str, org: Organisation | None, username: str | None = None, password: str = "correct-horse-battery") -> User:
    n = next(_counter)
    return services.create_user(actor=None, username=username or f"{role}{n}", password=password, role=role,
                                organisation=org)


@dataclass
class World:
    centre: Organisation
    other_centre: Organisation
    supervisor_org: Organisation
    tenderee: Organisation
    agent: Organisation
    bidder_orgs: list[Organisation]
    staff: User
    other_staff: User
    supervisor: User
    bidders: list[User]
    expert_org: Organisation
    expert: User
    admin: User
    extra: dict = field(default_factory=dict)


def make_world(bidders: int = 4) -> World:
    centre = make_org("centre", "市公共资源交易中心")
    other_centre = make_org("centre", "邻市公共资源交易中心")
    supervisor_org = make_org("supervisor", "市发展和改革委员会")
    tenderee = make_org("tenderee", "市交通运输局")
    agent = make_org("agent", "华信招标代理有限公司")
    bidder_orgs = [make_org("bidder", f"投标人{i}建设有限公司", bank_account=f"62220200000000{i:04d}") for i in range(1, bidders + 1)]
    expert_org = make_org("tenderee", "市建筑设计研究院")
    return World(
        centre=centre, other_centre=other_centre, supervisor_org=supervisor_org, tenderee=tenderee, agent=agent,
        bidder_orgs=bidder_orgs,
        staff=make_user("staff", centre), other_staff=make_user("staff", other_centre),
        supervisor=make_user("supervisor", supervisor_org),
        bidders=[make_user("bidder", org) for org in bidder_orgs],
        expert_org=expert_org, expert=make_user("expert", expert_org), admin=make_user("admin", None),
    )


def lot_spec(kind: str, method: str, *, now: dt.datetime | None = None, estimate_fen: int = 100_000_000,
             security_fen: int | None = None, notice_days: int | None = None, eligibility=None, **overrides) -> services.LotSpec:
    """A lot whose schedule meets the legal minimums by a margin (notice assumed now)."""
    rule = rule_for(kind, method)
    now = now or timezone.now()
    days = notice_days if notice_days is not None else rule.min_notice_days + 1
    bid_deadline = now + days * DAY
    spec: dict[str, Any] = dict(title=f"{method} lot", estimate_fen=estimate_fen, bid_deadline=bid_deadline,
                eligibility=eligibility if eligibility is not None else ["具有有效的营业执照"])
    if security_fen is None:
        security_fen = min(estimate_fen * rule.security_cap_bp // 10000, rule.security_cap_fen or estimate_fen) // 2
    spec["security_fen"] = security_fen
    if rule.doc_period_min_days:
        spec.update(doc_start=now, doc_end=now + (rule.doc_period_min_days + 1) * DAY)
    if rule.path == "tender":
        spec["evaluation_method"] = rule.evaluation_methods[0]
    if rule.path == "auction":
        spec.update(auction_start=bid_deadline + DAY, increment_fen=estimate_fen // 100, closing_rule="countdown")
    if rule.path == "listing":
        listing_start = now + days * DAY
        listing_end = listing_start + (rule.listing_min_days + 1) * DAY
        spec.update(listing_start=listing_start, listing_end=listing_end, bid_deadline=listing_end - DAY,
                    increment_fen=estimate_fen // 100, closing_rule="countdown")
    spec.update(overrides)
    return services.LotSpec(**spec)


def make_project(world: World, kind: str = "engineering", method: str = "open_tender", *, lots: int = 1,
                 publish: bool = False, title: str | None = None, **lot_overrides) -> Project:
    rule = rule_for(kind, method)
    specs = [lot_spec(kind, method, **lot_overrides) for _ in range(lots)]
    for i, spec in enumerate(specs, start=1):
        spec.title = f"第{i}标段"
    project = services.create_project(
        actor=world.staff, kind=kind, method=method, title=title or f"测试项目 {rule.label}", owner=world.tenderee,
        agent=world.agent if rule.path == "tender" else None, supervisor=world.supervisor_org, region="市本级",
        budget_fen=sum(s.estimate_fen for s in specs), lots=specs, description="测试用项目",
    )
    if publish:
        services.publish_project(actor=world.staff, project=project)
    return project


def pay_security(lot, org: Organisation) -> None:
    """``org`` pays its sub-account's required security for ``lot`` in full, from its own bank account, through the
    simulated bank (which notifies the platform at once)."""
    from deposits.bank.fake import BANK
    from deposits.models import Account

    acc = Account.objects.get(lot=lot, bidder=org, kind="deposit")
    assert acc.number is not None
    BANK.pay_in(sub_account=acc.number, amount_fen=acc.required_fen, payer_name=org.name,
                payer_account=org.bank_account)
