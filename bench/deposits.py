"""Deposit ledger benchmark. Each figure beside a baseline measured in the same run.

    .venv/bin/python bench/deposits.py [--quick] [--ops N] [--lines N] [--rounds N]

Uses its own PostgreSQL database (``sunlight_deposits_bench``, dropped and migrated afresh).

(a) postings per second through the service layer (deposits.services.receive: a bank notification
    matched to a sub-account -> balanced transfer bank/sub-account + bank transaction + audit event,
    all in one transaction, with every database trigger on) with 8 concurrent writer processes, all
    money flowing through the one bank account; baseline: raw psycopg2 balanced transfers (INSERT
    transfer + 2 postings, the same tables and triggers) with 8 writers. Goal: service >= 50 % of raw.
    The machine is shared: the run makes 3 back-to-back (raw, service) pairs and reports the median of
    the per-pair ratios (and every pair). On PostgreSQL the service books a plain matched payment by the fast path
    (deposits/intake.py): one read (earlier booking of the bank's id, the sub-account, a transfer id), the
    payment judged by the deposit rules in Python, then one round trip that is its own transaction: advisory
    lock, the sub-account's paid_at (compare-and-set), transfer, postings, the audit event (made by the
    audit app: audit.services.events_statement) and the bank row. The run checks afterwards that every
    service transfer has its bank row and its audit event, byte-for-byte canonical.
(b) the hot-row question, measured: the same raw transfers but also keeping a running balance on
    the bank account row (what the design avoids) -- shows how one hot row serialises 8 writers.
(c) importing and reconciling a 100,000-line statement (GBK CSV) against a ledger holding those
    100,000 transfers. Goal <= 30 s; baseline: parsing the file alone.
Last line: one JSON object.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BENCH_DB = "sunlight_deposits_bench"
WRITERS = 8


def setup_django() -> str:
    os.environ.setdefault("DEBUG", "0")
    from bench.common import setup_django_on

    return setup_django_on(BENCH_DB)


def make_world(n_accounts: int):
    """One centre, one tender lot with a security, n sub-accounts (bulk, for setup speed)."""
    import datetime as dt

    from django.utils import timezone

    from deposits import conf, numbers
    from deposits.models import Account
    from tests import factories

    world = factories.make_world(bidders=1)
    project = factories.make_project(world, "engineering", "open_tender", publish=True)
    lot = project.lots.get()
    now = timezone.now()
    start = (Account.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000
    key, prefix = conf.number_key(), conf.number_prefix()
    rows = [Account(pk=start + i, kind="deposit", lot=lot, bidder=world.bidder_orgs[0], registration_id=10_000_000 + start + i,
                    required_fen=lot.security_fen, number=numbers.make_number(prefix, start + i, key), created_at=now)
            for i in range(n_accounts)]
    Account.objects.bulk_create(rows, batch_size=2000)
    from django.db import connection

    with connection.cursor() as cur:  # keep the id sequence ahead of the explicit ids
        cur.execute("SELECT setval(pg_get_serial_sequence('deposits_account','id'), (SELECT max(id) FROM deposits_account))")
    assert lot.bid_deadline > now + dt.timedelta(days=1)
    return world, lot, rows


def _service_writer(args):
    accounts, bidder_name, bank_account, tag = args
    import django

    django.setup()
    import datetime as dt

    from deposits.services import Incoming, receive
    from django.db import connections

    booked = dt.datetime.now(dt.timezone.utc)
    for i, (number, amount) in enumerate(accounts):
        receive(item=Incoming(bank_txn_id=f"{tag}-{i}-{number}", direction="credit", amount_fen=amount, booked_at=booked,
                              sub_account=number, payer_name=bidder_name, payer_account=bank_account))
    connections.close_all()
    return len(accounts)


def _raw_writer(args):
    url, account_ids, bank_id, tag, hot = args
    import psycopg2

    conn = psycopg2.connect(url)
    cur = conn.cursor()
    for i, acc in enumerate(account_ids):
        cur.execute("INSERT INTO deposits_transfer (code, phase, purpose, amount_fen, memo, created_at) "
                    "VALUES (%s, 'posted', 'credit', 100, '', now()) RETURNING id", [f"{tag}-{i}-{acc}"])
        tid = cur.fetchone()[0]
        cur.execute("INSERT INTO deposits_posting (transfer_id, account_id, effect, amount) VALUES "
                    "(%s, %s, 'posted', 100), (%s, %s, 'posted', -100)", [tid, bank_id, tid, acc])
        if hot:
            cur.execute("UPDATE bench_bank_balance SET fen = fen + 100 WHERE id = 1")
        conn.commit()
    conn.close()
    return len(account_ids)


def run_pool(fn, jobs) -> tuple[int, float]:
    from django.db import connections

    connections.close_all()
    ctx = mp.get_context("fork")
    with ctx.Pool(len(jobs)) as pool:
        t0 = time.perf_counter()
        done = sum(pool.map(fn, jobs))
        elapsed = time.perf_counter() - t0
    return done, elapsed


def bench_postings(url: str, ops: int, rounds: int) -> dict:
    """``rounds`` back-to-back pairs (raw, then service) on fresh sub-accounts; the machine is shared, so
    each pair is compared under the same load and the median of the per-pair ratios is the figure."""
    import statistics

    from django.db import connection

    from deposits.models import Posting
    from deposits.posting import bank

    per = ops // WRITERS
    world, lot, accounts = make_world(per * WRITERS * (2 * rounds + 1))
    bank_id = bank().pk
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_bank_balance (id int primary key, fen bigint not null)")
        cur.execute("INSERT INTO bench_bank_balance VALUES (1, 0) ON CONFLICT DO NOTHING")
    chunks = [accounts[i * per:(i + 1) * per] for i in range(WRITERS * (2 * rounds + 1))]
    org = world.bidder_orgs[0]
    pairs = []
    n_svc = 0
    # warm-up is part of each run's first ops; order per round: raw, service; then raw-hot once
    for r in range(rounds):
        base = 2 * r * WRITERS
        raw_jobs = [(url, [a.pk for a in chunks[base + i]], bank_id, f"raw{r}-{i}", False) for i in range(WRITERS)]
        n, t = run_pool(_raw_writer, raw_jobs)
        raw_rate = 2 * n / t
        before = Posting.objects.count()
        svc_jobs = [([(a.number, a.required_fen) for a in chunks[base + WRITERS + i]], org.name, org.bank_account,
                     f"svc{r}-{i}") for i in range(WRITERS)]
        n, t = run_pool(_service_writer, svc_jobs)
        svc_postings = Posting.objects.count() - before
        assert svc_postings == 2 * n, (svc_postings, n)
        n_svc += n
        pairs.append((round(raw_rate), round(svc_postings / t)))
        print(f"round {r + 1}: raw {pairs[-1][0]}/s, service {pairs[-1][1]}/s, ratio {pairs[-1][1] / pairs[-1][0]:.3f}",
              flush=True)
    _check_service_rows(n_svc)
    hot_jobs = [(url, [a.pk for a in chunks[2 * rounds * WRITERS + i]], bank_id, f"hot{i}", True)
                for i in range(WRITERS)]
    n_hot, t_hot = run_pool(_raw_writer, hot_jobs)
    hot_rate = 2 * n_hot / t_hot
    # single-writer service rate: does the service scale with writers (no hot row)?
    extra = make_world(per)[2]
    n1, t1 = run_pool(_service_writer, [([(a.number, a.required_fen) for a in extra], org.name, org.bank_account, "one")])
    one_rate = 2 * n1 / t1
    _check_ledger()
    return {"service_postings_per_s": round(statistics.median(s for _, s in pairs)),
            "raw_postings_per_s": round(statistics.median(r for r, _ in pairs)),
            "service_vs_raw": round(statistics.median(s / r for r, s in pairs), 3),
            "rounds_raw_service_postings_per_s": pairs,
            "raw_hot_bank_row_postings_per_s": round(hot_rate),
            "service_single_writer_postings_per_s": round(one_rate), "writers": WRITERS,
            "service_transfers": n_svc}


def _check_service_rows(n: int) -> None:
    """Every service transfer has its bank transaction row and its audit event (canonical bytes)."""
    import json

    from audit.canonical import canonical_bytes
    from audit.models import Event
    from deposits.models import BankTxn

    assert BankTxn.objects.filter(bank_txn_id__startswith="svc", outcome="credited").count() == n
    # (the statement part seeds its own events later; here only the service's credits exist)
    events = list(Event.objects.filter(action="deposit.credit").values_list("canonical", flat=True))
    assert len(events) == n, (len(events), n)
    for text in events[:: max(1, n // 200)]:
        assert canonical_bytes(json.loads(text)) == text.encode("utf-8")


def _check_ledger() -> None:
    from django.db.models import Sum

    from deposits.models import Account, Posting
    from deposits.posting import bank

    liab = Account.objects.exclude(kind="bank").aggregate(c=Sum("credits_posted"), d=Sum("debits_posted"))
    bank_sum = Posting.objects.filter(account=bank(), effect="posted").aggregate(s=Sum("amount"))["s"] or 0
    assert (liab["c"] or 0) - (liab["d"] or 0) == bank_sum, "ledger invariant broken"


def bench_statement(lines: int) -> dict:
    """Seed `lines` booked transfers (bulk: triggers off for the load, counters set after), then import a
    statement of exactly those lines and reconcile."""
    import datetime as dt
    import hashlib

    from django.db import connection, transaction
    from django.utils import timezone

    from deposits import conf
    from deposits import statements as S
    from deposits.models import BankTxn, Posting, StatementImport, Transfer
    from deposits.posting import bank, system_account
    from deposits.services import import_statement, ledger_bank_balance

    suspense = system_account("suspense")
    bank_acc = bank()
    opening = ledger_bank_balance()
    day = timezone.localdate() - dt.timedelta(days=1)
    tz = timezone.get_default_timezone()
    stmt_lines = []
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")  # bulk load: triggers off
        now = timezone.now()
        transfers = Transfer.objects.bulk_create(
            [Transfer(code=f"seed:{i}", phase="posted", purpose="suspense", amount_fen=100 + i % 1000, created_at=now)
             for i in range(lines)], batch_size=5000)
        Posting.objects.bulk_create(
            [p for t in transfers for p in (Posting(transfer=t, account=bank_acc, effect="posted", amount=t.amount_fen),
                                            Posting(transfer=t, account=suspense, effect="posted", amount=-t.amount_fen))],
            batch_size=10000)
        txns = []
        for i, t in enumerate(transfers):
            at = dt.datetime.combine(day, dt.time(8, 0), tzinfo=tz) + dt.timedelta(seconds=i % 36000)
            txns.append(BankTxn(bank_txn_id=f"S{i:09d}", body_sha256=hashlib.sha256(str(i).encode()).hexdigest(),
                                source="seed", direction="credit", amount_fen=t.amount_fen, payer_name=f"付款单位{i % 997}",
                                payer_account=f"6222{i:012d}", booked_at=at, received_at=now, outcome="suspense",
                                transfer=t, account=None))
            stmt_lines.append(S.StatementLine(line_no=0, bank_txn_id=f"S{i:09d}", direction=S.CREDIT,
                                              amount_fen=t.amount_fen, booked_on=day,
                                              booked_at=at.astimezone(tz).replace(tzinfo=None),
                                              counterparty_account=f"6222{i:012d}", counterparty_name=f"付款单位{i % 997}",
                                              remark="投标保证金"))
        BankTxn.objects.bulk_create(txns, batch_size=5000)
        total = sum(t.amount_fen for t in transfers)
        with connection.cursor() as cur:
            cur.execute("UPDATE deposits_account SET credits_posted = credits_posted + %s WHERE id = %s",
                        [total, suspense.pk])
    seeded = ledger_bank_balance(as_of_day=day)
    statement = S.Statement(format="csv", account=conf.unified_account()["number"], opening_balance_fen=seeded - total,
                            closing_balance_fen=seeded, lines=tuple(stmt_lines))
    data = S.write_csv(statement, encoding="gbk")
    t0 = time.perf_counter()
    parsed = S.parse_csv(data)
    parse_s = time.perf_counter() - t0
    assert len(parsed.lines) == lines
    t0 = time.perf_counter()
    imp = import_statement(data=data, filename="bench.csv")
    import_s = time.perf_counter() - t0
    assert imp.reconciled, imp.report["counts"]
    assert StatementImport.objects.count() >= 1
    _ = opening
    return {"statement_lines": lines, "statement_bytes": len(data), "statement_import_reconcile_s": round(import_s, 2),
            "statement_parse_only_s": round(parse_s, 2), "reconciled": imp.reconciled}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--ops", type=int, default=None, help="service transfers in total (split over 8 writers)")
    ap.add_argument("--lines", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=None, help="raw/service pairs (median ratio reported)")
    args = ap.parse_args()
    ops = args.ops or (800 if args.quick else 8000)
    lines = args.lines or (10_000 if args.quick else 100_000)
    url = setup_django()
    import logging

    logging.disable(logging.WARNING)
    a = bench_postings(url, ops, args.rounds or (2 if args.quick else 3))
    print(f"postings: {a}", flush=True)
    b = bench_statement(lines)
    print(f"statement: {b}", flush=True)
    result = {"bench": "deposits", "quick": args.quick, **a, **b, "goals": [
        {"name": "service postings/s vs raw psycopg2 (8 writers, one bank account)", "value": a["service_vs_raw"],
         "target": 0.5, "better": "higher"},
        {"name": f"import + reconcile a {lines}-line statement (s)", "value": b["statement_import_reconcile_s"],
         "target": 30, "better": "lower"},
    ]}
    import json

    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
