"""manage.py clock: the deadline clock without Celery — fire every due deadline now (`--once`) or every
`--interval` seconds until stopped. Each tick is idempotent and exactly-once with any number of clocks,
so this may run beside Celery beat (settings.CELERY_BEAT_SCHEDULE, task trading.tasks.clock_tick)."""
from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand

from trading.clock import run_all_ticks


class Command(BaseCommand):
    help = "Run the deadline clock's ticks (settings.SUNLIGHT_CLOCK_TICKS) once or in a loop."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one tick, print what fired, exit")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between ticks (loop mode)")

    def handle(self, *args, **o):
        while True:
            results = run_all_ticks()
            if o["once"]:
                self.stdout.write(json.dumps(results, sort_keys=True))
                failed = [name for name, n in results.items() if n == -1]
                if failed:
                    self.stderr.write("failed: " + ", ".join(failed))
                    raise SystemExit(1)
                return
            time.sleep(max(0.1, o["interval"]))
