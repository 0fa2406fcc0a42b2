"""The auction's refusals in the request's language (issue 13): the engine decides with a stable code, the
parameters as data and an English sentence for logs; the API and the room's websocket answer with the
translated message of bidding/auction/messages.py, `code` the same in both languages.

(a) the engine's English sentence and the catalogue's English rendering are the same text, for every key the
    engine can give (a differential: the catalogue cannot drift from the engine);
(b) HTTP refusals with `Accept-Language: zh-hans` / `en`;
(c) the websocket: a bid refused and a malformed frame, in the handshake's language (header or cookie);
(d) the engine's configuration refusals through the service.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from bidding.auction import engine as E
from bidding.auction import messages as M
from bidding.auction.models import AuctionBid, AuctionEvent
from tests.auction.helpers import make_auction, sale_lot

CHINESE = re.compile(r"[\u4e00-\u9fff]")
T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def _decisions() -> list[E.Decision]:
    """One decision of every kind the engine gives."""
    out: list[E.Decision] = []
    cfg = E.Config(mode=E.MODE_AUCTION, starting_price_fen=100_000, increment_fen=1_000, max_jump=5)
    listing = E.Config(mode=E.MODE_LISTING, starting_price_fen=100_000, increment_fen=1_000)

    def run(config, state, command, at=T0):
        o = E.apply(config, state, command, at)
        out.append(o.decision)
        return o.state

    sched = E.initial_state(cfg, start_at=T0 + dt.timedelta(hours=1))
    run(cfg, sched, E.Bid("1", 100_000))                        # not_started
    run(cfg, sched, E.Tick())                                   # nothing_to_do.tick
    run(cfg, sched, E.Pause(""))                                # reason_required
    run(cfg, sched, E.Resume())                                 # wrong_phase.resume
    live = run(cfg, sched, E.Tick(), T0 + dt.timedelta(hours=1))  # ok.tick
    at = T0 + dt.timedelta(hours=1, seconds=1)
    run(cfg, live, E.Bid("1", 0), at)                           # invalid_amount
    run(cfg, live, E.Bid("", 100_000), at)                      # not_eligible.number
    run(cfg, live, E.Bid("1", 99_999), at)                      # too_low
    live = run(cfg, live, E.Bid("1", 100_000), at)              # ok.bid
    run(cfg, live, E.Bid("1", 101_000), at)                     # already_highest
    run(cfg, live, E.Bid("2", 101_500), at)                     # not_multiple
    run(cfg, live, E.Bid("2", 200_000), at)                     # too_high
    run(cfg, live, E.Continue("2"), at)                         # wrong_phase.continue
    paused = run(cfg, live, E.Pause("power cut"), at)           # ok.paused
    run(cfg, paused, E.Bid("2", 101_000), at)                   # paused
    run(cfg, paused, E.Pause("again"), at)                      # wrong_phase.pause
    live = run(cfg, paused, E.Resume(), at)                     # ok.resumed
    closed = E.apply(cfg, live, E.Tick(), at + dt.timedelta(days=1)).state
    run(cfg, closed, E.Bid("2", 101_000), at + dt.timedelta(days=1))  # closed
    run(cfg, closed, E.Cancel("challenge_upheld", " "), at)     # reason_required.cancel
    cancelled = run(cfg, closed, E.Cancel("challenge_upheld", "complaint upheld"), at)  # ok.cancelled
    run(cfg, cancelled, E.Cancel("challenge_upheld", "again"), at)  # nothing_to_do.cancel
    final = E.final_refusal(cfg, live, "2", 100_500)            # too_low (settled without the lock)
    assert final is not None
    out.append(final)

    ls = E.apply(listing, E.initial_state(listing, start_at=T0, end_at=T0 + dt.timedelta(days=10)), E.Tick(), T0).state
    run(listing, ls, E.Bid("1", 99_000))                        # too_low.listed
    posted = run(listing, ls, E.Bid("1", 100_000))              # ok.posted
    run(listing, posted, E.Bid("2", 100_500))                   # too_low.posted
    run(listing, posted, E.Continue("2"))                       # not_eligible.continue
    asked = run(listing, posted, E.Continue("1"))               # ok.continue
    run(listing, asked, E.Continue("1"))                        # nothing_to_do.continue
    eligible = dataclasses.replace(live, eligible=frozenset({"1"}))
    run(cfg, eligible, E.Bid("2", 101_000), at)                 # not_eligible.live
    return out


def test_the_catalogue_says_what_the_engine_says_in_english():
    decisions = _decisions()
    assert {d.key for d in decisions} == set(M.DECISIONS)  # every message reached, no key without its message
    with translation.override("en"):
        for d in decisions:
            assert M.decision(d) == d.message, d
    with translation.override("zh-hans"):
        for d in decisions:
            text = M.decision(d)
            assert CHINESE.search(text) and text != d.message, d
            for key, value in d.params.items():  # the numbers it names, amounts by the one money formatter
                if key.endswith("_fen"):
                    from trading.money import format_fen
                    assert format_fen(value) in text, (d, text)
        assert "暂停" in M.decision(E.Decision(False, E.WRONG_PHASE, "", "wrong_phase.pause", {"phase": "paused"}))


# --- (b) HTTP -------------------------------------------------------------------------------------------

def _client(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


@pytest.mark.django_db
def test_http_refusals_in_the_request_language(world, clock):
    a = make_auction(world, clock, open_now=True, users=world.bidders[:2])
    bidder, staff = _client(world.bidders[0]), _client(world.staff)
    before = AuctionEvent.objects.count(), AuctionBid.objects.count()
    cases = [  # (client, path, body, status, code, Chinese, English)
        (bidder, f"/api/auctions/{a.pk}/bids/", {"amount": "1.00", "ref": "r1"}, 400, "too_low",
         "出价不得低于 1000000.00 元", "The bid must be at least 1000000.00 yuan."),
        (bidder, f"/api/auctions/{a.pk}/bids/", {"amount": "1000000.01", "ref": "r2"}, 400, "not_multiple",
         "1000000.00 元加上整数个加价幅度", "The bid must be 1000000.00 yuan plus a whole number of increments"),
        (_client(world.bidders[3]), f"/api/auctions/{a.pk}/bids/", {"amount": "1000000.00", "ref": "r3"}, 403,
         "no_security", "您未获准参加本场拍卖", "You were not admitted to this auction"),
        (staff, f"/api/auctions/{a.pk}/bids/", {"amount": "1000000.00", "ref": "r4"}, 403, "not_a_bidder",
         "只有竞买人可以出价", "Only bidders may bid"),
        (staff, f"/api/auctions/{a.pk}/pause/", {"reason": " "}, 400, "reason_required", "暂停必须说明原因",
         "A reason is required to pause."),
        (staff, f"/api/auctions/{a.pk}/resume/", {}, 409, "wrong_phase",
         "无法恢复处于现场竞价状态的拍卖", "Cannot resume an auction that is live bidding."),
    ]
    for client, path, body, status, code, chinese, english in cases:
        zh = client.post(path, body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
        en = client.post(path, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
        assert zh.status_code == en.status_code == status, (path, zh.content, en.content)
        assert zh.json()["code"] == en.json()["code"] == code, (path, zh.json(), en.json())
        assert chinese in zh.json()["detail"] and CHINESE.search(zh.json()["detail"]), (path, zh.json())
        assert english in en.json()["detail"] and not CHINESE.search(en.json()["detail"].replace("竞买保证金", "")), (
            path, en.json())
        assert zh.json()["fields"] == en.json()["fields"]
    assert (AuctionEvent.objects.count(), AuctionBid.objects.count()) == before  # refusals changed nothing


# --- (c) the websocket --------------------------------------------------------------------------------

def _headers(user, *, language: str | None = None, cookie_language: str | None = None) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    cookies = []
    if user is not None:
        c = Client()
        c.force_login(user)
        cookies.append(f"sessionid={c.cookies['sessionid'].value}")
    if cookie_language:
        cookies.append(f"django_language={cookie_language}")
    if cookies:
        headers.append((b"cookie", "; ".join(cookies).encode()))
    if language:
        headers.append((b"accept-language", language.encode()))
    return headers


async def _answers(auction_id: int, headers, frames: list[dict | str]) -> list[dict]:
    from config.asgi import application

    comm = WebsocketCommunicator(application, f"/ws/auctions/{auction_id}/", headers=headers)
    connected, _ = await comm.connect(timeout=20)
    assert connected
    await comm.receive_from(timeout=20)  # the snapshot
    out = []
    for frame in frames:
        await comm.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))
        out.append(json.loads(await comm.receive_from(timeout=20)))
    await comm.disconnect()
    return out


@pytest.mark.django_db(transaction=True)
def test_websocket_answers_in_the_connection_language(world, clock):
    a = make_auction(world, clock, open_now=True, users=world.bidders[:2])
    frames: list[dict | str] = [{"type": "bid", "amount": "1.00", "ref": "low1"},             # settled by the room's view
              {"type": "bid", "amount": "1000000.01", "ref": "odd1"},       # decided under the lock
              "{not json", {"type": "bid", "amount": "1", "amount_fen": 1, "ref": "fen1"}]
    zh = async_to_sync(_answers)(a.pk, _headers(world.bidders[0], language="zh-hans"), frames)
    en = async_to_sync(_answers)(a.pk, _headers(world.bidders[0], language="en"),
                                 [{**f, "ref": f["ref"] + "e"} if isinstance(f, dict) else f for f in frames])
    cookie = async_to_sync(_answers)(a.pk, _headers(world.bidders[0], language="zh-hans", cookie_language="en"),
                                     frames[:1])
    default = async_to_sync(_answers)(a.pk, _headers(None), [{"type": "bid", "amount": "1000000.00", "ref": "w"}])
    assert [x["code"] for x in zh] == [x["code"] for x in en] == ["too_low", "not_multiple", "malformed", "malformed"]
    assert zh[0]["message"] == "出价不得低于 1000000.00 元。" and zh[0]["minimum"] == "1000000.00"
    assert en[0]["message"] == "The bid must be at least 1000000.00 yuan." and en[0]["minimum"] == "1000000.00"
    assert "加价幅度" in zh[1]["message"] and en[1]["message"].startswith("The bid must be 1000000.00 yuan plus")
    assert CHINESE.search(zh[2]["message"]) and en[2]["message"] == "frame is not valid JSON"
    assert "amount_fen" in zh[3]["message"] and CHINESE.search(zh[3]["message"])
    assert en[3]["message"].startswith('amount_fen: amounts are given as "amount"')
    assert cookie[0]["message"] == en[0]["message"]  # the language cookie wins over the header, as for pages
    assert default[0]["code"] == "not_a_bidder" and default[0]["message"] == "只有竞买人可以出价；此连接为只读。"
    assert not AuctionBid.objects.filter(auction=a).exists()


# --- (d) the engine's configuration refusals -----------------------------------------------------------

@pytest.mark.django_db
def test_configuration_refusals_are_translated(world, clock):
    from bidding.auction import services as S
    from trading.errors import Invalid

    lot = sale_lot(world)
    for language, expected in (("zh-hans", "加价幅度必须为正数"), ("en", "the increment must be positive")):
        with translation.override(language):
            with pytest.raises(Invalid) as caught:
                S.schedule_auction(lot=lot, actor=world.staff, increment_fen=0)
            assert caught.value.message == expected and caught.value.field == "increment_fen"
        assert caught.value.untranslated == "the increment must be positive"
