from django.db import migrations

from audit.triggers import append_only_operation


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [append_only_operation("audit_event")]
