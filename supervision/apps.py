from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "supervision"
    verbose_name = "Electronic supervision 电子监察"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # explicit registration of this app's replay reducers with the audit replay engine
        from supervision import replay  # noqa: F401
