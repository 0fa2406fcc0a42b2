"""The demo loader (frontend.demo.load_demo) on PostgreSQL: it loads, its audit log verifies, every project's
events are in time order, it shows the tender path end to end (sealed and opened, under publicity,
contracted with deposits settled, a lot taking bids that a demo bidder can seal for right now), and (the
autouse fixture) the replay of every project from its events equals its live state."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.utils import timezone
from trading.money import format_fen

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo():
    from deposits.bank.fake import BANK
    from frontend.demo import load_demo

    BANK.reset()
    yield load_demo()
    BANK.reset()


def test_demo_shows_the_tender_path_end_to_end(demo, capsys):
    import deposits
    from audit.models import Event
    from bidding.envelopes import demo as envelopes_demo
    from bidding.envelopes.models import CustodianKey, Envelope, OpenedBid, OpeningKey
    from bidding.evaluation import services as ev
    from bidding.evaluation.models import Award, Committee, Contract, Publicity, Score
    from trading.challenges.models import Case
    from bidding.models import BidderKey, Registration
    from deposits.models import Account, RefundOrder
    from trading.models import Lot, Notice, Project

    world = demo
    now = timezone.now()
    call_command("audit_verify")  # raises CommandError if the log does not verify
    # every tender project's events are in time order (the clock was moved, never back within a project)
    tenders = Project.objects.filter(lots__opening_key__isnull=False).distinct()
    assert tenders.count() >= 6
    for project in tenders:
        times = list(Event.objects.filter(project_id=project.pk).order_by("id").values_list("created_at", flat=True))
        assert times == sorted(times), f"{project.code}: events out of time order"

    # staff, supervisor and admin have the demo authenticator (README: manage.py demo_code)
    from django_otp.plugins.otp_totp.models import TOTPDevice

    assert set(TOTPDevice.objects.filter(confirmed=True).values_list("user__username", flat=True)) == {
        world.staff.username, world.supervisor.username, world.admin.username}
    # custody keys for staff and supervisor; their passphrases are printed with the logins
    assert CustodianKey.objects.filter(user__in=[world.staff, world.supervisor], revoked_at__isnull=True).count() == 2
    logins = {name: org for name, _role, org in world.logins}
    assert envelopes_demo.CUSTODY_PASSPHRASES["staff"] in logins["staff"]
    assert envelopes_demo.CUSTODY_PASSPHRASES["supervisor"] in logins["supervisor"]

    tender = Lot.objects.filter(project__method="open_tender", project__kind="engineering")
    # (a) sealed, secured, opened at the ceremony, the opening record published
    opened = tender.get(status="opened", project__title__contains="Donghu")
    key = OpeningKey.objects.get(lot=opened)
    assert key.opened_at and key.merkle_root and key.envelope_count == 4
    assert Envelope.objects.filter(lot=opened, status="replaced").count() == 1
    bids = list(OpenedBid.objects.filter(lot=opened))
    assert len(bids) == 4 and all(b.valid and b.price_fen for b in bids)
    assert all(deposits.is_secured(b.bidder_id, opened) for b in bids)
    record = Notice.objects.get(lot=opened, kind="opening_record")
    assert len(record.data["rows"]) == 4

    # (b) evaluated by the experts, candidates under publicity, an objection awaiting its answer
    pub = tender.get(status="publicity")
    assert Committee.objects.get(lot=pub).revealed
    assert Score.objects.filter(evaluation__lot=pub, criterion="technical").count() == 5 * 4
    publicity = Publicity.objects.get(lot=pub, cancelled=False)
    assert publicity.ends_at > now and publicity.notice.kind == "candidates"
    assert Case.objects.filter(lot=pub, kind="candidate_objection", status="filed").count() == 1

    # (c) awarded, contract signed, non-winners refunded, the winner's security converted: every security
    # settled, so the clock has completed the lot (trading.clock.complete_contracted)
    done = tender.get(status="complete")
    award = Award.objects.get(lot=done, status="contracted")
    assert Contract.objects.get(lot=done).deposit_mode == "convert"
    assert Account.objects.get(lot=done, bidder_id=award.bidder_id, kind="deposit").status == "settled"
    refunds = RefundOrder.objects.filter(account__lot=done)
    assert refunds.count() == 3 and {r.reason for r in refunds} == {"non_winner"}
    assert {r.status for r in refunds} == {"confirmed"}
    assert Case.objects.get(lot=done, kind="candidate_objection").outcome == "dismissed"

    # a lot in evaluation where expert1 still has to score
    evaluating = Lot.objects.get(status="opened", project__kind="procurement")
    assert world.experts[0].expert_profile.pk in ev.committee_experts(evaluating)
    assert ev.progress(evaluating)["missing"] > 0

    # (d) taking bids now: bidder1 registered, secured, key registered, no envelope yet -> it seals now
    live = tender.get(status="published", project__title__contains="Middle School")
    bidder = world.bidders[0]
    assert live.bid_deadline > now and OpeningKey.objects.filter(lot=live).exists()
    assert Registration.objects.filter(lot=live, bidder=bidder.organisation, status="active").exists()
    assert deposits.is_secured(bidder.organisation, live)
    key_data = json.loads(envelopes_demo.key_file(bidder.username).read_text())
    assert BidderKey.objects.filter(organisation=bidder.organisation, revoked_at__isnull=True,
                                    public_key_hex=key_data["public"]).exists()
    assert not Envelope.objects.filter(lot=live, bidder=bidder.organisation).exists()
    env = envelopes_demo.submit(world, live, 0, "15250000.00")
    assert env.status == "active" and env.submitted_at >= now

    _assert_auctions(world, now)
    _assert_replay_everywhere()
    _assert_cases(world, now)
    _assert_homes(world)


def _assert_homes(world):
    """Issue 19 in the demo: each role's home shows its work and every link on it opens for its viewer; bidder1
    is led to seal; a bidder with no registration yet finds a lot open for registration from its home."""
    import re

    from django.test import Client

    from tests.frontend.test_homes import assert_every_link_opens

    def client(user):
        c = Client(HTTP_ACCEPT_LANGUAGE="en")
        c.force_login(user)
        return c

    bidder1 = client(world.bidders[0])
    html = bidder1.get("/me/").content.decode()
    assert 'data-step="seal"' in html  # the lot taking bids now
    assert_every_link_opens(bidder1, "/me/")
    staff = client(world.staff)
    html = staff.get("/staff/").content.decode()
    work = re.search(r'<section class="card" id="dashboard">(.*?)</section>', html, re.S)
    assert work and ("/envelopes/lots/" in work.group(1) or "/auctions/" in work.group(1))
    assert_every_link_opens(staff, "/staff/")
    supervisor = client(world.supervisor)
    html = supervisor.get("/supervise/").content.decode()
    assert "/supervise/alerts/" in html and "/cases/" in html and "/supervise/audit/" in html
    assert_every_link_opens(supervisor, "/supervise/")
    from trading.models import Lot

    newcomer = client(world.bidders[-1])
    lot = Lot.objects.filter(status="published", bid_deadline__gt=timezone.now()).select_related("project").first()
    assert lot is not None  # something a new bidder can register for
    assert f"/me/register/{lot.pk}/" in newcomer.get(f"/projects/{lot.project.code}/").content.decode()
    assert newcomer.get(f"/me/register/{lot.pk}/").status_code == 200


def _assert_cases(world, now):
    """The cases demo: an answered objection, an upheld complaint that sent a lot back to evaluation after a
    suspension, disclosure requests (answered, refused on a ground, pending); the demo year's report renders."""
    from django.test import Client

    from audit.models import Event
    from trading.challenges.models import Case, Suspension

    assert Case.objects.filter(kind="candidate_objection", status="answered", outcome="dismissed").count() >= 2
    complaint = Case.objects.get(kind="engineering_complaint")
    assert (complaint.status, complaint.outcome, complaint.remedy) == ("decided", "upheld", "reevaluate")
    assert complaint.lot is not None and complaint.lot.status == "opened"
    assert Suspension.objects.get(case=complaint).lifted_at is not None
    assert set(Case.objects.filter(kind="disclosure_request").values_list("status", flat=True)) == {"answered", "filed"}
    for e in Event.objects.filter(action__startswith="case."):
        assert "zhouxm@example.com" not in str(e.body) and "周晓明" not in str(e.body)
    year = now.astimezone(dt.timezone(dt.timedelta(hours=8))).year
    report = Client().get(f"/openness-report/{year}/")
    assert report.status_code == 200 and "三、收到和处理政府信息公开申请情况" in report.content.decode()
    assert Client().get(f"/openness-report/{year}.csv").status_code == 200


def _assert_auctions(world, now):
    """The auction demo: a finished deal, a failed auction (流拍), one live now that bidder1 can bid in,
    the trading demo's asset auction scheduled with bidder1..3 secured, its land listing scheduled."""
    import deposits
    from audit.models import Event
    from bidding.auction import engine as AE
    from bidding.auction import services as AS
    from bidding.auction.models import Auction, AuctionBid, BidderNumber
    from deposits.models import Account, RefundOrder
    from trading.models import Notice

    for a in Auction.objects.all():  # each auction project's events in time order
        times = list(Event.objects.filter(project_id=a.lot.project_id).order_by("id").values_list("created_at", flat=True))
        assert times == sorted(times), f"{a.lot.project.code}: events out of time order"
    orgs = world.bidder_orgs
    # (b) finished with a deal: accepted bids from three bidders, the result notice, the winner's security converted
    deal = Auction.objects.get(mode="auction", phase=AE.PHASE_CLOSED, outcome=AE.OUTCOME_DEAL)
    assert deal.price_fen >= deal.reserve_fen > 0
    assert AuctionBid.objects.filter(auction=deal).values("bidder").distinct().count() == 3
    winner = BidderNumber.objects.get(auction=deal, number=deal.leader).organisation
    notice = Notice.objects.get(lot=deal.lot, kind="result", data__outcome="deal")
    assert notice.data["outcome"] == "deal" and notice.data["winner_organisation"] == winner.pk
    assert "成交" in notice.title
    won = Account.objects.get(lot=deal.lot, bidder=winner, kind="deposit")
    assert won.winner and won.status == "settled" and not RefundOrder.objects.filter(account=won).exists()
    assert RefundOrder.objects.filter(account__lot=deal.lot, reason="non_winner").count() == 2
    # ... then its transaction confirmation and contract: every security settled, the clock completed the lot
    from bidding.auction.models import Confirmation, SaleContract

    assert deal.lot.status == "complete" and deal.lot.project.kind == "land"
    conf = Confirmation.objects.get(auction=deal)
    assert conf.winner == winner and conf.price_fen == deal.price_fen
    assert Event.objects.get(action="auction.confirmation", project_id=deal.lot.project_id).payload["sha256"] == conf.sha256
    assert SaleContract.objects.get(confirmation=conf).amount_fen == deal.price_fen
    assert {r.status for r in RefundOrder.objects.filter(account__lot=deal.lot)} == {"confirmed"}
    # (e) a state-asset transfer by listing, sold, confirmed and contracted (completed once settled)
    sold = Auction.objects.get(mode="listing", outcome=AE.OUTCOME_DEAL)
    assert sold.lot.project.kind == "asset" and sold.lot.status in ("contracted", "complete")
    assert SaleContract.objects.filter(lot=sold.lot).exists()
    # (c) failed: the highest bid below the reserve, with its 流拍 notice, every security refunded
    failed = Auction.objects.get(phase=AE.PHASE_CLOSED, outcome=AE.OUTCOME_FAILED)
    assert failed.outcome_reason == "below_reserve" and 0 < failed.price_fen < failed.reserve_fen
    assert failed.lot.status == "failed"
    flop = Notice.objects.get(lot=failed.lot, kind="result")
    assert flop.data["outcome"] == "failed" and "流拍" in flop.title
    assert RefundOrder.objects.filter(account__lot=failed.lot).count() == 2
    # (d) live now with a 30-minute countdown; bidder1 and bidder2 secured, numbered, and bidder1 can bid
    live = Auction.objects.get(mode="auction", phase=AE.PHASE_LIVE)
    assert live.lot.status == "live" and live.closing_rule == AE.RULE_COUNTDOWN and live.countdown_s >= 1800
    assert live.start_at < now < live.end_at - dt.timedelta(minutes=30)
    for user in world.bidders[:2]:
        assert deposits.is_secured(user.organisation, live.lot)
        assert BidderNumber.objects.filter(auction=live, organisation=user.organisation).exists()
    receipt = AS.place_bid(auction=live, user=world.bidders[0], amount_fen=live.price_fen + live.increment_fen,
                           client_ref="test-demo-1", via="http")
    assert receipt.accepted and receipt.state["price"] == format_fen(live.price_fen + live.increment_fen)
    # (a) the trading demo's asset auction: scheduled for ~tomorrow with a reserve, bidder1..3 secured
    asset = Auction.objects.get(lot__project__kind="asset", phase=AE.PHASE_SCHEDULED)
    assert asset.lot.status == "auction_scheduled" and asset.reserve_fen > 0 and asset.start_at > now
    assert all(deposits.is_secured(org, asset.lot) for org in orgs[:3])
    # the trading demo's land listing: scheduled, running, its end decided by the clock
    listing = Auction.objects.get(mode="listing", lot__project__kind="land")
    assert listing.phase == AE.PHASE_LISTING and listing.lot.status == "listing" and listing.end_at > now


def _assert_replay_everywhere():
    """Replay equals live over every demo project, which cover every kind; registrations are replayed too."""
    from audit.models import Event
    from audit.replay import replay
    from bidding.models import Registration
    from frontend.selectors import replay_differences
    from trading.models import Project
    from trading.rules import KINDS

    assert {p.kind for p in Project.objects.all()} == set(KINDS)
    for project in Project.objects.order_by("id"):
        assert replay_differences(project) == [], project.code
    regs = Registration.objects.filter(lot__project__kind="engineering").select_related("lot")
    assert regs.exists()
    for project_id in {r.lot.project_id for r in regs}:
        replayed = replay(e.body for e in Event.objects.filter(project_id=project_id).order_by("id"))
        assert set(replayed["registrations"]) == {str(r.pk) for r in regs if r.lot.project_id == project_id}
