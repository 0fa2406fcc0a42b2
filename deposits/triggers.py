"""Database-side rules of the ledger (PostgreSQL and SQLite), installed by migration 0002.

PostgreSQL: counters trigger, deferred balance / two-phase constraint triggers, append-only tables.
SQLite (demo): counters trigger and append-only tables; the balance rule is checked by the service.
"""
from __future__ import annotations

APPEND_ONLY = ("deposits_posting", "deposits_transfer", "deposits_banktxn")

PG_APPLY = """
CREATE OR REPLACE FUNCTION deposits_apply_posting() RETURNS trigger AS $$
BEGIN
    IF NEW.effect = 'posted' THEN
        IF NEW.amount > 0 THEN
            UPDATE deposits_account SET debits_posted = debits_posted + NEW.amount WHERE id = NEW.account_id AND track;
        ELSE
            UPDATE deposits_account SET credits_posted = credits_posted - NEW.amount WHERE id = NEW.account_id AND track;
        END IF;
    ELSIF NEW.effect = 'pending' THEN
        IF NEW.amount > 0 THEN
            UPDATE deposits_account SET debits_pending = debits_pending + NEW.amount WHERE id = NEW.account_id AND track;
        ELSE
            UPDATE deposits_account SET credits_pending = credits_pending - NEW.amount WHERE id = NEW.account_id AND track;
        END IF;
    ELSE
        IF NEW.amount > 0 THEN
            UPDATE deposits_account SET debits_pending = debits_pending - NEW.amount WHERE id = NEW.account_id AND track;
        ELSE
            UPDATE deposits_account SET credits_pending = credits_pending + NEW.amount WHERE id = NEW.account_id AND track;
        END IF;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""

PG_VERIFY = """
CREATE OR REPLACE FUNCTION deposits_verify_transfer(tid bigint) RETURNS void AS $$
DECLARE
    t deposits_transfer%ROWTYPE;
    p deposits_transfer%ROWTYPE;
    main_effect text;
    n integer;
BEGIN
    SELECT * INTO t FROM deposits_transfer WHERE id = tid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'posting refers to a missing transfer %', tid USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM deposits_posting WHERE transfer_id = tid GROUP BY effect HAVING sum(amount) <> 0) THEN
        RAISE EXCEPTION 'transfer % does not balance: its legs do not sum to zero', tid USING ERRCODE = 'check_violation';
    END IF;
    main_effect := CASE t.phase WHEN 'posted' THEN 'posted' WHEN 'pending' THEN 'pending' WHEN 'post' THEN 'posted' ELSE NULL END;
    IF main_effect IS NOT NULL THEN
        SELECT count(*) INTO n FROM deposits_posting WHERE transfer_id = tid AND effect = main_effect;
        IF n < 2 THEN
            RAISE EXCEPTION 'transfer % has fewer than two legs', tid USING ERRCODE = 'check_violation';
        END IF;
        IF (SELECT sum(amount) FROM deposits_posting WHERE transfer_id = tid AND effect = main_effect AND amount > 0) <> t.amount_fen THEN
            RAISE EXCEPTION 'transfer % amount does not match its legs', tid USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF t.phase IN ('posted', 'pending') THEN
        IF EXISTS (SELECT 1 FROM deposits_posting WHERE transfer_id = tid AND effect <> main_effect) THEN
            RAISE EXCEPTION 'transfer % mixes effects', tid USING ERRCODE = 'check_violation';
        END IF;
        RETURN;
    END IF;
    SELECT * INTO p FROM deposits_transfer WHERE id = t.pending_id;
    IF p.phase <> 'pending' THEN
        RAISE EXCEPTION 'transfer % resolves % which is not pending', tid, t.pending_id USING ERRCODE = 'check_violation';
    END IF;
    -- the release legs are exactly the pending legs
    IF EXISTS ((SELECT account_id, amount FROM deposits_posting WHERE transfer_id = p.id AND effect = 'pending'
                EXCEPT SELECT account_id, amount FROM deposits_posting WHERE transfer_id = tid AND effect = 'release')
               UNION ALL
               (SELECT account_id, amount FROM deposits_posting WHERE transfer_id = tid AND effect = 'release'
                EXCEPT SELECT account_id, amount FROM deposits_posting WHERE transfer_id = p.id AND effect = 'pending')) THEN
        RAISE EXCEPTION 'transfer % does not release exactly the pending legs of %', tid, p.id USING ERRCODE = 'check_violation';
    END IF;
    IF t.phase = 'void' THEN
        IF EXISTS (SELECT 1 FROM deposits_posting WHERE transfer_id = tid AND effect <> 'release') THEN
            RAISE EXCEPTION 'void % may only release', tid USING ERRCODE = 'check_violation';
        END IF;
    ELSE
        IF EXISTS ((SELECT account_id, amount FROM deposits_posting WHERE transfer_id = p.id AND effect = 'pending'
                    EXCEPT SELECT account_id, amount FROM deposits_posting WHERE transfer_id = tid AND effect = 'posted')
                   UNION ALL
                   (SELECT account_id, amount FROM deposits_posting WHERE transfer_id = tid AND effect = 'posted'
                    EXCEPT SELECT account_id, amount FROM deposits_posting WHERE transfer_id = p.id AND effect = 'pending')) THEN
            RAISE EXCEPTION 'post % does not post exactly the pending legs of %', tid, p.id USING ERRCODE = 'check_violation';
        END IF;
    END IF;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION deposits_check_posting() RETURNS trigger AS $$
BEGIN
    PERFORM deposits_verify_transfer(NEW.transfer_id);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION deposits_check_transfer() RETURNS trigger AS $$
BEGIN
    PERFORM deposits_verify_transfer(NEW.id);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""

PG_FORWARD = [
    PG_APPLY,
    "CREATE TRIGGER deposits_posting_apply AFTER INSERT ON deposits_posting "
    "FOR EACH ROW EXECUTE FUNCTION deposits_apply_posting();",
    PG_VERIFY,
    # checked at COMMIT, when all legs of the transfer are in
    "CREATE CONSTRAINT TRIGGER deposits_posting_balanced AFTER INSERT ON deposits_posting "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION deposits_check_posting();",
    "CREATE CONSTRAINT TRIGGER deposits_transfer_balanced AFTER INSERT ON deposits_transfer "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION deposits_check_transfer();",
]
PG_REVERSE = [
    "DROP TRIGGER IF EXISTS deposits_posting_apply ON deposits_posting;",
    "DROP TRIGGER IF EXISTS deposits_posting_balanced ON deposits_posting;",
    "DROP TRIGGER IF EXISTS deposits_transfer_balanced ON deposits_transfer;",
    "DROP FUNCTION IF EXISTS deposits_check_posting();",
    "DROP FUNCTION IF EXISTS deposits_check_transfer();",
    "DROP FUNCTION IF EXISTS deposits_verify_transfer(bigint);",
    "DROP FUNCTION IF EXISTS deposits_apply_posting();",
]


def _sqlite_apply(effect: str, sign: str, column: str, op: str) -> str:
    cond = "NEW.amount > 0" if sign == "+" else "NEW.amount < 0"
    name = f"deposits_posting_apply_{effect}_{'d' if sign == '+' else 'c'}"
    return (f"CREATE TRIGGER {name} AFTER INSERT ON deposits_posting WHEN NEW.effect = '{effect}' AND {cond} "
            f"BEGIN UPDATE deposits_account SET {column} = {column} {op} abs(NEW.amount) "
            f"WHERE id = NEW.account_id AND track; END;")


SQLITE_FORWARD = [
    _sqlite_apply("posted", "+", "debits_posted", "+"),
    _sqlite_apply("posted", "-", "credits_posted", "+"),
    _sqlite_apply("pending", "+", "debits_pending", "+"),
    _sqlite_apply("pending", "-", "credits_pending", "+"),
    _sqlite_apply("release", "+", "debits_pending", "-"),
    _sqlite_apply("release", "-", "credits_pending", "-"),
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS deposits_posting_apply_{e}_{s};" for e in ("posted", "pending", "release") for s in "dc"
]


def install(apps, schema_editor):
    from audit.triggers import append_only_sql

    vendor = schema_editor.connection.vendor
    statements = PG_FORWARD if vendor == "postgresql" else SQLITE_FORWARD if vendor == "sqlite" else None
    if statements is None:
        raise NotImplementedError(f"deposit ledger triggers are not written for {vendor}")
    for sql in statements:
        schema_editor.execute(sql, None)
    for table in APPEND_ONLY:
        for sql in append_only_sql(vendor, table)[0]:
            schema_editor.execute(sql, None)


def uninstall(apps, schema_editor):
    from audit.triggers import append_only_sql

    vendor = schema_editor.connection.vendor
    for table in APPEND_ONLY:
        for sql in append_only_sql(vendor, table)[1]:
            schema_editor.execute(sql, None)
    for sql in PG_REVERSE if vendor == "postgresql" else SQLITE_REVERSE:
        schema_editor.execute(sql, None)
