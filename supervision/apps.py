from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "supervision"
    verbose_name = "Electronic supervision 电子监察"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # this app's replay reducers, registered explicitly with the audit replay engine
        from audit import replay
        from supervision import replay as reducers

        replay.register(reducers)
