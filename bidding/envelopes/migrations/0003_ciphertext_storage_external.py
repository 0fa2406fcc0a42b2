"""Envelope ciphertext is incompressible (AES-GCM output): store it out of line without trying
pglz on every submission (STORAGE EXTERNAL), and read it back without a decompression step.
PostgreSQL only; nothing to do on SQLite."""
from django.db import migrations

TABLE, COLUMN = "envelopes_envelope", "ciphertext"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN {COLUMN} SET STORAGE EXTERNAL")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN {COLUMN} SET STORAGE EXTENDED")


class Migration(migrations.Migration):
    dependencies = [("envelopes", "0002_envelope_immutable")]
    operations = [migrations.RunPython(forwards, backwards)]
