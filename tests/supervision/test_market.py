"""Market-level indicators (pure, incremental) and the evaluation harness on planted cartels."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supervision import harness, market


def outcome(lot, prices, winner, estimate=1_000_000):
    return market.LotOutcome(lot=lot, estimate_fen=estimate, prices=prices, winner=winner)


def test_rotation_and_single_bidder_and_never_winning():
    lots = []
    group = ["a", "b", "c"]
    for i in range(6):
        winner = group[i % 3]
        lots.append(outcome(f"r{i}", {m: 900_000 + 1000 * ((group.index(m) - i) % 3) for m in group}, winner))
    lots.append(outcome("s1", {"z": 990_000}, "z"))
    for i in range(5):
        lots.append(outcome(f"n{i}", {"loser": 1_000_000, f"w{i}": 800_000}, f"w{i}"))
    found = {(f.indicator, f.bidders) for f in market.indicators(lots)}
    assert ("bid_rotation", ("a", "b", "c")) in found
    assert ("single_bidder", ("z",)) in found
    assert ("never_winning", ("loser",)) in found


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.dictionaries(st.sampled_from("abcdefgh"), st.integers(1, 10**9), min_size=1, max_size=6),
                          st.booleans()), max_size=40), st.integers(0, 40))
def test_incremental_equals_full(rows, split):
    """Adding lots one by one (in two batches) gives the same indicators as computing them at once."""
    lots = [outcome(f"L{i}", prices, min(prices, key=prices.get) if won else None) for i, (prices, won) in enumerate(rows)]
    m = market.Market()
    for o in lots[:split]:
        m.add(o)
    _ = m.findings()  # reading in between changes nothing
    for o in lots[split:]:
        m.add(o)
    key = lambda fs: sorted((f.indicator, f.lots, f.bidders) for f in fs)  # noqa: E731
    assert key(m.findings()) == key(market.indicators(lots))


def test_harness_finds_what_was_planted_and_nothing_on_honest_identities():
    report = harness.evaluate(harness.generate(seed=7, lots=600))
    assert report["same_payer"]["precision"] == 1.0 and report["same_payer"]["recall_by_scheme"]["payer"] == 1.0
    assert report["same_preparer"]["precision"] == 1.0 and report["same_preparer"]["recall_by_scheme"]["preparer"] == 1.0
    assert report["constant_gaps"]["precision"] == 1.0
    for name in ("same_contact", "same_address", "same_key", "mixed_documents"):
        assert report[name]["flagged"] == 0  # honest bidders never share an identity


def _state(m: market.Market):
    return (dict(m.outcomes), dict(m.bids), dict(m.wins), {k: set(v) for k, v in m.lots_of.items()},
            {k: dict(v) for k, v in m.losses_to.items()}, {k: set(v) for k, v in m.loss_lots.items()}, dict(m.pairs), set(m.strong), dict(m.flags))


ops = st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(0, 12),
              st.dictionaries(st.sampled_from("abcdefg"), st.integers(1, 10**6), min_size=1, max_size=5),
              st.integers(0, 5)),
    st.tuples(st.just("remove"), st.integers(0, 12), st.just({}), st.just(0)),
), max_size=60)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops, st.integers(0, 60))
def test_incremental_ticks_equal_a_full_recompute(sequence, tick_every):
    """Differential: lots folded in tick by tick — added, their result changed (replaced), withdrawn (removed) —
    leave exactly the counters and findings of a fresh Market over the final lots."""
    m = market.Market()
    final: dict[str, market.LotOutcome] = {}
    for i, (op, n, prices, w) in enumerate(sequence):
        lot = f"L{n}"
        if op == "add":
            winner = sorted(prices)[w % len(prices)] if w else None
            o = outcome(lot, prices, winner)
            m.add(o)
            final[lot] = o
        else:
            m.remove(lot)
            final.pop(lot, None)
        if tick_every and i % tick_every == 0:
            m.findings()  # a tick reads in between
    full = market.Market()
    for o in final.values():
        full.add(o)
    assert _state(m) == _state(full)
    key = lambda fs: sorted((f.indicator, f.lots, f.bidders, repr(sorted(f.evidence.items()))) for f in fs)  # noqa: E731
    assert key(m.findings()) == key(full.findings()) == key(market.indicators(list(final.values())))
