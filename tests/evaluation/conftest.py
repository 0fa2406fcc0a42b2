"""Fixtures for evaluation tests: experts, a lot brought to "opened" with known bids, a drawn committee."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from bidding.evaluation import services as ev
from tests import factories

DAY = dt.timedelta(days=1)


@dataclass
class EvalWorld:
    world: factories.World
    experts: list  # pool experts (Expert)
    expert_users: dict  # expert id -> User
    extra: dict = field(default_factory=dict)


def make_experts(world, n: int = 9) -> tuple[list, dict]:
    experts, users = [], {}
    for i in range(n):
        org = factories.make_org("tenderee", f"专家单位{i}")
        user = factories.make_user("expert", org)
        e = ev.register_expert(actor=world.staff, user=user, name=f"专家{i}", organisation=org,
                               specialities=["civil"], region="市本级")
        experts.append(e)
        users[e.pk] = user
    return experts, users


@pytest.fixture
def ew(world):
    experts, users = make_experts(world)
    return EvalWorld(world=world, experts=experts, expert_users=users)


PASSPHRASE = "correct horse battery staple 42"


def _custody(world):
    from bidding.envelopes import services as env_services
    from bidding.envelopes.models import CustodianKey

    for user in (world.staff, world.supervisor):
        if not CustodianKey.objects.filter(user=user, revoked_at__isnull=True).exists():
            env_services.register_custodian_key(actor=user, passphrase=PASSPHRASE)


def _signing_key(world, i):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from bidding import services as bidding_services
    from bidding.envelopes import envelope as E

    keys = world.extra.setdefault("signing_keys", {})
    if i not in keys:
        keys[i] = Ed25519PrivateKey.generate()
        bidding_services.register_bidder_key(actor=world.bidders[i],
                                             public_key_hex=E.ed25519_public_bytes(keys[i]).hex())
    return keys[i]


def open_lot(ew: EvalWorld, clock, prices: list[int], *, method: str = "lowest_evaluated_price",
             security_fen: int = 0, plan: dict | None = None, tie_break: str = "lower_price_then_earlier",
             state_funded: bool = True, pay=None):
    """A published tender lot with one sealed bid per price (bidder i bids prices[i]), submitted a
    minute apart, closed and opened through the real opening ceremony."""
    from bidding import services as bidding_services
    from bidding.envelopes import envelope as E
    from bidding.envelopes import services as env_services
    from bidding.envelopes.models import OpeningKey
    from trading import services as trading_services
    from trading.clock import tick

    world = ew.world
    _custody(world)
    project = factories.make_project(world, publish=False, evaluation_method=method, security_fen=security_fen,
                                     tie_break=tie_break)
    if not state_funded:
        project.state_funded = False
        project.save(update_fields=["state_funded"])
    lot = project.lots.get()
    if plan is not None:
        ev.declare_plan(actor=world.staff, lot=lot, method=plan)
    trading_services.publish_project(actor=world.staff, project=project)
    lot.refresh_from_db()
    public_key = bytes(OpeningKey.objects.get(lot=lot).public_key)
    for i, price in enumerate(prices):
        user = world.bidders[i]
        bidding_services.register(actor=user, lot=lot,
                                  declaration=[{"condition": c, "met": True} for c in lot.eligibility])
        if pay is not None:
            pay(lot, world.bidder_orgs[i])
        sealed = E.seal(lot_public_key=public_key, project=lot.project_id, lot=lot.pk, bidder=world.bidder_orgs[i].pk,
                        price_fen=price, signing_key=_signing_key(world, i))
        env_services.submit_envelope(actor=user, lot=lot, data=sealed.to_json())
        clock.advance(minutes=1)
    clock.move_to(lot.bid_deadline + dt.timedelta(minutes=1))
    tick()
    for custodian in (world.staff, world.supervisor):
        env_services.present_share(actor=custodian, lot=lot, passphrase=PASSPHRASE)
    env_services.open_bids(actor=world.staff, lot=lot)
    lot.refresh_from_db()
    return lot


def draw_committee(ew: EvalWorld, lot, size: int = 5):
    ev.commit_draw(actor=ew.world.staff, lot=lot, size=size)
    return ev.reveal_draw(actor=ew.world.staff, lot=lot)


def members(ew: EvalWorld, lot) -> list:
    """The users of the lot's active committee members, in expert-id order."""
    return [ew.expert_users[eid] for eid in ev.committee_experts(lot)]


def pass_all(ew: EvalWorld, lot, scores: dict | None = None):
    """Every member passes every bid on every compliance criterion; optional scores
    {bidder_org_id: {criterion: [points per member]}}."""
    method = ev.method_for(lot)
    users = members(ew, lot)
    for bid in ev.opened_bids(lot):
        for j, user in enumerate(users):
            votes = {c.code: True for c in method.compliance_criteria}
            sc = {c: vals[j] for c, vals in (scores or {}).get(bid.bidder, {}).items()}
            ev.submit_sheet(actor=user, lot=lot, bidder=bid.bidder, votes=votes, scores=sc)
