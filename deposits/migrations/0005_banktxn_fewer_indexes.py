"""Drop the ``varchar_pattern_ops`` twin Django adds beside the UNIQUE index of ``BankTxn.bank_txn_id`` on
PostgreSQL: it only serves LIKE / startswith queries, which nothing runs on bank transaction ids (lookups are
by equality or IN, served by the UNIQUE index), and every bank movement pays for maintaining it."""
from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cur:
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'deposits_banktxn' "
                    "AND indexname LIKE 'deposits_banktxn_bank_txn_id%%_like'")
        names = [r[0] for r in cur.fetchall()]
    for name in names:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"', None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('CREATE INDEX IF NOT EXISTS "deposits_banktxn_bank_txn_id_like" '
                              "ON deposits_banktxn (bank_txn_id varchar_pattern_ops)", None)


class Migration(migrations.Migration):
    dependencies = [("deposits", "0004_credit_function")]
    operations = [migrations.RunPython(forward, reverse)]
