"""Envelopes are immutable once accepted: the database itself refuses to change their content or
delete them (PostgreSQL and SQLite). Only status / ended_at move (replace / withdraw)."""
from django.db import migrations

PG = """
CREATE OR REPLACE FUNCTION envelopes_refuse_change() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'sealed envelopes are never deleted';
  END IF;
  IF NEW.ciphertext IS DISTINCT FROM OLD.ciphertext OR NEW.digest IS DISTINCT FROM OLD.digest
     OR NEW.signature IS DISTINCT FROM OLD.signature OR NEW.lot_id IS DISTINCT FROM OLD.lot_id
     OR NEW.bidder_id IS DISTINCT FROM OLD.bidder_id OR NEW.submitted_at IS DISTINCT FROM OLD.submitted_at
     OR NEW.receipt IS DISTINCT FROM OLD.receipt THEN
    RAISE EXCEPTION 'a sealed envelope''s content is never changed';
  END IF;
  IF OLD.status <> 'active' THEN
    RAISE EXCEPTION 'a replaced or withdrawn envelope is final';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER envelopes_envelope_immutable BEFORE UPDATE OR DELETE ON envelopes_envelope
  FOR EACH ROW EXECUTE FUNCTION envelopes_refuse_change();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS envelopes_envelope_immutable ON envelopes_envelope;
DROP FUNCTION IF EXISTS envelopes_refuse_change();
"""
SQLITE = [
    """CREATE TRIGGER envelopes_envelope_no_delete BEFORE DELETE ON envelopes_envelope
       BEGIN SELECT RAISE(ABORT, 'sealed envelopes are never deleted'); END;""",
    """CREATE TRIGGER envelopes_envelope_no_change BEFORE UPDATE ON envelopes_envelope
       WHEN NEW.ciphertext IS NOT OLD.ciphertext OR NEW.digest IS NOT OLD.digest
         OR NEW.signature IS NOT OLD.signature OR NEW.lot_id IS NOT OLD.lot_id
         OR NEW.bidder_id IS NOT OLD.bidder_id OR OLD.status <> 'active'
       BEGIN SELECT RAISE(ABORT, 'a sealed envelope''s content is never changed'); END;""",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS envelopes_envelope_no_delete;",
               "DROP TRIGGER IF EXISTS envelopes_envelope_no_change;"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG)
    elif schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE:
            schema_editor.execute(sql)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DROP)
    elif schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_DROP:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("envelopes", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
