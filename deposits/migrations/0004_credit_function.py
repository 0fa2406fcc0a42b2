"""PostgreSQL only: ``deposits_credit(...)``, a matched bank payment booked in ONE round trip.

Called by ``deposits.intake.credit_in_one`` inside the service's ``transaction.atomic()``. In order:

1. serialise on the bank's transaction id (transaction-scoped advisory lock) and look it up: when it is
   already booked, return ``exists`` (Python compares the bodies, as before);
2. decide whether the payment is the plain case -- open (or frozen at the deadline but paid in time),
   booked before the deadline, paid by the registered bidder (exact name or bank account), completing
   exactly the required security. The test is deliberately narrower than ``deposits.rules.match_payment``
   (names are compared without normalising): in the plain case one ``UPDATE ... RETURNING`` sets ``paid_at``
   and locks the sub-account at once (re-checked on the newest row version if another transaction got there
   first); anything else locks the sub-account (``SELECT ... FOR UPDATE``) and returns ``slow`` with its row,
   and Python decides with the full rules in the same transaction (suspense, late notice, odd names);
3. in the plain case insert the transfer (bank + / sub-account -), its two postings (the counter trigger
   and the deferred balance / two-phase checks run as for every other transfer), insert
   the bank transaction row, and insert the audit event: its canonical JSON was made by Python
   (``audit.canonical.canonical_bytes``) with placeholders for the ids only the database knows
   (``p_parts`` = the text around them, ``p_slots`` = their names); the ids are plain integers, the
   sub-account number is digits only (checked) and the visibility is a fixed word, so splicing them in
   gives exactly the bytes ``json.dumps`` would.
"""
from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION deposits_credit(
    p_lock bigint, p_txn text, p_number text, p_amount bigint, p_booked timestamptz, p_now timestamptz,
    p_payer_norm text, p_payer_acc text, p_digest text, p_source text, p_sub text, p_payer text,
    p_payer_account text, p_remark text, p_uid text, p_parts text[], p_slots text[],
    OUT o_outcome text, OUT o_existing bigint, OUT o_transfer bigint, OUT o_txn bigint,
    OUT o_acc bigint, OUT o_dp bigint, OUT o_cp bigint, OUT o_dpe bigint, OUT o_cpe bigint, OUT o_number text,
    OUT o_lot bigint, OUT o_bidder bigint, OUT o_reg bigint, OUT o_required bigint, OUT o_status text,
    OUT o_winner boolean, OUT o_paid_at timestamptz, OUT o_frozen_at timestamptz, OUT o_created timestamptz,
    OUT o_deadline timestamptz, OUT o_project bigint, OUT o_bidder_name text, OUT o_bidder_bank text,
    OUT o_bank bigint)
AS $$
DECLARE
    vis text;
    canon text;
    piece text;
    i integer;
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock);
    SELECT b.id INTO o_existing FROM deposits_banktxn b WHERE b.bank_txn_id = p_txn;
    IF FOUND THEN
        o_outcome := 'exists';
        RETURN;
    END IF;
    IF p_number IS NULL THEN
        o_outcome := 'slow';
        RETURN;
    END IF;
    IF p_parts IS NOT NULL THEN
        -- the plain case, decided and locked in one statement: the UPDATE takes the row lock and, if another
        -- transaction changed the row meanwhile, re-checks these conditions on its newest version
        UPDATE deposits_account a SET paid_at = p_now
          FROM trading_lot l, trading_organisation o
         WHERE a.kind = 'deposit' AND a.number = p_number AND l.id = a.lot_id AND o.id = a.bidder_id
           AND (a.status = 'open' OR (a.status = 'frozen' AND a.frozen_at IS NOT NULL))
           AND p_booked < l.bid_deadline
           AND (o.name = p_payer_norm OR (p_payer_acc <> '' AND replace(o.bank_account, ' ', '') = p_payer_acc))
           AND a.credits_posted - a.debits_posted + p_amount = a.required_fen
           AND a.number ~ '^[0-9]+$' AND l.project_id IS NOT NULL
        RETURNING a.id, a.number, a.lot_id, a.bidder_id, l.bid_deadline, l.project_id
             INTO o_acc, o_number, o_lot, o_bidder, o_deadline, o_project;
    END IF;
    IF o_acc IS NULL THEN
        -- anything else: lock the sub-account (if it exists) and let Python apply the full rules
        SELECT a.id, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending, a.number, a.lot_id,
               a.bidder_id, a.registration_id, a.required_fen, a.status, a.winner, a.paid_at, a.frozen_at,
               a.created_at, l.bid_deadline, l.project_id, o.name, o.bank_account
          INTO o_acc, o_dp, o_cp, o_dpe, o_cpe, o_number, o_lot, o_bidder, o_reg, o_required, o_status, o_winner,
               o_paid_at, o_frozen_at, o_created, o_deadline, o_project, o_bidder_name, o_bidder_bank
          FROM deposits_account a JOIN trading_lot l ON l.id = a.lot_id
               JOIN trading_organisation o ON o.id = a.bidder_id
         WHERE a.kind = 'deposit' AND a.number = p_number
           FOR UPDATE OF a;
        o_outcome := 'slow';
        RETURN;
    END IF;

    o_bank := deposits_bank_id();
    INSERT INTO deposits_transfer (code, phase, purpose, pending_id, amount_fen, lot_id, actor_id, memo, created_at)
    VALUES ('in:' || p_txn, 'posted', 'credit', NULL, p_amount, o_lot, NULL, 'security received', p_now)
    RETURNING id INTO o_transfer;
    INSERT INTO deposits_posting (transfer_id, account_id, effect, amount)
    VALUES (o_transfer, o_bank, 'posted', p_amount), (o_transfer, o_acc, 'posted', -p_amount);
    INSERT INTO deposits_banktxn (bank_txn_id, body_sha256, source, direction, amount_fen, currency, sub_account,
                                  payer_name, payer_account, remark, booked_at, received_at, outcome, transfer_id,
                                  account_id)
    VALUES (p_txn, p_digest, p_source, 'credit', p_amount, 'CNY', p_sub, p_payer, p_payer_account, p_remark,
            p_booked, p_now, 'credited', o_transfer, o_acc)
    RETURNING id INTO o_txn;

    -- sealed before the deadline: who paid is secret until then
    vis := CASE WHEN p_now < o_deadline THEN 'sealed' ELSE 'supervisors' END;
    canon := p_parts[1];
    FOR i IN 1 .. coalesce(array_length(p_slots, 1), 0) LOOP
        piece := CASE p_slots[i]
            WHEN 'transfer' THEN o_transfer::text
            WHEN 'bank' THEN o_bank::text
            WHEN 'account' THEN o_acc::text
            WHEN 'bidder' THEN o_bidder::text
            WHEN 'lot' THEN o_lot::text
            WHEN 'project' THEN o_project::text
            WHEN 'number' THEN '"' || o_number || '"'
            WHEN 'visibility' THEN '"' || vis || '"'
            WHEN 'subject' THEN '"lot:' || o_lot::text || '"'
        END;
        IF piece IS NULL THEN
            RAISE EXCEPTION 'deposits_credit: unknown audit slot %', p_slots[i] USING ERRCODE = 'invalid_parameter_value';
        END IF;
        canon := canon || piece || p_parts[i + 1];
    END LOOP;
    IF canon IS NULL OR array_length(p_parts, 1) <> coalesce(array_length(p_slots, 1), 0) + 1 THEN
        RAISE EXCEPTION 'deposits_credit: malformed audit template' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO audit_event (uid, created_at, action, subject, project_id, actor_id, actor_label, actor_role,
                             visibility, canonical)
    VALUES (p_uid, p_now, 'deposit.credit', 'lot:' || o_lot::text, o_project, NULL, 'system', 'system', vis, canon);
    o_outcome := 'credited';
END
$$ LANGUAGE plpgsql;
"""

REVERSE = """
DROP FUNCTION IF EXISTS deposits_credit(bigint, text, text, bigint, timestamptz, timestamptz, text, text, text, text,
                                        text, text, text, text, text, text[], text[]);
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
