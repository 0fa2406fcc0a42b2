from django.db import migrations

from audit.triggers import append_only_operation


class Migration(migrations.Migration):
    dependencies = [("auction", "0001_initial")]

    operations = [
        append_only_operation("auction_auctionevent"),
        append_only_operation("auction_auctionbid"),
    ]
