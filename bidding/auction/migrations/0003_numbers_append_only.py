from django.db import migrations

from audit.triggers import append_only_operation


class Migration(migrations.Migration):
    """A bidder number (竞买号), once given, never changes (the servers cache it)."""

    dependencies = [("auction", "0002_append_only")]

    operations = [append_only_operation("auction_biddernumber")]
