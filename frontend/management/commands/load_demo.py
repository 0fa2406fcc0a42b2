from django.core.management.base import BaseCommand, CommandError

from trading.models import Organisation


class Command(BaseCommand):
    help = "Load the demo data (through the services, with a real audit trail) into an empty database."

    def handle(self, *args, **options):
        from frontend.demo import PASSWORD, load_demo

        if Organisation.objects.exists():
            raise CommandError("the database already has data; the demo loads only into an empty database")
        world = load_demo()
        self.stdout.write(self.style.SUCCESS("Demo data loaded. Logins (password for all: %s):" % PASSWORD))
        for username, role, org in world.logins:
            self.stdout.write(f"  {username:<12} {role:<11} {org}")
        if world.placeholder_calendar_years:
            years = ", ".join(map(str, world.placeholder_calendar_years))
            self.stdout.write(self.style.WARNING(
                f"The official working-day calendar for {years} is not known yet: the demo loaded a placeholder "
                f"(weekends and the fixed statutory dates only). A trading centre loads the State Council's "
                f"arrangement with `manage.py load_calendar`."))
        from frontend.demo import DEMO_TOTP_SECRET

        self.stdout.write(f"staff, supervisor and admin then type a code from the demo authenticator: "
                          f"`.venv/bin/python manage.py demo_code`, or add the secret {DEMO_TOTP_SECRET} to a TOTP app.")
