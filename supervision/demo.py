"""Demo data for electronic supervision (frontend.demo SEEDERS, after the evaluation seeder):

- a planted cartel: 北辰, 南山 and 金石 bid for the East Lake park tender with their deposits paid from one
  bank account and their prices at exact 2 % steps (a cover-bidding pattern); 东方 bids honestly. The
  screens flag it (deemed collusion art. 40 (6): same payer; art. 40 (4): prices at constant gaps) once
  the bid deadline has passed;
- a late step: its evaluation report came in 4 days ago and the candidates are still not publicised
  (3 days allowed): a red card;
- a step running late right now: a tender whose bids closed two hours ago and that nobody has opened
  (opening is due at the deadline): a red card on the opening clock.

The alerts themselves are raised by the supervision tick that the loader runs at the end, as in
production (nothing here writes an alert).
"""
from __future__ import annotations

import datetime as dt

import time_machine
from django.utils import timezone

from bidding import services as bidding_services
from bidding.envelopes import demo as envelopes_demo
from bidding.evaluation import demo as evaluation_demo
from bidding.evaluation import services as ev
from deposits.bank.fake import BANK
from deposits.models import Account

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
CARTEL = (3, 1, 5)  # 北辰置业, 南山路桥, 金石投资 (indexes into the demo bidders)
HONEST = 0  # 东方建设
SHARED_ACCOUNT = "6222 0300 8888 0001"


def _register_and_pay(world, lot, i: int, *, payer_account: str | None, traveller) -> None:
    org = world.bidder_orgs[i]
    bidding_services.register(actor=world.bidders[i], lot=lot,
                              declaration=[{"condition": c, "met": True} for c in lot.eligibility])
    acc = Account.objects.get(lot=lot, bidder=org, kind="deposit")
    BANK.pay_in(sub_account=acc.number or "", amount_fen=acc.required_fen, payer_name=org.name,
                payer_account=payer_account or org.bank_account, remark="投标保证金 bid security")
    traveller.move_to(timezone.now() + 3 * HOUR)


def seed(world) -> dict:
    envelopes_demo.ensure_keys(world)
    evaluation_demo.ensure_experts(world)
    real_now = timezone.now()
    done: dict = {}
    with time_machine.travel(real_now - 40 * DAY, tick=False) as traveller:
        lot = envelopes_demo.tender(
            world, title="阳光市东湖公园景观提升工程 East Lake park landscape upgrade", lot_title="施工 Construction",
            owner=world.tenderees[0], estimate_fen=980_000_000, evaluation_method="lowest_evaluated_price",
            description="园路、驳岸、照明及绿化提升。Paths, embankments, lighting and planting.")
        traveller.move_to(timezone.now() + DAY)
        _register_and_pay(world, lot, HONEST, payer_account=None, traveller=traveller)
        for i in CARTEL:  # one account pays for three "competitors"
            _register_and_pay(world, lot, i, payer_account=SHARED_ACCOUNT, traveller=traveller)
        winner = 8_820_000_00
        prices = {CARTEL[0]: winner, CARTEL[1]: winner * 102 // 100, CARTEL[2]: winner * 104 // 100,
                  HONEST: 9_460_000_00}
        for i, price in prices.items():
            traveller.move_to(timezone.now() + 2 * DAY)
            envelopes_demo.submit(world, lot, i, f"{price // 100}.{price % 100:02d}")
        envelopes_demo.close_and_open(world, lot, traveller)
        traveller.move_to(timezone.now() + DAY)
        evaluation_demo._draw_and_start(world, lot, traveller)
        evaluation_demo._sheets(world, lot, traveller)
        traveller.move_to(real_now - 4 * DAY)
        ev.report_evaluation(actor=world.staff, lot=lot)  # …and nobody publishes the candidates: a red card
        done["cartel"] = lot.pk

    # bids closed two hours ago; the opening (due at the deadline) has not happened
    with time_machine.travel(real_now - 20 * DAY - 8 * HOUR, tick=False) as traveller:
        late = envelopes_demo.tender(
            world, kind="procurement", title="阳光市图书馆数字化设备采购 Library digitisation equipment",
            lot_title="扫描及存储设备 Scanners and storage", owner=world.tenderees[1], estimate_fen=156_000_000,
            description="古籍扫描仪、存储阵列。Book scanners and a storage array.")
        traveller.move_to(timezone.now() + DAY)
        envelopes_demo.register_and_pay(world, late, [2, 4], traveller=traveller)
        for i, price in ((2, "1498000.00"), (4, "1523500.00")):
            traveller.move_to(timezone.now() + DAY)
            envelopes_demo.submit(world, late, i, price)
        envelopes_demo.close(late, traveller)
        done["late_opening"] = late.pk
    return done
