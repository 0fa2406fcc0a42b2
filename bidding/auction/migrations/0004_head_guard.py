from django.db import migrations

# The bid batch's fast path (services._decide_on_head) writes a batch decided against the newest
# state this process committed, in one round trip: its first statement updates the auction row
# only if it still holds that state's sequence number, and calls this function with the count of
# rows updated. Anything but one aborts the whole round trip as a serialization failure (SQLSTATE
# 40001): the batch is then decided again under the row lock.
CREATE = """
CREATE OR REPLACE FUNCTION auction_expect_head(matched bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF matched IS DISTINCT FROM 1 THEN
        RAISE EXCEPTION 'the auction changed since this server last wrote it'
            USING ERRCODE = 'serialization_failure';
    END IF;
END
$$;
"""
DROP = "DROP FUNCTION IF EXISTS auction_expect_head(bigint);"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("auction", "0003_numbers_append_only")]

    operations = [migrations.RunPython(forward, reverse)]
