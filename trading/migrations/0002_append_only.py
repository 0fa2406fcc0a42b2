"""Published notices, documents and recorded transitions are never edited or deleted."""
from django.db import migrations

from audit.triggers import append_only_operation


class Migration(migrations.Migration):
    dependencies = [("trading", "0001_initial")]
    operations = [
        append_only_operation("trading_notice"),
        append_only_operation("trading_document"),
        append_only_operation("trading_lottransition"),
    ]
