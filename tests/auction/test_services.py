"""place_bid, schedule, pause/resume, the clock and the result — on the real database."""
from __future__ import annotations

from audit.timestamps import iso_z
import datetime as dt
import json

import pytest
from django.utils import timezone

from audit.models import Event
from bidding.auction import engine as E
from bidding.auction import services as S
from bidding.auction.models import Auction, AuctionBid, AuctionEvent, BidderNumber
from trading.errors import Conflict, Forbidden, Invalid
from trading.models import Lot, Notice

from tests.auction.helpers import later, make_auction, sale_lot
from trading.money import format_fen, parse_money

pytestmark = pytest.mark.django_db


def snapshot_db(auction: Auction):
    auction.refresh_from_db()
    return (
        {f: getattr(auction, f) for f in Auction.STATE_FIELDS},
        AuctionEvent.objects.count(), AuctionBid.objects.count(), Event.objects.count(),
        BidderNumber.objects.count(), Lot.objects.get(pk=auction.lot_id).status,
    )


def test_schedule_takes_rules_and_seals_reserve(world, clock):
    lot = sale_lot(world)
    a = S.schedule_auction(lot=lot, actor=world.staff, reserve_fen=123_456_700)
    rule = lot.rule
    assert a.mode == "auction" and a.phase == E.PHASE_SCHEDULED
    assert a.starting_price_fen == lot.estimate_fen and a.increment_fen == lot.increment_fen
    assert a.closing_rule == "countdown" and a.countdown_s == rule.auction_countdown_seconds
    assert a.max_jump == rule.auction_max_jump_increments
    assert a.start_at == lot.auction_start
    public = Event.objects.get(action="auction.schedule")
    assert "123456700" not in public.canonical and public.visibility == "public"
    assert json.loads(public.canonical)["payload"]["reserve_commitment"] == a.reserve_commitment
    sealed = Event.objects.get(action="auction.reserve")
    assert sealed.visibility == "sealed"
    # the public state never shows the reserve before the result
    assert "reserve_fen" not in S.public_state(a) and "reserve_salt" not in S.public_state(a)


def test_schedule_refusals_change_nothing(world, clock):
    lot = sale_lot(world)
    before = (Auction.objects.count(), Event.objects.count())
    with pytest.raises(Forbidden):
        S.schedule_auction(lot=lot, actor=world.other_staff)
    with pytest.raises(Forbidden):
        S.schedule_auction(lot=lot, actor=world.bidders[0])
    with pytest.raises(Invalid):
        S.schedule_auction(lot=lot, actor=world.staff, closing_rule="candle")
    with pytest.raises(Invalid):
        S.schedule_auction(lot=lot, actor=world.staff, reserve_fen=-5)
    assert (Auction.objects.count(), Event.objects.count()) == before
    S.schedule_auction(lot=lot, actor=world.staff)
    with pytest.raises(Conflict):
        S.schedule_auction(lot=lot, actor=world.staff)
    tender = world  # a tender lot cannot be auctioned
    from tests import factories
    t_lot = factories.make_project(tender, publish=True).lots.get()
    with pytest.raises(Conflict):
        S.schedule_auction(lot=t_lot, actor=world.staff)


def test_opening_by_the_clock_moves_the_lot(world, clock):
    a = make_auction(world, clock, open_now=True)
    assert a.phase == E.PHASE_LIVE and a.last_seq == 1
    assert Lot.objects.get(pk=a.lot_id).status == "live"
    assert AuctionEvent.objects.get(auction=a, seq=1).kind == "opened"
    # a second tick is a no-op
    assert S.tick(timezone.now()) == 0
    assert AuctionEvent.objects.filter(auction=a).count() == 1


def test_bid_accepted_persisted_audited(world, clock):
    a = make_auction(world, clock, open_now=True)
    clock.advance(seconds=5)
    r = S.place_bid(auction=a, user=world.bidders[0], amount_fen=a.starting_price_fen, client_ref="r1")
    assert r.accepted and r.seq == 2 and r.number
    bid = AuctionBid.objects.get(auction=a)
    assert (bid.seq, bid.amount_fen, bid.bidder.number) == (2, a.starting_price_fen, r.number)
    ev = Event.objects.get(action="auction.bid")
    payload = json.loads(ev.canonical)["payload"]
    assert payload["amount_fen"] == a.starting_price_fen and payload["bidder"] == r.number
    # bidders appear under numbers, never under names
    assert world.bidder_orgs[0].name not in ev.canonical
    a.refresh_from_db()
    assert a.price_fen == a.starting_price_fen and a.leader == r.number
    assert a.end_at == timezone.now() + dt.timedelta(seconds=a.countdown_s)


@pytest.mark.parametrize("who,amount,ref,code", [
    ("b1", 0, "x", E.INVALID_AMOUNT),
    ("b1", "low", "x", E.TOO_LOW),
    ("b1", "offgrid", "x", E.NOT_MULTIPLE),
    ("b1", "jump", "x", E.TOO_HIGH),
    ("b0", "next", "x", E.ALREADY_HIGHEST),
    ("staff", "next", "x", E.NOT_A_BIDDER),
    ("supervisor", "next", "x", E.NOT_A_BIDDER),
    ("unregistered", "next", "x", E.NO_SECURITY),
])
def test_refused_bids_change_nothing(world, clock, who, amount, ref, code):
    a = make_auction(world, clock, open_now=True, users=world.bidders[:3])
    S.place_bid(auction=a, user=world.bidders[0], amount_fen=a.starting_price_fen, client_ref="used")
    S.place_bid(auction=a, user=world.bidders[1], amount_fen=a.starting_price_fen + a.increment_fen, client_ref="used")
    a.refresh_from_db()
    amounts = {"low": a.price_fen, "offgrid": a.price_fen + a.increment_fen + 1,
               "jump": a.price_fen + (a.max_jump + 1) * a.increment_fen, "next": a.price_fen + a.increment_fen}
    # bidders[1] holds the highest bid now; bidders[0] is outbid
    users = {"b0": world.bidders[1], "b1": world.bidders[0], "staff": world.staff, "supervisor": world.supervisor,
             "unregistered": world.bidders[3]}
    user = users[who]
    before = snapshot_db(a)
    with pytest.raises(S.BidRefused) as exc:
        S.place_bid(auction=a, user=user, amount_fen=amounts.get(amount, amount), client_ref=ref)
    assert exc.value.reason == code and exc.value.message
    assert exc.value.status_code == S.STATUS_FOR_CODE[code]
    assert snapshot_db(a) == before


def test_not_started_and_closed(world, clock):
    a = make_auction(world, clock)
    with pytest.raises(S.BidRefused) as exc:
        S.place_bid(auction=a, user=world.bidders[0], amount_fen=a.starting_price_fen, client_ref="a")
    assert exc.value.reason == E.NOT_STARTED
    clock.move_to(a.start_at)
    S.tick()
    a.refresh_from_db()
    clock.move_to(a.end_at)
    before = snapshot_db(a)
    with pytest.raises(S.BidRefused) as exc:
        S.place_bid(auction=a, user=world.bidders[0], amount_fen=a.starting_price_fen, client_ref="b")
    assert exc.value.reason == E.CLOSED
    assert snapshot_db(a) == before  # the refusal does not even close it: the clock does


@pytest.mark.parametrize("rule", ["countdown", "soft_close"])
def test_bid_at_the_last_instant(world, clock, rule):
    a = make_auction(world, clock, open_now=True, closing_rule=rule, live_duration_s=600, countdown_s=300,
                     window_s=300)
    end = a.end_at
    clock.move_to(end - dt.timedelta(microseconds=1))
    r = S.place_bid(auction=a, user=world.bidders[0], amount_fen=a.starting_price_fen, client_ref="last")
    assert r.accepted
    a.refresh_from_db()
    assert a.end_at == end - dt.timedelta(microseconds=1) + dt.timedelta(seconds=300)
    # the clock at the old end does not close it
    clock.move_to(end)
    assert S.tick() == 0
    clock.move_to(a.end_at)
    with pytest.raises(S.BidRefused) as exc:
        S.place_bid(auction=a, user=world.bidders[1], amount_fen=a.starting_price_fen + a.increment_fen,
                    client_ref="late")
    assert exc.value.reason == E.CLOSED
    assert S.tick() == 1
    a.refresh_from_db()
    assert a.phase == E.PHASE_CLOSED and a.outcome == E.OUTCOME_DEAL


def test_close_exactly_once_with_result(world, clock):
    a = make_auction(world, clock, open_now=True, reserve_fen=100_000_000)
    numbers = []
    for i, user in enumerate(world.bidders[:3]):
        clock.advance(seconds=10)
        numbers.append(S.place_bid(auction=a, user=user, amount_fen=a.starting_price_fen + i * a.increment_fen,
                                   client_ref=f"r{i}").number)
    a.refresh_from_db()
    clock.move_to(a.end_at + later(30))
    assert S.tick() == 1
    assert S.tick() == 0 and S.advance_auction(auction=a) == []
    a.refresh_from_db()
    assert a.phase == E.PHASE_CLOSED and a.outcome == E.OUTCOME_DEAL and a.leader == numbers[-1]
    assert a.result_applied
    closed = AuctionEvent.objects.filter(auction=a, kind="closed")
    assert closed.count() == 1
    data = closed.get().data
    assert data["reserve_fen"] == 100_000_000 and data["winner"] == numbers[-1]
    assert data["at"] == iso_z(a.end_at)  # closed at the scheduled end, however late the tick
    lot = Lot.objects.get(pk=a.lot_id)
    assert lot.status == "awarded"
    notice = Notice.objects.get(lot=lot, kind="result")
    assert notice.data["winner_organisation"] == world.bidder_orgs[2].pk
    assert notice.data["price_fen"] == a.starting_price_fen + 2 * a.increment_fen
    assert list(AuctionEvent.objects.filter(auction=a).values_list("seq", flat=True)) == list(range(1, a.last_seq + 1))
    # the reserve is revealed with the result and matches the commitment published at scheduling
    st = S.public_state(a)
    assert S._commitment(parse_money(st["reserve"]), st["reserve_salt"]) == a.reserve_commitment


def test_below_reserve_fails(world, clock):
    a = make_auction(world, clock, open_now=True, reserve_fen=900_000_000)
    S.place_bid(auction=a, user=world.bidders[0], amount_fen=a.starting_price_fen, client_ref="r")
    a.refresh_from_db()
    clock.move_to(a.end_at)
    S.tick()
    a.refresh_from_db()
    assert a.outcome == E.OUTCOME_FAILED and a.outcome_reason == "below_reserve"
    assert Lot.objects.get(pk=a.lot_id).status == "failed"
    assert Notice.objects.filter(lot_id=a.lot_id, kind="result").count() == 1


def test_pause_resume_shifts_the_end(world, clock):
    a = make_auction(world, clock, open_now=True)
    end = a.end_at
    with pytest.raises(S.BidRefused):
        S.pause_auction(auction=a, actor=world.staff, reason=" ")
    with pytest.raises(Forbidden):
        S.pause_auction(auction=a, actor=world.other_staff, reason="x")
    with pytest.raises(Forbidden):
        S.pause_auction(auction=a, actor=world.supervisor, reason="x")
    clock.advance(seconds=30)
    S.pause_auction(auction=a, actor=world.staff, reason="系统故障 system failure")
    clock.advance(seconds=3600)
    assert S.tick() == 0  # paused: not closed even though the old end passed
    with pytest.raises(S.BidRefused) as exc:
        S.place_bid(auction=a, user=world.bidders[0], amount_fen=a.starting_price_fen, client_ref="p")
    assert exc.value.reason == E.PAUSED
    S.resume_auction(auction=a, actor=world.staff)
    a.refresh_from_db()
    assert a.phase == E.PHASE_LIVE and a.end_at == end + dt.timedelta(seconds=3600)
    kinds = list(AuctionEvent.objects.filter(auction=a).values_list("kind", flat=True))
    assert kinds == ["opened", "paused", "resumed"]
    assert AuctionEvent.objects.get(auction=a, kind="paused").data["reason"] == "系统故障 system failure"


def test_listing_goes_live_then_closes(world, clock):
    a = make_auction(world, clock, method="listing", open_now=True)
    assert a.phase == E.PHASE_LISTING and Lot.objects.get(pk=a.lot_id).status == "listing"
    b0, b1, b2 = world.bidders[:3]
    S.place_bid(auction=a, user=b0, amount_fen=a.starting_price_fen, client_ref="p0")
    clock.advance(hours=1)
    S.place_bid(auction=a, user=b1, amount_fen=a.starting_price_fen + 3 * a.increment_fen + 7, client_ref="p1")
    with pytest.raises(S.BidRefused) as exc:
        S.request_live_bidding(auction=a, user=b2)
    assert exc.value.reason == E.NOT_ELIGIBLE
    S.request_live_bidding(auction=a, user=b0)
    S.request_live_bidding(auction=a, user=b1)
    a.refresh_from_db()
    clock.move_to(a.end_at)
    S.tick()
    a.refresh_from_db()
    assert a.phase == E.PHASE_LIVE and Lot.objects.get(pk=a.lot_id).status == "live"
    assert a.price_fen == a.starting_price_fen + 3 * a.increment_fen + 7
    r = S.place_bid(auction=a, user=b0, amount_fen=a.price_fen + a.increment_fen, client_ref="l0")
    a.refresh_from_db()
    clock.move_to(a.end_at)
    S.tick()
    a.refresh_from_db()
    assert a.outcome == E.OUTCOME_DEAL and a.leader == r.number
    assert Lot.objects.get(pk=a.lot_id).status == "awarded"


def test_listing_single_bidder_sold(world, clock):
    a = make_auction(world, clock, method="listing", open_now=True)
    S.place_bid(auction=a, user=world.bidders[0], amount_fen=a.starting_price_fen, client_ref="p0")
    a.refresh_from_db()
    clock.move_to(a.end_at)
    S.tick()
    a.refresh_from_db()
    assert a.phase == E.PHASE_CLOSED and a.outcome == E.OUTCOME_DEAL
    assert Lot.objects.get(pk=a.lot_id).status == "awarded"


def test_replay_equals_live_at_every_step(world, clock):
    from frontend.selectors import project_state, replay_differences, replayed_state

    def check():
        live = project_state(project)["auction"]
        assert replay_differences(project) == [], replay_differences(project)
        return live

    a = make_auction(world, clock, method="listing", reserve_fen=100_500_000)
    project = a.lot.project
    assert check()["auctions"][str(a.pk)]["phase"] == "scheduled"
    clock.move_to(a.start_at)
    S.tick()
    a.refresh_from_db()
    S.place_bid(auction=a, user=world.bidders[0], amount_fen=a.starting_price_fen, client_ref="p0")
    S.place_bid(auction=a, user=world.bidders[1], amount_fen=a.starting_price_fen + a.increment_fen, client_ref="p1")
    S.request_live_bidding(auction=a, user=world.bidders[0])
    S.request_live_bidding(auction=a, user=world.bidders[1])
    clock.advance(hours=2)
    S.pause_auction(auction=a, actor=world.staff, reason="系统故障")
    assert check()["auctions"][str(a.pk)]["phase"] == "paused"
    clock.advance(hours=1)
    S.resume_auction(auction=a, actor=world.staff)
    check()
    a.refresh_from_db()
    clock.move_to(a.end_at)
    S.tick()
    a.refresh_from_db()
    assert check()["auctions"][str(a.pk)]["phase"] == "live"
    clock.advance(seconds=5)
    S.place_bid(auction=a, user=world.bidders[0], amount_fen=a.price_fen + 2 * a.increment_fen, client_ref="l0")
    a.refresh_from_db()
    # the reserve is not in the replayed state before the result
    assert replayed_state(project)["auction"]["auctions"][str(a.pk)]["reserve_fen"] is None
    clock.move_to(a.end_at)
    S.tick()
    live = check()["auctions"][str(a.pk)]
    assert live["phase"] == "closed" and live["outcome"] == "deal" and live["reserve_fen"] == 100_500_000
    assert live["winner_organisation"] == world.bidder_orgs[0].pk
    assert [b[2] for b in live["bids"]] == sorted(b[2] for b in live["bids"])


def test_batch_decides_in_arrival_order_in_one_transaction(world, clock):
    a = make_auction(world, clock, open_now=True)
    b0, b1, b2 = world.bidders[:3]
    p, inc = a.starting_price_fen, a.increment_fen
    reqs = [
        S.BidRequest(user=b0, amount_fen=p, client_ref="a"),            # accepted (first bid at the start price)
        S.BidRequest(user=b1, amount_fen=p, client_ref="b"),            # too low now
        S.BidRequest(user=b1, amount_fen=p + 3 * inc, client_ref="c"),  # accepted
        S.BidRequest(user=b2, amount_fen=p + 2 * inc, client_ref="d"),  # too low
        S.BidRequest(user=b1, amount_fen=p + 5 * inc, client_ref="e"),  # already highest
        S.BidRequest(user=b0, amount_fen=p + 4 * inc, client_ref="a"),  # replayed ref of an accepted bid
        S.BidRequest(user=world.staff, amount_fen=p + 9 * inc, client_ref="f"),  # not a bidder
        S.BidRequest(user=b2, amount_fen=p + 4 * inc, client_ref="g"),  # accepted
    ]
    events_before = Event.objects.count()
    answers = S.place_bids(auction=a, requests=reqs)
    assert [x.code for x in answers] == [E.OK, E.TOO_LOW, E.OK, E.TOO_LOW, E.ALREADY_HIGHEST, E.REPLAYED,
                                         E.NOT_A_BIDDER, E.OK]
    assert [x.seq for x in answers if x.accepted] == [2, 3, 2, 4]  # the replayed ref: its original answer
    assert (answers[5].accepted, answers[5].replayed, answers[5].amount_fen) == (True, True, p)
    assert answers[1].minimum_fen == p + inc and answers[3].minimum_fen == p + 4 * inc
    assert all(x.state is not None and x.state["seq"] == 4 and x.state["price"] == format_fen(p + 4 * inc) for x in answers)
    assert list(AuctionBid.objects.filter(auction=a).order_by("seq").values_list("amount_fen", flat=True)) == [
        p, p + 3 * inc, p + 4 * inc]
    assert Event.objects.filter(action="auction.bid").count() == 3
    assert Event.objects.count() == events_before + 3  # one audit event per accepted bid, nothing else
    assert_gapless = list(AuctionEvent.objects.filter(auction=a).values_list("seq", flat=True))
    assert assert_gapless == [1, 2, 3, 4]


def test_append_only_tables_refuse_changes(world, clock):
    from django.db import DatabaseError, transaction

    a = make_auction(world, clock, open_now=True)
    S.place_bid(auction=a, user=world.bidders[0], amount_fen=a.starting_price_fen, client_ref="r")
    for qs, change in ((AuctionBid.objects.all(), {"amount_fen": 1}), (AuctionEvent.objects.all(), {"kind": "x"}),
                       (BidderNumber.objects.all(), {"number": "999999"})):
        with pytest.raises(DatabaseError), transaction.atomic():
            qs.update(**change)
        with pytest.raises(DatabaseError), transaction.atomic():
            qs.delete()


def test_a_resent_bid_gets_its_original_answer_never_a_new_judgement(world, clock):
    """The answer of an accepted bid was lost; the client sends it again with the same reference:
    over HTTP or the socket alike (one path), it is answered ``replayed`` with the original outcome,
    not judged again (it would be ``already_highest`` or ``too_low`` now), and nothing is written."""
    a = make_auction(world, clock, open_now=True, users=world.bidders[:3])
    first = S.place_bid(auction=a, user=world.bidders[0], amount_fen=a.starting_price_fen, client_ref="used")
    S.place_bid(auction=a, user=world.bidders[1], amount_fen=a.starting_price_fen + a.increment_fen,
                client_ref="used")  # another bidder's reference space
    before = snapshot_db(a)
    for via in ("http", "ws"):
        again = S.place_bid(auction=a, user=world.bidders[0], amount_fen=a.starting_price_fen, client_ref="used",
                            via=via)
        assert (again.accepted, again.replayed, again.code) == (True, True, E.REPLAYED)
        assert (again.seq, again.amount_fen, again.number) == (first.seq, first.amount_fen, first.number)
    # the same reference with another amount is the same bid: still its original answer
    other = S.place_bid(auction=a, user=world.bidders[0], amount_fen=a.starting_price_fen + 3 * a.increment_fen,
                        client_ref="used")
    assert other.replayed and other.seq == first.seq and other.amount_fen == first.amount_fen
    assert snapshot_db(a) == before


def test_numbers_are_given_at_admission_never_while_bidding(world, clock):
    a = make_auction(world, clock, users=world.bidders[:2])
    # admitted when the auction was scheduled: registered with the security in place (none required here)
    admitted = set(BidderNumber.objects.filter(auction=a).values_list("organisation_id", flat=True))
    assert admitted == {world.bidder_orgs[0].pk, world.bidder_orgs[1].pk}
    clock.move_to(a.start_at)
    S.tick()
    before = snapshot_db(a)
    with pytest.raises(S.BidRefused) as exc:  # registered nowhere: refused, and no number is made
        S.place_bid(auction=a, user=world.bidders[3], amount_fen=a.starting_price_fen, client_ref="x")
    assert exc.value.reason == E.NO_SECURITY
    assert S.number_for(auction=a, user=world.bidders[3]) is None and snapshot_db(a) == before


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_room_view_settles_only_what_the_locked_path_answers_too(world, clock, django_capture_on_commit_callbacks,
                                                                 monkeypatch, seed):
    """Differential: what the process's RoomView (the cache the room's group messages keep current)
    answers without the database, ``place_bids`` answers the same: a replay identically, a refusal
    identically while the view is current and as a refusal while it lags behind (messages not yet
    applied); and the view follows the group messages contiguously to the database's state."""
    import random

    a = make_auction(world, clock, open_now=True, users=world.bidders[:3])
    sent: list[dict] = []
    monkeypatch.setattr(S, "broadcast", lambda auction_id, message: sent.append(message))
    bidders = world.bidders[:3]
    numbers = {u.pk: bn.number for u in bidders if (bn := S.number_for(auction=a, user=u)) is not None}
    used: list[tuple] = []
    view, settled_count = S.RoomView.load(a.pk), 0
    rng = random.Random(seed)
    for step in range(60):
        clock.advance(seconds=1)
        a.refresh_from_db()
        if used and rng.random() < 0.3:  # a re-sent bid: a reference used before, any amount
            user, ref = rng.choice(used)
        else:
            user, ref = rng.choice(bidders), f"r{step}"
        base = a.price_fen if a.leader else a.starting_price_fen
        amount = base + rng.randint(-2, 3) * a.increment_fen
        settled = view.settle(numbers[user.pk], ref, amount)
        with django_capture_on_commit_callbacks(execute=True):
            (answer,) = S.place_bids(auction=a.pk, requests=[S.BidRequest(user=user, amount_fen=amount,
                                                                          client_ref=ref)])
        if settled is not None:
            settled_count += 1
            if settled.accepted or view.seq == a.last_seq:  # a replay, or a view that is current: the same answer
                assert (settled.accepted, settled.code, settled.seq, settled.amount_fen, settled.replayed) == (
                    answer.accepted, answer.code, answer.seq, answer.amount_fen, answer.replayed), (step, settled, answer)
            else:  # a lagging view's refusal: refused all the same (the code may be newer, e.g. already_highest)
                assert not answer.accepted and answer.code in (E.TOO_LOW, E.ALREADY_HIGHEST), (step, settled, answer)
        if answer.accepted and not answer.replayed:
            used.append((user, ref))
        if rng.random() < 0.5:  # the view catches up (in order), or keeps lagging a while
            for message in sent:
                assert view.follow(message["view"])
            sent.clear()
    assert settled_count > 5
    for message in sent:
        assert view.follow(message["view"])
    fresh = S.RoomView.load(a.pk)
    assert (view.seq, view.state, view.accepted) == (fresh.seq, fresh.state, fresh.accepted)
    # a message that does not follow on: the view says it is stale
    assert not S.RoomView.load(a.pk).follow({"after": fresh.seq + 1, "seq": fresh.seq + 2, "state": {}, "bids": []})


def test_the_bid_path_reads_the_auction_as_the_orm_does(world, clock):
    """``_read`` (the bid path's read, with and without the lock) and ``RoomView.load`` read the auction row by a
    statement of their own, not a QuerySet: every field equal to what the ORM reads, its type included (JSON
    lists decoded, aware datetimes, None), at each step of a listing -- scheduled, prices posted (posters), live
    bidding asked for (continuing), paused (paused_at), live (eligible), closed (outcome) -- and beside it the
    bidders' numbers, the references they used and the accepted bids."""
    from django.db import transaction

    a = make_auction(world, clock, method="listing")
    b0, b1 = world.bidders[:2]
    orgs, refs = [b0.organisation_id, b1.organisation_id, world.bidders[-1].organisation_id], ["p0", "p1", "l0", "zz"]

    def check():
        orm = Auction.objects.select_related("lot").get(pk=a.pk)
        for lock in (False, True):
            with transaction.atomic():
                read, admitted, done = S._read(a.pk, orgs, refs, lock=lock)
            for f in Auction._meta.concrete_fields:
                mine, theirs = getattr(read, f.attname), getattr(orm, f.attname)
                assert (mine, type(mine)) == (theirs, type(theirs)), f.name
            assert (read._state.adding, read._state.db) == (False, orm._state.db)
            assert (read.config, read.state) == (orm.config, orm.state)
            assert {o: n.number for o, n in admitted.items()} == dict(
                BidderNumber.objects.filter(auction=a, organisation_id__in=orgs).values_list("organisation_id", "number"))
            assert {k: (b.seq, b.amount_fen) for k, b in done.items()} == {
                (b.bidder_id, b.client_ref): (b.seq, b.amount_fen)
                for b in AuctionBid.objects.filter(auction=a, client_ref__in=refs, bidder__organisation_id__in=orgs)}
            if lock:
                assert (vars(read)["lot_project_id"], vars(read)["lot_suspended"]) == (orm.lot.project_id, False)
        view = S.RoomView.load(a.pk)
        assert (view.seq, view.config, view.state) == (orm.last_seq, orm.config, orm.state)
        assert view.accepted == {(b.bidder.number, b.client_ref): (b.seq, b.amount_fen)
                                 for b in AuctionBid.objects.filter(auction=a).select_related("bidder")}
        return orm

    assert check().phase == E.PHASE_SCHEDULED
    clock.move_to(a.start_at)
    S.tick()
    S.place_bid(auction=a, user=b0, amount_fen=a.starting_price_fen, client_ref="p0")
    S.place_bid(auction=a, user=b1, amount_fen=a.starting_price_fen + a.increment_fen, client_ref="p1")
    assert check().posters
    S.request_live_bidding(auction=a, user=b0)
    S.request_live_bidding(auction=a, user=b1)
    assert check().continuing
    clock.advance(hours=1)
    S.pause_auction(auction=a, actor=world.staff, reason="系统故障")
    assert check().paused_at is not None
    clock.advance(hours=1)
    S.resume_auction(auction=a, actor=world.staff)
    a.refresh_from_db()
    clock.move_to(a.end_at)
    S.tick()
    assert check().eligible
    a.refresh_from_db()
    S.place_bid(auction=a, user=b0, amount_fen=a.price_fen + a.increment_fen, client_ref="l0")
    a.refresh_from_db()
    clock.move_to(a.end_at)
    S.tick()
    assert check().outcome == E.OUTCOME_DEAL


def test_the_room_message_is_the_auction_as_written(world, clock, django_capture_on_commit_callbacks, monkeypatch):
    """The room's group message is made after commit (outside the auction's row lock), from the auction as the
    action wrote it: a later change to the caller's instance, in an enclosing transaction, is not in it."""
    a = make_auction(world, clock, open_now=True, users=world.bidders[:2])
    sent: list = []
    monkeypatch.setattr(S, "broadcast", lambda auction_id, message: sent.append((auction_id, message)))
    with django_capture_on_commit_callbacks(execute=True):
        paused = S.pause_auction(auction=a, actor=world.staff, reason="系统故障")
        paused.pause_reason, paused.last_seq, paused.phase = "changed later", paused.last_seq + 5, E.PHASE_LIVE
    a.refresh_from_db()
    ((auction_id, message),) = sent
    frame = json.loads(message["text"])
    assert auction_id == a.pk and message["view"]["seq"] == frame["seq"] == a.last_seq
    assert message["view"]["state"] == a.state.to_json()
    assert (frame["kind"], frame["state"]["phase"], frame["state"]["pause_reason"]) == ("paused", E.PHASE_PAUSED, "系统故障")


def test_the_bid_path_prepares_its_statements_once_per_session(world, clock):
    """The bid path's reads (before the lock, and the lock with the read under it) and its writes are prepared
    statements of the database session (audit.sql): made by the first bids, then executed, never made again."""
    import re

    from django.db import connection

    def prepared():
        with connection.cursor() as cur:
            cur.execute("SELECT statement FROM pg_prepared_statements WHERE name LIKE 'sl\\_%%'")
            return sorted(r[0] for r in cur.fetchall())

    a = make_auction(world, clock, open_now=True, users=world.bidders[:2])
    price = a.starting_price_fen
    for i in range(2):
        S.place_bid(auction=a, user=world.bidders[i], amount_fen=price + i * a.increment_fen, client_ref=f"b{i}")
    with pytest.raises(S.BidRefused):  # too low: answered by the read before the lock
        S.place_bid(auction=a, user=world.bidders[0], amount_fen=price, client_ref="low")
    made = prepared()

    def as_prepared(text):  # psycopg2's placeholders as the server's
        count = iter(range(1, 100))
        return re.sub("%s", lambda m: f"${next(count)}", text)

    read, _, _ = S._read_statements(1, 1, False, "postgresql")
    locked_read, locking, _ = S._read_statements(1, 1, True, "postgresql")
    for text in (read, locking, locked_read):
        assert sum(s.endswith(f" AS {as_prepared(text)}") for s in made) == 1, text
    for i in range(2, 8):
        S.place_bid(auction=a, user=world.bidders[i % 2], amount_fen=price + i * a.increment_fen, client_ref=f"b{i}")
        with pytest.raises(S.BidRefused):
            S.place_bid(auction=a, user=world.bidders[i % 2], amount_fen=price, client_ref=f"low{i}")
    assert prepared() == made


def test_a_bid_that_waited_for_the_lock_is_judged_on_the_newer_state(world, clock):
    """The lock is taken only if the auction is still as the read before found it (``seen``). If it moved on
    (another bid committed meanwhile), a refusal is answered from the newer committed state without the lock,
    and a bid still acceptable there is decided again (``_MovedOn``) -- in neither case is anything written."""
    a = make_auction(world, clock, open_now=True, users=world.bidders[:2])
    b0, b1 = world.bidders[:2]
    seen = Auction.objects.get(pk=a.pk).last_seq
    S.place_bid(auction=a, user=b0, amount_fen=a.starting_price_fen, client_ref="first")  # commits meanwhile
    a.refresh_from_db()
    before = snapshot_db(a)

    def decide(amount, ref, seen):
        return S._decide_bids(a.pk, [S.BidRequest(user=b1, amount_fen=amount, client_ref=ref)], [None], seen=seen)

    (low,) = decide(a.starting_price_fen, "low", seen)  # too low by now: refused from the newer state
    assert (low.accepted, low.code, low.minimum_fen) == (False, E.TOO_LOW, a.price_fen + a.increment_fen)
    with pytest.raises(S._MovedOn) as moved:  # acceptable in the newer state: decided again, nothing written
        decide(a.price_fen + a.increment_fen, "up", seen)
    assert moved.value.seq == a.last_seq and snapshot_db(a) == before
    (up,) = decide(a.price_fen + a.increment_fen, "up", moved.value.seq)  # the auction is still there: locked
    assert up.accepted and up.seq == a.last_seq + 1
    # through the one path: the same bid re-sent is replayed, a new one accepted after a move
    (again,) = S.place_bids(auction=a.pk, requests=[S.BidRequest(user=b1, amount_fen=1, client_ref="up")])
    assert again.replayed and again.seq == up.seq


def test_the_room_reads_the_user_auth_resolved_not_its_lazy_proxy(world):
    """The consumer keeps the user Channels' AuthMiddleware resolved (not the proxy: a few µs per attribute
    read); a proxy not resolved yet, an anonymous user, or no user at all are kept as they are."""
    from channels.auth import UserLazyObject
    from django.contrib.auth.models import AnonymousUser

    from bidding.auction.consumers import resolved_user

    bidder, proxy = world.bidders[0], UserLazyObject()
    assert resolved_user(proxy) is proxy  # not resolved: kept (reading it would resolve it as before)
    proxy._wrapped = bidder
    assert resolved_user(proxy) is bidder and S.precheck(S.BidRequest(user=bidder, amount_fen=1, client_ref="r")) is None
    anonymous = UserLazyObject()
    anonymous._wrapped = AnonymousUser()
    assert isinstance(resolved_user(anonymous), AnonymousUser) and resolved_user(None) is None
    assert resolved_user(bidder) is bidder
