"""Demo data for live auctions and listings (called from frontend.demo SEEDERS as ``seed(world)``, after
the trading, deposits and envelope seeders; the clock ticks run after it).

Everything goes through the services with the clock moved (time_machine), each project's events in
time order; the securities are paid through the simulated bank, so ``deposits.is_secured`` holds:

- the trading demo's asset auction (88 Renmin Rd, starting tomorrow): bidder1..bidder3 registered and
  secured, the auction scheduled with a sealed reserve price;
- the trading demo's land listing: scheduled (its end is decided by the clock: live bidding if two or
  more ask for it, else the highest posted price), bidder1 and bidder2 secured, two prices posted;
- a finished land auction: bids from three bidders, deal (成交) with its result notice, the winner's
  security converted toward the price, the others refunded;
- then its transaction confirmation (成交确认书) and land-use contract: the clock completes it (deposits settled);
- a finished state-asset transfer by listing (挂牌): one posted price, sold at the listing's end, confirmed,
  contract signed (contracted, completed by the clock once the other bidder's security is refunded);
- a failed asset auction (流拍): the highest bid below the reserve, with its notice;
- an asset auction LIVE right now (opened a few minutes before the demo's "now", countdown rule with a
  30-minute countdown): bidder1..bidder3 secured, bidder3 has bid the starting price, bidder1/bidder2
  can bid in the browser at /auctions/<id>/.
"""
from __future__ import annotations

import datetime as dt
import hashlib

import time_machine
from django.utils import timezone

from bidding import services as bidding_services
from bidding.auction import services as S
from bidding.auction.models import Auction
from trading import services as trading
from trading.models import Lot
from trading.lifecycle import LotStatus

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
ELIGIBILITY = ["具有独立法人资格和有效的营业执照", "近三年内无重大违法记录"]


def _sale(world, *, kind: str, title: str, owner, lot_title: str, estimate_fen: int, security_fen: int,
          bid_deadline: dt.datetime, auction_start: dt.datetime, increment_fen: int, description: str) -> Lot:
    """Create and publish a one-lot auction project now (the travelled clock)."""
    spec = trading.LotSpec(title=lot_title, estimate_fen=estimate_fen, bid_deadline=bid_deadline,
                           security_fen=security_fen, auction_start=auction_start, increment_fen=increment_fen,
                           closing_rule="countdown", eligibility=list(ELIGIBILITY))
    project = trading.create_project(actor=world.staff, kind=kind, method="auction", title=title, owner=owner,
                                     agent=None, supervisor=world.supervisor_org, region="阳光市",
                                     budget_fen=estimate_fen, lots=[spec], description=description)
    trading.publish_project(actor=world.staff, project=project)
    return project.lots.get()


def _pay(lot: Lot, org) -> None:
    """The bidder pays its security through the simulated bank (a signed notification credits it)."""
    from deposits.bank.fake import BANK
    from deposits.models import Account

    acc = Account.objects.get(lot=lot, bidder=org, kind="deposit")
    BANK.pay_in(sub_account=acc.deposit_number, amount_fen=acc.required_fen, payer_name=org.name,
                payer_account=org.bank_account or f"6222{org.pk:012d}", remark="竞买保证金 bid security")


def _register_and_pay(world, lot: Lot, indexes, traveller) -> None:
    for i in indexes:
        bidding_services.register(actor=world.bidders[i], lot=lot,
                                  declaration=[{"condition": c, "met": True} for c in lot.eligibility])
        if lot.security_fen:
            _pay(lot, world.bidder_orgs[i])
        traveller.move_to(timezone.now() + HOUR)


def _open(auction: Auction, traveller, after: dt.timedelta = MINUTE) -> Auction:
    """The clock opens this auction (only this one: the other projects keep their own timelines)."""
    traveller.move_to(auction.start_at + after)
    S.advance_auction(auction=auction, now=timezone.now())
    auction.refresh_from_db()
    return auction


def _bids(world, auction: Auction, bids: list[tuple[int, int]], traveller, step=dt.timedelta(seconds=40)) -> None:
    """(bidder index, increments above the current price — 0 for the first bid at the starting price)."""
    for n, (i, steps) in enumerate(bids):
        auction.refresh_from_db()
        base = auction.price_fen if auction.leader else auction.starting_price_fen
        S.place_bid(auction=auction, user=world.bidders[i], amount_fen=base + steps * auction.increment_fen,
                    client_ref=f"demo-{auction.pk}-{n}", via="http")
        traveller.move_to(timezone.now() + step)


def _close(auction: Auction, traveller) -> Auction:
    auction.refresh_from_db()
    traveller.move_to(auction.end_at + MINUTE)
    S.advance_auction(auction=auction, now=timezone.now())
    auction.refresh_from_db()
    return auction


def _trading_demo_lot(method: str, kind: str) -> Lot | None:
    return (Lot.objects.filter(project__method=method, project__kind=kind, auction__isnull=True,
                               status__in=(LotStatus.PUBLISHED, LotStatus.LISTING))
            .select_related("project").order_by("id").first())


def _listing_start(lot: Lot) -> dt.datetime:
    """A listing lot's start: never missing (trading.periods refuses a listing without one)."""
    if lot.listing_start is None:
        raise ValueError(f"the listing lot {lot.pk} has no listing start")
    return lot.listing_start


def seed(world) -> dict:
    real_now = timezone.now()
    done: dict[str, int] = {}
    staff = world.staff

    # (a) the trading demo's asset auction, starting ~tomorrow: registered + secured bidders, a reserve
    asset = _trading_demo_lot("auction", "asset")
    if asset is not None:
        with time_machine.travel(asset.project.created_at + 8 * DAY, tick=False) as traveller:
            _register_and_pay(world, asset, [0, 1, 2], traveller)
            traveller.move_to(timezone.now() + DAY)
            a = S.schedule_auction(lot=asset, actor=staff, reserve_fen=asset.estimate_fen + 20 * asset.increment_fen)
        done["scheduled"] = a.pk

    # the trading demo's land listing: scheduled before its listing starts, two prices posted since
    land = _trading_demo_lot("listing", "land")
    if land is not None and _listing_start(land) > land.project.created_at + 6 * DAY:
        with time_machine.travel(land.project.created_at + 4 * DAY, tick=False) as traveller:
            listing = S.schedule_auction(lot=land, actor=staff, reserve_fen=land.estimate_fen)
            traveller.move_to(timezone.now() + DAY)
            _register_and_pay(world, land, [0, 1], traveller)
            listing = _open(listing, traveller, after=2 * HOUR)
            traveller.move_to(min(timezone.now() + DAY, real_now - 2 * DAY))
            _bids(world, listing, [(0, 0)], traveller)
            traveller.move_to(min(timezone.now() + DAY, real_now - DAY))
            _bids(world, listing, [(1, 1)], traveller)
        done["listing"] = listing.pk

    # (b) a finished land auction: three bidders, deal, result notice, winner's security converted
    with time_machine.travel(real_now - 38 * DAY, tick=False) as traveller:
        now = timezone.now()
        lot = _sale(world, kind="land", title="阳光市2026-03号地块国有建设用地使用权拍卖出让 Land parcel 2026-03 auction",
                    owner=world.tenderees[2], lot_title="2026-03号地块（工业用地，28,000㎡）Parcel 2026-03 (industrial)",
                    estimate_fen=3_200_000_000, security_fen=640_000_000, bid_deadline=now + 22 * DAY,
                    auction_start=now + 23 * DAY + 3 * HOUR, increment_fen=10_000_000,
                    description="拍卖起始价3200万元，竞买保证金640万元，加价幅度10万元。Starting price ¥32m.")
        traveller.move_to(now + DAY)
        _register_and_pay(world, lot, [0, 1, 2], traveller)
        traveller.move_to(timezone.now() + DAY)
        deal = S.schedule_auction(lot=lot, actor=staff, reserve_fen=3_240_000_000, countdown_s=300)
        deal = _open(deal, traveller)
        _bids(world, deal, [(0, 0), (1, 1), (2, 2), (0, 1), (1, 1), (2, 1), (1, 1)], traveller)
        deal = _close(deal, traveller)
        # the transaction confirmation (成交确认书) the same day, the land-use contract three days later; the
        # others' securities are refunded by then, so the clock completes the lot (deposits settled)
        traveller.move_to(timezone.now() + HOUR)
        S.issue_confirmation(actor=staff, auction=deal)
        traveller.move_to(timezone.now() + 3 * DAY)
        S.record_sale_contract(actor=staff, auction=deal, signed_on=timezone.localdate(), amount_fen=deal.price_fen,
                               documents=[{"name": "国有建设用地使用权出让合同（2026-03号地块）.pdf",
                                           "sha256": hashlib.sha256(b"demo land contract 2026-03").hexdigest()}])
    done["deal"] = deal.pk

    # (e) a state-asset transfer by listing (挂牌), finished: one posted price, the only bidder buys at it at the
    # listing's end; confirmation, contract (产权交易合同) signed
    with time_machine.travel(real_now - 45 * DAY, tick=False) as traveller:
        now = timezone.now()
        start = now + 21 * DAY
        spec = trading.LotSpec(title="阳光市国资集团所持阳光物流有限公司20%股权 20% of Sunshine Logistics Co.",
                               estimate_fen=1_500_000_000, security_fen=150_000_000, listing_start=start,
                               listing_end=start + 11 * DAY, bid_deadline=start + 10 * DAY, increment_fen=5_000_000,
                               closing_rule="countdown", eligibility=list(ELIGIBILITY))
        project = trading.create_project(
            actor=staff, kind="asset", method="listing", title="阳光物流有限公司20%股权转让（挂牌）Equity transfer by listing",
            owner=world.tenderees[3], agent=None, supervisor=world.supervisor_org, region="阳光市",
            budget_fen=spec.estimate_fen, lots=[spec], description="挂牌价1500万元，挂牌期11日。Listing price ¥15m.")
        trading.publish_project(actor=staff, project=project)
        lot = project.lots.get()
        traveller.move_to(now + DAY)
        sold = S.schedule_auction(lot=lot, actor=staff, reserve_fen=lot.estimate_fen)
        traveller.move_to(now + 2 * DAY)
        _register_and_pay(world, lot, [2, 3], traveller)
        sold = _open(sold, traveller, after=2 * HOUR)
        traveller.move_to(timezone.now() + DAY)
        _bids(world, sold, [(2, 0)], traveller)
        sold = _close(sold, traveller)
        traveller.move_to(timezone.now() + 2 * HOUR)
        S.issue_confirmation(actor=staff, auction=sold)
        traveller.move_to(timezone.now() + 2 * DAY)
        S.record_sale_contract(actor=staff, auction=sold, signed_on=timezone.localdate(), amount_fen=sold.price_fen,
                               documents=[{"name": "产权交易合同.pdf",
                                           "sha256": hashlib.sha256(b"demo equity transfer contract").hexdigest()}])
    done["listing_sold"] = sold.pk

    # (c) a failed asset auction (流拍): the highest bid stays below the reserve
    with time_machine.travel(real_now - 22 * DAY, tick=False) as traveller:
        now = timezone.now()
        lot = _sale(world, kind="asset", title="阳光市国资集团废旧设备拍卖 Surplus equipment auction",
                    owner=world.tenderees[3], lot_title="废旧机电设备一批 Used mechanical and electrical equipment",
                    estimate_fen=80_000_000, security_fen=8_000_000, bid_deadline=now + 9 * DAY,
                    auction_start=now + 10 * DAY + 2 * HOUR, increment_fen=1_000_000,
                    description="整体拍卖，起拍价80万元，设有保留价。Sold as a whole; reserve price set.")
        traveller.move_to(now + DAY)
        _register_and_pay(world, lot, [3, 4], traveller)
        failed = S.schedule_auction(lot=lot, actor=staff, reserve_fen=95_000_000, countdown_s=300)
        failed = _open(failed, traveller)
        _bids(world, failed, [(3, 0), (4, 1), (3, 2)], traveller)
        failed = _close(failed, traveller)
    done["failed"] = failed.pk

    # (d) live right now: opened 5 minutes ago, countdown 30 minutes, two hours of free bidding
    with time_machine.travel(real_now - 9 * DAY, tick=False) as traveller:
        now = timezone.now()
        lot = _sale(world, kind="asset", title="阳光市国资集团临街商铺拍卖 Street-front shop auction",
                    owner=world.tenderees[3], lot_title="解放路12号商铺 Shop unit, 12 Jiefang Rd",
                    estimate_fen=460_000_000, security_fen=46_000_000, bid_deadline=real_now - DAY,
                    auction_start=real_now - 5 * MINUTE, increment_fen=2_000_000,
                    description="建筑面积180平方米，起拍价460万元，加价幅度2万元。Shop of 180 m².")
        traveller.move_to(now + DAY)
        _register_and_pay(world, lot, [0, 1, 2], traveller)
        live = S.schedule_auction(lot=lot, actor=staff, reserve_fen=480_000_000, closing_rule="countdown",
                                  countdown_s=1800, live_duration_s=2 * 3600)
        live = _open(live, traveller, after=30 * dt.timedelta(seconds=1))
        traveller.move_to(timezone.now() + MINUTE)
        _bids(world, live, [(2, 0)], traveller)
    done["live"] = live.pk
    for i, (name, role, org) in enumerate(world.logins):
        if name in ("bidder1", "bidder2"):
            world.logins[i] = (name, role, f"{org} · 竞价进行中 live auction /auctions/{live.pk}/")
    return done
