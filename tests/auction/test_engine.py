"""Pure engine tests: no database."""
from __future__ import annotations

from audit.timestamps import iso_z
import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from bidding.auction import engine as E

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


def s(n: float) -> timedelta:
    return timedelta(seconds=n)


def auction(**kw) -> E.Config:
    base: dict[str, Any] = dict(mode=E.MODE_AUCTION, starting_price_fen=1_000_000, increment_fen=10_000,
                max_jump=5, reserve_fen=1_050_000, closing_rule=E.RULE_COUNTDOWN,
                live_duration_s=600, countdown_s=300, window_s=300)
    base.update(kw)
    return E.Config(**base)


def live(config: E.Config, **kw) -> E.State:
    st_ = E.initial_state(config, start_at=T0)
    out = E.apply(config, st_, E.Tick(), T0)
    assert out.state.phase == E.PHASE_LIVE
    return dataclasses.replace(out.state, **kw)


# ---------------------------------------------------------------- config

@pytest.mark.parametrize("kw", [
    dict(starting_price_fen=0), dict(increment_fen=0), dict(max_jump=0), dict(reserve_fen=-1),
    dict(mode="dutch"), dict(closing_rule="candle"), dict(countdown_s=0),
    dict(increment_fen=1.5), dict(starting_price_fen=True),
])
def test_config_rejects_impossible_values(kw):
    with pytest.raises(E.ConfigError):
        auction(**kw)


def test_listing_requires_end_and_end_after_start():
    cfg = auction(mode=E.MODE_LISTING)
    with pytest.raises(E.ConfigError):
        E.initial_state(cfg, start_at=T0)
    with pytest.raises(E.ConfigError):
        E.initial_state(cfg, start_at=T0, end_at=T0)


# ---------------------------------------------------------------- auction

def test_not_started_then_opens_at_start():
    cfg = auction()
    st0 = E.initial_state(cfg, start_at=T0)
    out = E.apply(cfg, st0, E.Bid("001", 1_000_000), T0 - s(1))
    assert not out.decision.accepted and out.decision.code == E.NOT_STARTED
    assert out.state == st0 and out.events == ()
    out = E.apply(cfg, st0, E.Bid("001", 1_000_000), T0)
    assert out.decision.accepted
    assert [e.kind for e in out.events] == ["opened", "bid"]
    assert out.state.price_fen == 1_000_000 and out.state.leader == "001"


def test_first_bid_may_be_starting_price_then_increments():
    cfg = auction()
    st_ = live(cfg)
    assert E.minimum_bid(cfg, st_) == 1_000_000
    out = E.apply(cfg, st_, E.Bid("001", 999_999), T0 + s(1))
    assert out.decision.code == E.TOO_LOW
    out = E.apply(cfg, st_, E.Bid("001", 1_005_000), T0 + s(1))
    assert out.decision.code == E.NOT_MULTIPLE
    out = E.apply(cfg, st_, E.Bid("001", 1_060_000), T0 + s(1))
    assert out.decision.code == E.TOO_HIGH
    out = E.apply(cfg, st_, E.Bid("001", 1_050_000), T0 + s(1))
    assert out.decision.accepted
    st_ = out.state
    out2 = E.apply(cfg, st_, E.Bid("002", 1_050_000), T0 + s(2))
    assert out2.decision.code == E.TOO_LOW
    out2 = E.apply(cfg, st_, E.Bid("001", 1_060_000), T0 + s(2))
    assert out2.decision.code == E.ALREADY_HIGHEST
    out2 = E.apply(cfg, st_, E.Bid("002", 1_060_000), T0 + s(2))
    assert out2.decision.accepted and out2.state.leader == "002"


@pytest.mark.parametrize("amount", [0, -5, True, 1.5])
def test_invalid_amount(amount):
    cfg = auction()
    out = E.apply(cfg, live(cfg), E.Bid("001", amount), T0)
    assert out.decision.code == E.INVALID_AMOUNT


def test_countdown_restarts_on_every_bid_and_closes():
    cfg = auction(live_duration_s=60, countdown_s=300)
    st_ = live(cfg)
    assert st_.end_at == T0 + s(60)
    st_ = E.apply(cfg, st_, E.Bid("001", 1_000_000), T0 + s(10)).state
    assert st_.end_at == T0 + s(310)
    st_ = E.apply(cfg, st_, E.Bid("002", 1_010_000), T0 + s(300)).state
    assert st_.end_at == T0 + s(600)
    # a bid at the last instant before the end is accepted and restarts the countdown
    out = E.apply(cfg, st_, E.Bid("001", 1_050_000), T0 + s(600) - timedelta(microseconds=1))
    assert out.decision.accepted
    st_ = out.state
    assert st_.end_at == T0 + s(900) - timedelta(microseconds=1)
    # at the end instant itself: closed
    late = E.apply(cfg, st_, E.Bid("002", 1_060_000), st_.end_at)
    assert late.decision.code == E.CLOSED
    assert [e.kind for e in late.events] == ["closed"]
    closed = late.state
    assert closed.outcome == E.OUTCOME_DEAL and closed.leader == "001" and closed.price_fen == 1_050_000
    assert late.events[0].data["at"] == iso_z(st_.end_at)


def test_soft_close_extends_only_in_last_window():
    cfg = auction(closing_rule=E.RULE_SOFT_CLOSE, live_duration_s=3600, window_s=300, countdown_s=300)
    st_ = live(cfg)
    st_ = E.apply(cfg, st_, E.Bid("001", 1_000_000), T0 + s(100)).state
    assert st_.end_at == T0 + s(3600)  # far from the end: no extension
    st_ = E.apply(cfg, st_, E.Bid("002", 1_010_000), T0 + s(3400)).state
    assert st_.end_at == T0 + s(3700)  # in the last 5 minutes: extended to now + 5 min
    out = E.apply(cfg, st_, E.Bid("001", 1_020_000), T0 + s(3700) - timedelta(microseconds=1))
    assert out.decision.accepted and out.state.end_at == T0 + s(4000) - timedelta(microseconds=1)


def test_reserve_not_met_fails_and_reserve_revealed_only_when_closed():
    cfg = auction(reserve_fen=2_000_000)
    st_ = E.apply(cfg, live(cfg), E.Bid("001", 1_000_000), T0 + s(1)).state
    assert "reserve_fen" not in E.reveal(cfg, st_)
    assert E.reveal(cfg, st_)["has_reserve"] is True
    out = E.apply(cfg, st_, E.Tick(), st_.end_at + s(1))
    assert out.state.outcome == E.OUTCOME_FAILED and out.state.outcome_reason == "below_reserve"
    assert out.events[0].data["winner"] is None
    assert E.reveal(cfg, out.state)["reserve_fen"] == 2_000_000


def test_no_bids_fails():
    cfg = auction()
    st_ = live(cfg)
    out = E.apply(cfg, st_, E.Tick(), T0 + s(600))
    assert out.state.outcome == E.OUTCOME_FAILED and out.state.outcome_reason == "no_bids"
    again = E.apply(cfg, out.state, E.Tick(), T0 + s(9999))
    assert again.decision.code == E.NOTHING_TO_DO and again.events == ()


def test_pause_shifts_end_and_refuses_bids():
    cfg = auction()
    st_ = live(cfg)
    assert E.apply(cfg, st_, E.Pause("  "), T0 + s(5)).decision.code == E.REASON_REQUIRED
    p = E.apply(cfg, st_, E.Pause("system failure"), T0 + s(100))
    assert p.decision.accepted and p.state.phase == E.PHASE_PAUSED
    # a paused auction does not close even past its end
    assert E.apply(cfg, p.state, E.Tick(), T0 + s(5000)).events == ()
    assert E.apply(cfg, p.state, E.Bid("001", 1_000_000), T0 + s(200)).decision.code == E.PAUSED
    assert E.apply(cfg, p.state, E.Pause("again"), T0 + s(200)).decision.code == E.WRONG_PHASE
    r = E.apply(cfg, p.state, E.Resume(), T0 + s(1000))
    assert r.state.phase == E.PHASE_LIVE and r.state.end_at == T0 + s(600 + 900)
    assert E.apply(cfg, r.state, E.Resume(), T0 + s(1001)).decision.code == E.WRONG_PHASE


# ---------------------------------------------------------------- listing

def listing(**kw):
    cfg = auction(mode=E.MODE_LISTING, **kw)
    st0 = E.initial_state(cfg, start_at=T0, end_at=T0 + timedelta(days=10))
    return cfg, E.apply(cfg, st0, E.Tick(), T0).state


def test_listing_posts_rules():
    cfg, st_ = listing()
    assert st_.phase == E.PHASE_LISTING
    assert E.apply(cfg, st_, E.Bid("001", 999_999), T0 + s(5)).decision.code == E.TOO_LOW
    st_ = E.apply(cfg, st_, E.Bid("001", 1_000_000), T0 + s(5)).state
    # next post at least highest + increment, no multiple needed, no jump limit
    assert E.apply(cfg, st_, E.Bid("002", 1_009_999), T0 + s(6)).decision.code == E.TOO_LOW
    out = E.apply(cfg, st_, E.Bid("002", 1_234_567), T0 + s(6))
    assert out.decision.accepted and out.events[0].kind == "posted"
    st_ = out.state
    # continuing only for posters, once
    assert E.apply(cfg, st_, E.Continue("003"), T0 + s(7)).decision.code == E.NOT_ELIGIBLE
    st_ = E.apply(cfg, st_, E.Continue("001"), T0 + s(7)).state
    assert E.apply(cfg, st_, E.Continue("001"), T0 + s(7)).decision.code == E.NOTHING_TO_DO


def test_listing_two_going_on_turns_live_from_highest_posted():
    cfg, st_ = listing()
    for who, amount, t in (("001", 1_000_000, 1), ("002", 1_100_000, 2), ("003", 1_200_000, 3)):
        st_ = E.apply(cfg, st_, E.Bid(who, amount), T0 + s(t)).state
    st_ = E.apply(cfg, st_, E.Continue("001"), T0 + s(4)).state
    st_ = E.apply(cfg, st_, E.Continue("002"), T0 + s(5)).state
    end = T0 + timedelta(days=10)
    out = E.apply(cfg, st_, E.Tick(), end + s(30))
    assert [e.kind for e in out.events] == ["live"]
    st_ = out.state
    assert st_.phase == E.PHASE_LIVE and st_.price_fen == 1_200_000 and st_.leader == "003"
    assert st_.end_at == end + s(cfg.live_duration_s)
    # only those who went on may bid, on the increment grid above the posted price
    assert E.apply(cfg, st_, E.Bid("004", 1_210_000), end + s(40)).decision.code == E.NOT_ELIGIBLE
    assert E.apply(cfg, st_, E.Bid("001", 1_215_000), end + s(40)).decision.code == E.NOT_MULTIPLE
    out = E.apply(cfg, st_, E.Bid("001", 1_210_000), end + s(40))
    assert out.decision.accepted
    done = E.apply(cfg, out.state, E.Tick(), out.state.end_at)
    assert done.state.outcome == E.OUTCOME_DEAL and done.state.leader == "001"


def test_listing_single_bidder_sold_if_reserve_met():
    cfg, st_ = listing(reserve_fen=1_000_000)
    st_ = E.apply(cfg, st_, E.Bid("001", 1_000_000), T0 + s(1)).state
    st_ = E.apply(cfg, st_, E.Continue("001"), T0 + s(2)).state
    out = E.apply(cfg, st_, E.Tick(), T0 + timedelta(days=11))
    assert out.state.outcome == E.OUTCOME_DEAL and out.state.price_fen == 1_000_000
    assert out.events[-1].data["at"] == iso_z(T0 + timedelta(days=10))


def test_listing_single_bidder_below_reserve_fails():
    cfg, st_ = listing(reserve_fen=5_000_000)
    st_ = E.apply(cfg, st_, E.Bid("001", 1_000_000), T0 + s(1)).state
    out = E.apply(cfg, st_, E.Tick(), T0 + timedelta(days=10))
    assert out.state.outcome == E.OUTCOME_FAILED and out.state.outcome_reason == "below_reserve"


def test_pause_during_listing_moves_listing_end():
    cfg, st_ = listing()
    p = E.apply(cfg, st_, E.Pause("system failure"), T0 + s(10)).state
    r = E.apply(cfg, p, E.Resume(), T0 + s(3610))
    assert r.state.phase == E.PHASE_LISTING
    assert r.state.end_at == T0 + timedelta(days=10, hours=1)


def test_state_json_roundtrip():
    cfg, st_ = listing()
    st_ = E.apply(cfg, st_, E.Bid("001", 1_000_000), T0 + s(1)).state
    st_ = E.apply(cfg, st_, E.Continue("001"), T0 + s(1)).state
    assert E.State.from_json(st_.to_json()) == st_


# ---------------------------------------------------------------- properties

BIDDERS = ["001", "002", "003", "004"]

commands = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=400),  # seconds since the previous command
        st.one_of(
            st.builds(lambda b, k, off: ("bid", b, k, off), st.sampled_from(BIDDERS),
                      st.integers(min_value=-1, max_value=12), st.sampled_from([0, 0, 0, 1, 4999])),
            st.builds(lambda b: ("continue", b), st.sampled_from(BIDDERS)),
            st.just(("pause",)), st.just(("resume",)), st.just(("tick",)),
        ),
    ),
    max_size=40,
)

configs = st.builds(
    E.Config,
    mode=st.sampled_from(E.MODES),
    starting_price_fen=st.integers(min_value=1, max_value=10**9),
    increment_fen=st.integers(min_value=1, max_value=10**6),
    max_jump=st.integers(min_value=1, max_value=10),
    reserve_fen=st.integers(min_value=0, max_value=10**9),
    closing_rule=st.sampled_from(E.CLOSING_RULES),
    live_duration_s=st.integers(min_value=1, max_value=3600),
    countdown_s=st.integers(min_value=1, max_value=600),
    window_s=st.integers(min_value=0, max_value=600),
)


def _to_command(cfg: E.Config, state: E.State, spec) -> E.Command:
    kind = spec[0]
    if kind == "bid":
        _, bidder, k, off = spec
        base = state.price_fen if state.leader is not None else cfg.starting_price_fen
        return E.Bid(bidder, base + k * cfg.increment_fen + off)
    if kind == "continue":
        return E.Continue(spec[1])
    if kind == "pause":
        return E.Pause("system failure")
    if kind == "resume":
        return E.Resume()
    return E.Tick()


@settings(max_examples=300, deadline=None)
@given(cfg=configs, script=commands, listing_days=st.integers(min_value=1, max_value=3))
def test_engine_invariants(cfg, script, listing_days):
    end = T0 + (timedelta(days=listing_days) if cfg.mode == E.MODE_LISTING else s(cfg.live_duration_s))
    state = E.initial_state(cfg, start_at=T0, end_at=end)
    now = T0 - s(30)
    accepted: list[tuple[str, int]] = []
    closed_events = []
    for gap, spec in script + [(10**7, ("tick",))]:
        now = now + s(gap)
        before = state
        out = E.apply(cfg, state, _to_command(cfg, state, spec), now)
        after = out.state
        # the price never decreases, the end only moves forward (also across pause/resume)
        assert after.price_fen >= before.price_fen
        assert after.end_at >= before.end_at
        assert after.bid_count >= before.bid_count
        if before.phase == E.PHASE_CLOSED:
            assert after == before and out.events == ()
        for ev in out.events:
            if ev.kind in ("bid", "posted"):
                amount = ev.data["amount_fen"]
                prev = accepted[-1][1] if accepted else None
                if ev.kind == "bid":
                    base = prev if prev is not None else cfg.starting_price_fen
                    steps, rem = divmod(amount - base, cfg.increment_fen)
                    assert rem == 0
                    assert (0 if prev is None else 1) <= steps <= cfg.max_jump
                else:
                    assert amount >= cfg.starting_price_fen
                    if prev is not None:
                        assert amount >= prev + cfg.increment_fen
                accepted.append((ev.data["bidder"], amount))
            if ev.kind == "closed":
                closed_events.append(ev)
        if not out.decision.accepted and not out.events:
            assert after == before  # a refusal changes nothing
        assert after.bid_count == len(accepted)
        state = after
    final = state
    # after the final, very late tick the auction is closed unless it was left paused
    assert final.phase in (E.PHASE_CLOSED, E.PHASE_PAUSED)
    if final.phase == E.PHASE_CLOSED:
        assert len(closed_events) == 1
        closed = closed_events[0].data
        if accepted:
            top_bidder, top = max(accepted, key=lambda x: x[1])
            assert final.price_fen == top and final.leader == top_bidder
            assert accepted[-1] == (top_bidder, top)
            if top >= cfg.reserve_fen:
                assert final.outcome == E.OUTCOME_DEAL and closed["winner"] == top_bidder and closed["price_fen"] == top
            else:
                assert final.outcome == E.OUTCOME_FAILED and closed["winner"] is None
        else:
            assert final.outcome == E.OUTCOME_FAILED and final.outcome_reason == "no_bids"


@settings(max_examples=300, deadline=None)
@given(cfg=configs, script=commands, listing_days=st.integers(min_value=1, max_value=3),
       probes=st.lists(st.tuples(st.sampled_from(BIDDERS), st.integers(min_value=-2, max_value=12),
                                 st.sampled_from([0, 1, 4999])), min_size=1, max_size=6))
def test_a_final_refusal_holds_in_every_later_state(cfg, script, listing_days, probes):
    """What ``final_refusal`` refuses against a committed state (a read without the lock), the
    engine refuses in every state that can follow it, at any later time: the service may answer it
    without waiting for the lock."""
    end = T0 + (timedelta(days=listing_days) if cfg.mode == E.MODE_LISTING else s(cfg.live_duration_s))
    state = E.initial_state(cfg, start_at=T0, end_at=end)
    now = T0 - s(30)
    states = []
    for gap, spec in script + [(10**7, ("tick",))]:
        now = now + s(gap)
        out = E.apply(cfg, state, _to_command(cfg, state, spec), now)
        state = out.state
        states.append((state, now))
    for i, (committed, _) in enumerate(states):
        for bidder, k, off in probes:
            base = committed.price_fen if committed.leader is not None else cfg.starting_price_fen
            amount = base + k * cfg.increment_fen + off
            refusal = E.final_refusal(cfg, committed, bidder, amount)
            if refusal is None:
                continue
            assert not refusal.accepted and refusal.code in (E.TOO_LOW, E.CLOSED)
            for later, at in states[i:]:
                assert not E.apply(cfg, later, E.Bid(bidder, amount), at).decision.accepted


def test_cancel_closes_any_phase_once_and_keeps_the_reserve_secret_without_a_result():
    """An upheld complaint stops the sale (scheduled, listing, live, paused) or cancels its deal: closed for good
    with the outcome ``cancelled``; the reserve is revealed only if a result had been reached before."""
    cfg = E.Config(mode=E.MODE_AUCTION, starting_price_fen=100_000, increment_fen=1_000, reserve_fen=100_000)
    sched = E.initial_state(cfg, start_at=T0 + timedelta(hours=1))
    paused = E.apply(cfg, sched, E.Pause("suspended"), T0).state
    for state in (sched, paused):
        out = E.apply(cfg, state, E.Cancel("challenge_upheld", "公告违法"), T0)
        assert out.decision.accepted and out.state.phase == E.PHASE_CLOSED and out.state.paused_phase is None
        assert (out.state.outcome, out.state.outcome_reason) == (E.OUTCOME_CANCELLED, "challenge_upheld")
        assert [e.kind for e in out.events] == ["cancelled"]
        assert out.events[0].data["previous_phase"] == state.phase and out.events[0].data["previous_outcome"] is None
        assert "reserve_fen" not in E.reveal(cfg, out.state)
        again = E.apply(cfg, out.state, E.Cancel("challenge_upheld", "again"), T0)
        assert not again.decision.accepted and again.decision.code == E.NOTHING_TO_DO and not again.events
        late = E.apply(cfg, out.state, E.Bid("1", 100_000), T0 + timedelta(hours=2))
        assert not late.decision.accepted and not late.events  # the clock leaves it closed
    assert E.apply(cfg, sched, E.Cancel("challenge_upheld", " "), T0).decision.code == E.REASON_REQUIRED
    live = E.apply(cfg, sched, E.Tick(), T0 + timedelta(hours=1)).state
    live = E.apply(cfg, live, E.Bid("1", 100_000), T0 + timedelta(hours=1)).state
    closed = E.apply(cfg, live, E.Tick(), T0 + timedelta(days=1)).state
    assert closed.outcome == E.OUTCOME_DEAL
    out = E.apply(cfg, closed, E.Cancel("challenge_upheld", "成交无效"), T0 + timedelta(days=2))
    assert out.events[0].data["previous_outcome"] == E.OUTCOME_DEAL
    assert (out.state.price_fen, out.state.leader) == (100_000, "1")  # the record stays as it happened
