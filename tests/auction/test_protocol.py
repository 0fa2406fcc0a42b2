"""Pure tests of the websocket frame parser (no database)."""
import json

import pytest
from hypothesis import given, strategies as st

from bidding.auction import engine as E
from bidding.auction import protocol as P


def test_bid_frame():
    f = P.parse_frame(json.dumps({"type": "bid", "amount": "1234.56", "ref": "a-1"}))
    assert f == P.BidFrame(amount_fen=123456, ref="a-1")
    ten = P.parse_frame('{"type":"bid","amount":"10","ref":"x"}')
    assert isinstance(ten, P.BidFrame) and ten.amount_fen == 1000


@pytest.mark.parametrize("text,code", [
    ("not json", E.MALFORMED),
    ("[1,2]", E.MALFORMED),
    ('{"type":"bid","amount":12.5,"ref":"a"}', E.MALFORMED),
    ('{"type":"bid","amount":"12.345","ref":"a"}', E.MALFORMED),
    ('{"type":"bid","amount":"-1","ref":"a"}', E.MALFORMED),
    ('{"type":"bid","amount":"1"}', E.MALFORMED),
    ('{"type":"bid","amount":"1","ref":"has space"}', E.MALFORMED),
    ('{"type":"resync","last_seq":-1}', E.MALFORMED),
    ('{"type":"resync","last_seq":true}', E.MALFORMED),
    ('{"type":"shout"}', E.MALFORMED),
    ('{"type":"bid","amount":"1","ref":"a","pad":"' + "x" * 3000 + '"}', E.TOO_LARGE),
])
def test_bad_frames(text, code):
    with pytest.raises(P.FrameError) as exc:
        P.parse_frame(text)
    assert exc.value.code == code and exc.value.message


def test_binary_refused():
    with pytest.raises(P.FrameError):
        P.parse_frame(None, b"\x00\x01")


def test_bad_amount_keeps_ref_for_the_answer():
    with pytest.raises(P.FrameError) as exc:
        P.parse_frame('{"type":"bid","amount":"1.234","ref":"r9"}')
    assert exc.value.ref == "r9"


@given(st.text(max_size=300))
def test_parser_never_crashes(text):
    try:
        P.parse_frame(text)
    except P.FrameError as exc:
        assert exc.code in (E.MALFORMED, E.TOO_LARGE)


@given(st.integers(min_value=0, max_value=10**15))
def test_amount_roundtrip(fen):
    assert P.parse_amount(f"{fen // 100}.{fen % 100:02d}") == fen
