from django.db import migrations

from audit.triggers import append_only_operation


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_checkpoint_treenode_leaf")]
    operations = [
        append_only_operation("audit_leaf"),
        append_only_operation("audit_treenode"),
        append_only_operation("audit_checkpoint"),
    ]
