"""Once: a PL/pgSQL function that booked a matched payment and wrote its audit event itself.

Only the audit app writes audit tables, so that function is gone (migration 0006 drops it where it was
created); this migration is kept, empty, for the databases that applied it.
"""
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("deposits", "0003_bank_id_function"), ("audit", "0005_event_fewer_indexes")]
    operations = []
