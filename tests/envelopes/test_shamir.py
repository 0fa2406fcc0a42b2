"""Shamir k-of-n over GF(2**521-1): known answers, properties, k-1 hiding, corruption."""
import itertools
from collections import Counter

import pytest
from hypothesis import given, settings, strategies as st

from bidding.envelopes import shamir
from bidding.envelopes.shamir import Share, ShamirError


def test_known_answer_textbook_example_p1613():
    # The classic worked example: secret 1234, f(x) = 1234 + 166x + 94x^2 over GF(1613).
    shares = shamir.split_with_coefficients(1234, [166, 94], 6, prime=1613)
    assert [(s.x, s.y) for s in shares] == [(1, 1494), (2, 329), (3, 965), (4, 176), (5, 1188), (6, 775)]
    for subset in itertools.combinations(shares, 3):
        assert shamir.combine(subset, prime=1613) == 1234


def test_known_answer_m521():
    secret = int.from_bytes(bytes(range(32)), "big")
    shares = shamir.split_with_coefficients(secret, [7, 11], 5)
    assert shares[0].y == secret + 7 + 11
    assert shares[1].y == secret + 14 + 44
    assert shares[4].y == secret + 35 + 275
    assert shamir.combine([shares[4], shares[2], shares[0]]) == secret
    # values wrap around the Mersenne prime
    wrap = shamir.split_with_coefficients(shamir.PRIME - 1, [1], 2)
    assert [s.y for s in wrap] == [0, 1]
    assert shamir.combine(wrap) == shamir.PRIME - 1


@settings(max_examples=40, deadline=None)
@given(secret=st.binary(min_size=32, max_size=32), k=st.integers(1, 6), extra=st.integers(0, 4),
       data=st.data())
def test_any_k_of_n_rebuilds(secret, k, extra, data):
    n = k + extra
    shares = shamir.split_bytes(secret, k=k, n=n, context="lot-1")
    subset = data.draw(st.permutations(shares)).copy()[:data.draw(st.integers(k, n))]
    assert shamir.combine_bytes(subset) == secret
    # round trip through the text form
    assert shamir.combine_bytes([shamir.decode_share(s.encode()) for s in subset]) == secret


@settings(max_examples=30, deadline=None)
@given(secret=st.binary(min_size=32, max_size=32), k=st.integers(2, 5), extra=st.integers(0, 3))
def test_k_minus_one_shares_are_refused(secret, k, extra):
    shares = shamir.split_bytes(secret, k=k, n=k + extra, context="lot-1")
    with pytest.raises(ShamirError, match=f"{k - 1} share\\(s\\) given, {k} needed"):
        shamir.combine_bytes(shares[:k - 1])


@pytest.mark.parametrize("k", [2, 3])
def test_k_minus_one_shares_reveal_nothing_exhaustive(k):
    """Over a small field, enumerate every polynomial: the joint distribution of any
    k-1 shares is the same (uniform) whatever the secret, so they say nothing about it."""
    p = 11
    distributions = []
    for secret in range(p):
        counts: Counter[tuple[int, ...]] = Counter()
        for coeffs in itertools.product(range(p), repeat=k - 1):
            shares = shamir.split_with_coefficients(secret, list(coeffs), k + 1, prime=p)
            counts[tuple(s.y for s in shares[1:k])] += 1
        distributions.append(counts)
    assert all(d == distributions[0] for d in distributions)
    assert len(distributions[0]) == p ** (k - 1) and set(distributions[0].values()) == {1}


@settings(max_examples=30, deadline=None)
@given(secret=st.binary(min_size=32, max_size=32), k=st.integers(2, 5), delta=st.integers(1, 2**64),
       which=st.integers(0, 4))
def test_corrupted_share_detected_by_digest_and_changes_result(secret, k, delta, which):
    shares = shamir.split_bytes(secret, k=k, n=k, context="lot-9")
    digests = [shamir.share_digest(s) for s in shares]
    i = which % k
    bad = Share(x=shares[i].x, y=(shares[i].y + delta) % shamir.PRIME, k=k, context="lot-9")
    assert not shamir.share_matches(bad, digests[i])
    assert all(shamir.share_matches(s, d) for s, d in zip(shares, digests))
    corrupted = shares[:i] + [bad] + shares[i + 1:]
    try:
        assert shamir.combine_bytes(corrupted) != secret
    except ShamirError:
        pass  # rebuilt value out of key range: also detected


def test_combine_refuses_bad_sets():
    shares = shamir.split_bytes(b"\x01" * 32, k=2, n=3, context="lot-1")
    with pytest.raises(ShamirError, match="duplicate"):
        shamir.combine([shares[0], shares[0]])
    other = shamir.split_bytes(b"\x01" * 32, k=2, n=3, context="lot-2")
    with pytest.raises(ShamirError, match="different contexts"):
        shamir.combine([shares[0], other[1]])
    with pytest.raises(ShamirError, match="no shares"):
        shamir.combine([])
    with pytest.raises(ShamirError):
        shamir.split(5, k=3, n=2)
    with pytest.raises(ShamirError):
        shamir.split(5, k=0, n=2)


@pytest.mark.parametrize("text", [
    "", "hello", "sunlight-share:v2:lot-1:2:1:ff", "sunlight-share:v1:lot 1:2:1:ff",
    "sunlight-share:v1:lot-1:x:1:ff", "sunlight-share:v1:lot-1:2:0:ff", "sunlight-share:v1:lot-1:2:1:zz",
    "sunlight-share:v1:lot-1:2:1:ff:extra",
])
def test_decode_share_rejects_malformed(text):
    with pytest.raises(ShamirError):
        shamir.decode_share(text)
