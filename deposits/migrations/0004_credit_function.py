"""PostgreSQL only: ``deposits_credit(...)``, a matched bank payment booked in ONE statement (one round trip).

Called by ``deposits.intake.credit_in_one`` (from ``deposits.services.receive``). Outside a transaction the
statement is a transaction of its own (autocommit): all of it commits -- deferred balance checks included --
or none of it; inside the caller's ``transaction.atomic()`` it is simply part of that transaction. In order:

1. serialise on the bank's transaction id (transaction-scoped advisory lock); when that id is already
   booked, return ``exists`` (Python compares the bodies, as before) -- the check is part of step 2's
   statement, whose snapshot is taken after the lock;
2. decide whether the payment is the plain case -- open (or frozen at the deadline but paid in time),
   booked before the deadline, paid by the registered bidder (exact name or bank account), completing
   exactly the required security. The test is deliberately narrower than ``deposits.rules.match_payment``
   (names are compared without normalising). One ``UPDATE ... RETURNING`` decides, sets ``paid_at`` and
   locks the sub-account at once; if another transaction changed the row meanwhile, PostgreSQL re-checks
   the conditions on its newest version. Anything else returns ``slow`` having written nothing, and Python
   books it with the full rules (suspense with a reason, late notices, names written differently);
3. in the plain case insert, in one more statement, the transfer (bank + / sub-account -), its two postings
   (the counter trigger, the CHECKs and the deferred balance / two-phase checks run as for every other
   transfer), the bank transaction row and the audit event: its canonical JSON was made by Python
   (``audit.canonical.canonical_bytes``) with ``format()`` placeholders (``p_template``) where the values
   only the database knows go; they are plain integers, the sub-account number (digits only, checked
   above) and a fixed visibility word, so filling them in gives exactly the bytes ``json.dumps`` would,
   and the columns (uid, created_at, action, subject, project, actor, visibility) are those
   ``audit.record`` writes.
"""
from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION deposits_credit(
    p_lock bigint, p_txn text, p_number text, p_amount bigint, p_booked timestamptz, p_now timestamptz,
    p_payer_norm text, p_payer_acc text, p_digest text, p_source text, p_sub text, p_payer text,
    p_payer_account text, p_remark text, p_uid text, p_template text,
    OUT o_outcome text, OUT o_existing bigint, OUT o_transfer bigint, OUT o_txn bigint, OUT o_acc bigint)
AS $$
DECLARE
    o_bank bigint;
    o_bidder bigint;
    o_lot bigint;
    o_project bigint;
    o_number text;
    vis text;
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock);
    -- (a new statement, so its snapshot is taken after the lock: it sees what an earlier holder committed)
    IF p_number IS NOT NULL AND p_template IS NOT NULL THEN
        -- the plain case, decided and locked in one statement: the UPDATE takes the row lock and, if another
        -- transaction changed the row meanwhile, re-checks these conditions on its newest version
        UPDATE deposits_account a SET paid_at = p_now
          FROM trading_lot l, trading_organisation o, deposits_account bk
         WHERE a.kind = 'deposit' AND a.number = p_number AND l.id = a.lot_id AND o.id = a.bidder_id
           AND bk.kind = 'bank'
           AND NOT EXISTS (SELECT 1 FROM deposits_banktxn x WHERE x.bank_txn_id = p_txn)
           AND (a.status = 'open' OR (a.status = 'frozen' AND a.frozen_at IS NOT NULL))
           AND p_booked < l.bid_deadline
           AND (o.name = p_payer_norm OR (p_payer_acc <> '' AND replace(o.bank_account, ' ', '') = p_payer_acc))
           AND a.credits_posted - a.debits_posted + p_amount = a.required_fen
           AND a.number ~ '^[0-9]+$' AND l.project_id IS NOT NULL
        RETURNING a.id, bk.id, a.bidder_id, a.lot_id, l.project_id, a.number,
                  CASE WHEN p_now < l.bid_deadline THEN 'sealed' ELSE 'supervisors' END
             INTO o_acc, o_bank, o_bidder, o_lot, o_project, o_number, vis;
    END IF;
    IF o_acc IS NULL THEN
        SELECT x.id INTO o_existing FROM deposits_banktxn x WHERE x.bank_txn_id = p_txn;
        -- already booked, or anything else: Python compares / applies the full rules (deposits.services.receive)
        o_outcome := CASE WHEN o_existing IS NULL THEN 'slow' ELSE 'exists' END;
        RETURN;
    END IF;

    -- one statement for the rows: transfer, its postings, the bank transaction and the audit event.
    -- Visibility: sealed before the deadline (who paid is secret until then). p_template is the canonical
    -- text with %1$s .. %9$s where these values go (literal % doubled).
    WITH t AS (
        INSERT INTO deposits_transfer (code, phase, purpose, pending_id, amount_fen, lot_id, actor_id, memo, created_at)
        VALUES ('in:' || p_txn, 'posted', 'credit', NULL, p_amount, o_lot, NULL, 'security received', p_now)
        RETURNING id),
    p AS (
        INSERT INTO deposits_posting (transfer_id, account_id, effect, amount)
        SELECT t.id, o_bank, 'posted', p_amount FROM t UNION ALL SELECT t.id, o_acc, 'posted', -p_amount FROM t),
    b AS (
        INSERT INTO deposits_banktxn (bank_txn_id, body_sha256, source, direction, amount_fen, currency, sub_account,
                                      payer_name, payer_account, remark, booked_at, received_at, outcome, transfer_id,
                                      account_id)
        SELECT p_txn, p_digest, p_source, 'credit', p_amount, 'CNY', p_sub, p_payer, p_payer_account, p_remark,
               p_booked, p_now, 'credited', t.id, o_acc FROM t
        RETURNING id),
    e AS (
        INSERT INTO audit_event (uid, created_at, action, subject, project_id, actor_id, actor_label, actor_role,
                                 visibility, canonical)
        SELECT p_uid, p_now, 'deposit.credit', 'lot:' || o_lot::text, o_project, NULL, 'system', 'system', vis,
               format(p_template, t.id, o_bank, o_acc, o_bidder, o_lot, o_project, '"' || o_number || '"',
                      '"' || vis || '"', '"lot:' || o_lot::text || '"')
          FROM t)
    SELECT t.id, b.id INTO o_transfer, o_txn FROM t, b;
    o_outcome := 'credited';
END
$$ LANGUAGE plpgsql;
"""

REVERSE = """
DROP FUNCTION IF EXISTS deposits_credit(bigint, text, text, bigint, timestamptz, timestamptz, text, text, text, text,
                                        text, text, text, text, text, text);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE, None)


class Migration(migrations.Migration):
    dependencies = [("deposits", "0003_bank_id_function"), ("audit", "0005_event_fewer_indexes")]
    operations = [migrations.RunPython(forward, reverse)]
