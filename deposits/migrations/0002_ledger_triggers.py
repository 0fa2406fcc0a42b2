from django.db import migrations

from deposits import triggers


def create_system_accounts(apps, schema_editor):
    from django.utils import timezone

    Account = apps.get_model("deposits", "Account")
    now = timezone.now()
    for kind in ("bank", "suspense", "forfeited", "converted", "interest"):
        Account.objects.get_or_create(kind=kind, defaults={"track": kind != "bank", "created_at": now})


class Migration(migrations.Migration):
    dependencies = [("deposits", "0001_initial")]

    operations = [
        migrations.RunPython(triggers.install, triggers.uninstall),
        migrations.RunPython(create_system_accounts, migrations.RunPython.noop),
    ]
