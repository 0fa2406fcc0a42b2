from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION deposits_bank_id() RETURNS bigint AS $$
DECLARE
    bid bigint;
BEGIN
    SELECT id INTO bid FROM deposits_account WHERE kind = 'bank';
    IF bid IS NULL THEN
        INSERT INTO deposits_account (kind, track, debits_posted, credits_posted, debits_pending, credits_pending,
                                      required_fen, status, winner, created_at)
        VALUES ('bank', false, 0, 0, 0, 0, 0, 'open', false, now()) ON CONFLICT DO NOTHING;
        SELECT id INTO bid FROM deposits_account WHERE kind = 'bank';
    END IF;
    RETURN bid;
END
$$ LANGUAGE plpgsql;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS deposits_bank_id();", None)


class Migration(migrations.Migration):
    dependencies = [("deposits", "0002_ledger_triggers")]
    operations = [migrations.RunPython(forward, reverse)]
