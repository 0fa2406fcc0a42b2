from django.apps import AppConfig


class AuctionConfig(AppConfig):
    name = "bidding.auction"
    label = "auction"
    verbose_name = "Live auctions and listings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # this app's replay reducers, registered explicitly with the audit replay engine
        from audit import replay
        from bidding.auction import replay as reducers

        replay.register(reducers)
