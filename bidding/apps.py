from django.apps import AppConfig


class BiddingConfig(AppConfig):
    name = "bidding"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # this app's replay reducers, registered explicitly with the audit replay engine
        from audit import replay
        from bidding import replay as reducers

        replay.register(reducers)
