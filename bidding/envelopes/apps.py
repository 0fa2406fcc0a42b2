from django.apps import AppConfig


class EnvelopesConfig(AppConfig):
    name = "bidding.envelopes"
    label = "envelopes"
    default_auto_field = "django.db.models.BigAutoField"
