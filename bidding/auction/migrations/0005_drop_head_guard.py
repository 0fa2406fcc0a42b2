from django.db import migrations

# Bids take one path now (services.place_bids, under the auction's row lock): the compare-and-set
# guard of the former fast path (migration 0004) has no caller.


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS auction_expect_head(bigint);")


class Migration(migrations.Migration):
    dependencies = [("auction", "0004_head_guard")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
