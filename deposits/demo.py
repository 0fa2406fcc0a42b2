"""Demo data for the unified deposit account: payments (good and bad) into the sub-accounts the demo's
registrations opened, a suspense return, a forfeit awaiting countersignature, interest, and a
reconciled bank statement. Call ``deposits.demo.seed(world)`` from the demo loader (frontend.demo
SEEDERS), after the registrations exist. Uses only trading + deposits (never bidding)."""
from __future__ import annotations

import datetime as dt

import time_machine
from django.utils import timezone

from deposits import services
from deposits.bank.fake import BANK
from deposits.models import Account, SuspenseItem


def _pay(acc: Account, *, amount: int | None = None, payer=None, booked_at=None) -> None:
    org = acc.deposit_bidder
    name, account = payer or (org.name, org.bank_account or f"6222{org.pk:012d}")
    BANK.pay_in(sub_account=acc.deposit_number, amount_fen=acc.required_fen if amount is None else amount,
                payer_name=name, payer_account=account, remark="投标保证金 bid security", booked_at=booked_at)


def seed(world) -> dict:
    now = timezone.now()
    accounts = list(Account.objects.filter(kind="deposit").select_related("lot", "lot__project", "bidder").order_by("id"))
    done = {"paid": 0, "suspense": 0}
    by_lot: dict[int, list[Account]] = {}
    for acc in accounts:
        by_lot.setdefault(acc.deposit_lot.pk, []).append(acc)
    for lot_accounts in by_lot.values():
        lot = lot_accounts[0].deposit_lot
        before = lot.bid_deadline - dt.timedelta(days=2)
        when = before if before < now else now
        with time_machine.travel(when, tick=False):
            for i, acc in enumerate(lot_accounts):
                if i == len(lot_accounts) - 1 and len(lot_accounts) > 2:
                    _pay(acc, payer=("某某投资咨询有限公司 Some other company", "6217000011112222"), booked_at=when)
                    done["suspense"] += 1  # paid by a different company: suspense, staff decide
                elif i == 1 and lot.bid_deadline > now:
                    _pay(acc, amount=acc.required_fen - 10000, booked_at=when)
                    done["suspense"] += 1  # wrong amount
                else:
                    _pay(acc, booked_at=when)
                    done["paid"] += 1
    BANK.pay_in(sub_account="88660000000000000", amount_fen=500_000, payer_name="阳光市某建材商行",
                payer_account="6228480000000000", remark="保证金")  # unknown sub-account
    staff = world.staff
    # a wrong-amount payment returned to the payer (refund through the simulated bank)
    wrong = SuspenseItem.objects.filter(reason="wrong_amount", status="open").first()
    if wrong is not None:
        services.resolve_suspense(actor=staff, item=wrong, action="return", note="金额与保证金不符，原路退回 wrong amount, returned")
    # a forfeit request awaiting the supervisor's countersignature, on a lot past its deadline
    held = Account.objects.filter(kind="deposit", status="frozen", lot__bid_deadline__lt=now).order_by("id").first()
    if held is not None:
        services.request_forfeit(actor=staff, account=held, grounds="collusion",
                                 reason="监督部门通报：与其他投标人投标文件异常一致 (demo)")
    BANK.pay_interest(12_34)
    services.tick()
    imp = services.import_statement(data=BANK.statement(), filename="ICBC-demo-statement.csv", actor=staff)
    done["statement_reconciled"] = imp.reconciled
    return done
