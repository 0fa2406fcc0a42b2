"""The event's uid (and the private context's event_uid) UNIQUE by one index: ``unique=True`` on a CharField
gave PostgreSQL a second, ``varchar_pattern_ops`` index for LIKE queries, which nothing runs and every
append paid for. The UNIQUE constraints stay as they are (same names); only the LIKE indexes go.

On SQLite the event table had lost its append-only triggers when 0005 rebuilt it (SQLite alters a column by
copying the table, and the copy has no triggers): they are installed again here, so that the embedded demo's
log refuses UPDATE and DELETE as PostgreSQL's does (tests/audit/test_sqlite_schema.py)."""

from django.db import migrations, models

from audit.triggers import append_only_sql

LIKE_INDEXES = (("audit_event", "uid"), ("audit_eventcontext", "event_uid"))


def _like_index_names(schema_editor, table: str, column: str) -> list[str]:
    with schema_editor.connection.cursor() as cur:
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
                    [table, f"%({column} varchar_pattern_ops)"])
        return [row[0] for row in cur.fetchall()]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for table, column in LIKE_INDEXES:
            for name in _like_index_names(schema_editor, table, column):
                schema_editor.execute(f'DROP INDEX "{name}"')
    elif vendor == "sqlite":
        for statement in append_only_sql(vendor, "audit_event")[1] + append_only_sql(vendor, "audit_event")[0]:
            schema_editor.execute(statement, None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table, column in LIKE_INDEXES:
            schema_editor.execute(f'CREATE INDEX "{table}_{column}_like" ON "{table}" ("{column}" varchar_pattern_ops)')


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0008_cosignature'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='event',
                    name='uid',
                    field=models.CharField(max_length=32),
                ),
                migrations.AlterField(
                    model_name='eventcontext',
                    name='event_uid',
                    field=models.CharField(max_length=32),
                ),
                migrations.AddConstraint(
                    model_name='event',
                    constraint=models.UniqueConstraint(fields=('uid',), name='audit_event_uid_key'),
                ),
                migrations.AddConstraint(
                    model_name='eventcontext',
                    constraint=models.UniqueConstraint(fields=('event_uid',), name='audit_eventcontext_event_uid_key'),
                ),
            ],
            database_operations=[migrations.RunPython(forward, reverse)],
        ),
    ]
