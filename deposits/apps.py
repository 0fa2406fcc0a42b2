from django.apps import AppConfig


class DepositsConfig(AppConfig):
    name = "deposits"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # this app's replay reducers, registered explicitly with the audit replay engine
        from audit import replay
        from deposits import replay as reducers

        replay.register(reducers)
        # the Celery tasks, registered by name (services enqueue them by name: no import cycle)
        from deposits import tasks  # noqa: F401
