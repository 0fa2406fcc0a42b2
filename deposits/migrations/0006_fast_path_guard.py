"""PostgreSQL only. Drop ``deposits_credit`` (it wrote audit events itself; only the audit app does), and add
``deposits_expect_one(n)``, the guard of the fast path (deposits/intake.py): it aborts the round trip with
SQLSTATE 40001 unless the compare-and-set on the sub-account changed exactly one row."""
from django.db import migrations

FORWARD = r"""
DROP FUNCTION IF EXISTS deposits_credit(bigint, text, text, bigint, timestamptz, timestamptz, text, text, text, text,
                                        text, text, text, text, text, text);
CREATE OR REPLACE FUNCTION deposits_expect_one(n bigint) RETURNS void AS $$
BEGIN
    IF n <> 1 THEN
        RAISE EXCEPTION 'the sub-account changed since the payment was judged' USING ERRCODE = '40001';
    END IF;
END
$$ LANGUAGE plpgsql;
"""

REVERSE = "DROP FUNCTION IF EXISTS deposits_expect_one(bigint);"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE, None)


class Migration(migrations.Migration):
    dependencies = [("deposits", "0005_banktxn_fewer_indexes")]
    operations = [migrations.RunPython(forward, reverse)]
