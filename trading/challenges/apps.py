from django.apps import AppConfig


class ChallengesConfig(AppConfig):
    name = "trading.challenges"
    label = "challenges"
    verbose_name = "Objections, complaints and disclosure requests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # this app's replay reducers, registered explicitly with the audit replay engine
        from audit import replay
        from trading.challenges import replay as reducers

        replay.register(reducers)
