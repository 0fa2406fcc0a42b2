import hashlib

from django.db import migrations, models


def fill_refs(apps, schema_editor):
    Alert = apps.get_model("supervision", "Alert")
    for alert in Alert.objects.filter(ref__isnull=True).only("pk", "key"):
        alert.ref = hashlib.sha256(alert.key.encode()).hexdigest()[:24]
        alert.save(update_fields=["ref"])


class Migration(migrations.Migration):
    dependencies = [("supervision", "0001_initial")]

    operations = [
        migrations.AddField(model_name="alert", name="ref", field=models.CharField(max_length=24, null=True)),
        migrations.RunPython(fill_refs, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="alert", name="ref",
            field=models.CharField(max_length=24, unique=True,
                                   help_text="public handle: a digest of the key (sequential ids would reveal, by their "
                                             "gaps, alerts still hidden before their deadline)")),
    ]
