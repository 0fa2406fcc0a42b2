"""Pure committee-draw tests (no database)."""

import hashlib
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidding.evaluation.draw import (
    Candidate, DrawError, commit, committee_split, draw, draw_statement, eligible, new_seed, order,
    statement_digest, verify,
)


def pool(n=30, orgs=10):
    return [Candidate(id=i, organisation_id=100 + i % orgs, specialities=frozenset({"civil" if i % 2 else "it"}),
                      region="sh" if i % 3 else "bj", available=i % 7 != 0)
            for i in range(1, n + 1)]


def test_commit_reveal():
    seed = new_seed()
    c = commit(seed)
    assert c == hashlib.sha256(seed).hexdigest() and len(c) == 64
    assert verify(seed, c)
    assert not verify(seed[:-1] + bytes([seed[-1] ^ 1]), c)
    assert not verify(b"short", c)
    with pytest.raises(DrawError):
        commit(b"tooshort")


@pytest.mark.parametrize("size, reps, experts", [(5, 0, 5), (5, 1, 4), (7, 2, 5), (9, 3, 6), (11, 3, 8)])
def test_committee_split_ok(size, reps, experts):
    assert committee_split(size, reps) == experts


@pytest.mark.parametrize("size, reps, message", [
    (4, 0, "odd"), (3, 0, "at least 5"), (6, 0, "odd"), (5, 2, "two thirds"), (7, 3, "two thirds"),
    (9, 4, "two thirds"), (5, -1, "non-negative"), (True, 0, "odd")])
def test_committee_split_bad(size, reps, message):
    with pytest.raises(DrawError, match=message):
        committee_split(size, reps)


def test_exclusions():
    cands = pool()
    ids, excluded = eligible(cands, tenderee_org=101, bidder_orgs=[102, 103], conflicts=[10],
                             specialities=["civil"])
    assert excluded[1] == "tenderee organisation" and excluded[11] == "tenderee organisation"
    assert excluded[2] == "bidder organisation" and excluded[13] == "bidder organisation"
    assert excluded[7] == "unavailable"
    assert excluded[4] == "speciality"
    assert 10 in excluded  # even id -> speciality it, also conflict; first reason wins
    for i in ids:
        c = cands[i - 1]
        assert c.organisation_id not in (101, 102, 103) and c.available and "civil" in c.specialities
    assert set(ids) | set(excluded) == {c.id for c in cands}


def test_not_enough_experts():
    with pytest.raises(DrawError, match="eligible"):
        draw(new_seed(), pool(6), size=7, tenderee_org=None, bidder_orgs=[])


@settings(max_examples=300, deadline=None)
@given(
    seed=st.binary(min_size=16, max_size=64),
    size=st.sampled_from([5, 7, 9, 11]),
    reps=st.integers(0, 3),
    n=st.integers(12, 60),
    bidders=st.lists(st.integers(100, 109), max_size=4),
    conflicts=st.lists(st.integers(1, 60), max_size=5),
    tenderee=st.integers(100, 109),
)
def test_draw_constraints_hold_for_any_seed(seed, size, reps, n, bidders, conflicts, tenderee):
    cands = pool(n)
    try:
        k = committee_split(size, reps)
    except DrawError:
        return
    try:
        r = draw(seed, cands, size=size, representatives=reps, tenderee_org=tenderee, bidder_orgs=bidders,
                 conflicts=conflicts, context="lot-1")
    except DrawError as exc:
        assert "eligible" in str(exc)
        return
    by_id = {c.id: c for c in cands}
    assert len(r.selected) == k == len(set(r.selected))
    assert 3 * len(r.selected) >= 2 * size and size % 2 == 1 and size >= 5
    for i in r.selected + r.reserves:
        c = by_id[i]
        assert c.organisation_id != tenderee and c.organisation_id not in bidders
        assert i not in conflicts and c.available
        assert i in r.eligible
    assert not set(r.selected) & set(r.reserves)
    # replay from the revealed seed gives the same committee
    again = draw(seed, list(reversed(cands)), size=size, representatives=reps, tenderee_org=tenderee,
                 bidder_orgs=list(reversed(bidders)), conflicts=conflicts, context="lot-1")
    assert again == r
    assert r.selected == order(seed, r.eligible, "lot-1")[:k]


def test_draw_is_roughly_uniform_and_seed_dependent():
    cands = [Candidate(id=i, organisation_id=None) for i in range(1, 21)]
    counts: Counter[int] = Counter()
    committees = set()
    runs = 2000
    for i in range(runs):
        seed = hashlib.sha256(f"seed-{i}".encode()).digest()
        r = draw(seed, cands, size=5, tenderee_org=None, bidder_orgs=[])
        counts.update(r.selected)
        committees.add(frozenset(r.selected))
    expected = runs * 5 / 20  # 500 each
    assert all(abs(counts[i] - expected) < 100 for i in range(1, 21)), counts
    assert len(committees) > 1500
    # the context separates lots: same seed, different lot, different order
    seed = hashlib.sha256(b"x").digest()
    assert order(seed, range(1, 21), "lot-1") != order(seed, range(1, 21), "lot-2")


def test_statement_digest_is_canonical():
    s1 = draw_statement(context="lot-1", size=5, representatives=0, eligible_ids=[3, 1, 2], commitment="ab")
    s2 = draw_statement(context="lot-1", size=5, representatives=0, eligible_ids=[1, 2, 3], commitment="ab")
    assert s1 == s2 and statement_digest(s1) == statement_digest(s2)
