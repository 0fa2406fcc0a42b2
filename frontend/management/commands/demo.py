"""One command for the demo: migrate, load demo data if empty, run the deadline clock inside, serve on :8000."""
from __future__ import annotations

import threading
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from trading.models import Organisation


def clock_loop(stop: threading.Event, interval: float = 1.0) -> None:
    from django.db import close_old_connections

    from trading.clock import run_all_ticks

    while not stop.is_set():
        close_old_connections()
        run_all_ticks()
        stop.wait(interval)


class Command(BaseCommand):
    help = "Run the demo platform: migrate, load demo data, start the clock, serve http://127.0.0.1:8000"

    def add_arguments(self, parser):
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument("--no-serve", action="store_true", help="prepare only (used by tests)")

    def handle(self, *args, addrport, no_serve, **options):
        call_command("migrate", interactive=False, verbosity=0)
        from frontend.demo import PASSWORD

        if not Organisation.objects.exists():
            call_command("load_demo")
        else:
            from frontend.demo import DEMO_TOTP_SECRET

            self.stdout.write(f"Demo data already present. Every demo login uses the password {PASSWORD!r}: "
                              "admin, staff, supervisor, bidder1…bidder6, expert1…expert7. staff, supervisor and "
                              "admin then type a code from the demo authenticator: `.venv/bin/python manage.py "
                              f"demo_code`, or add the secret {DEMO_TOTP_SECRET} to a TOTP app.")
        if no_serve:
            return
        stop = threading.Event()
        threading.Thread(target=clock_loop, args=(stop,), daemon=True, name="sunlight-clock").start()
        self.stdout.write(self.style.SUCCESS(f"Deadline clock running inside. Open http://{addrport}/"))
        try:
            # DEBUG is off in the demo too (no debug pages): static files are served by runserver's --insecure
            call_command("runserver", addrport, use_reloader=False, insecure_serving=True)
        finally:
            stop.set()
            time.sleep(0.1)
