from django.apps import AppConfig


class AuctionConfig(AppConfig):
    name = "bidding.auction"
    label = "auction"
    verbose_name = "Live auctions and listings"
    default_auto_field = "django.db.models.BigAutoField"
