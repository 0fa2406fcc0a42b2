"""SQL for append-only tables, used by migrations of any app that has insert-only tables."""
from __future__ import annotations

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION sunlight_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
"""


def append_only_sql(vendor: str, table: str) -> tuple[list[str], list[str]]:
    """(forward, reverse) SQL statements making `table` refuse UPDATE, DELETE and TRUNCATE."""
    if vendor == "postgresql":
        forward = [
            PG_FUNCTION,
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION sunlight_refuse_change();",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION sunlight_refuse_change();",
        ]
        reverse = [
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};",
        ]
    elif vendor == "sqlite":
        forward = [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'table {table} is append-only: UPDATE refused'); END;",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'table {table} is append-only: DELETE refused'); END;",
        ]
        reverse = [f"DROP TRIGGER IF EXISTS {table}_no_update;", f"DROP TRIGGER IF EXISTS {table}_no_delete;"]
    else:
        raise NotImplementedError(f"append-only triggers are not written for {vendor}")
    return forward, reverse


def append_only_operation(table: str):
    """A migration operation installing the append-only triggers for the current database vendor."""
    from django.db import migrations

    def forward(apps, schema_editor):
        for sql in append_only_sql(schema_editor.connection.vendor, table)[0]:
            schema_editor.execute(sql, None)

    def reverse(apps, schema_editor):
        for sql in append_only_sql(schema_editor.connection.vendor, table)[1]:
            schema_editor.execute(sql, None)

    return migrations.RunPython(forward, reverse)
