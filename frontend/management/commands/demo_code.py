"""Print the demo authenticator's current code (the second step of the demo's staff, supervisor and admin)."""
from __future__ import annotations

import base64
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP


class Command(BaseCommand):
    help = "Print the current 6-digit code of the demo authenticator (demo only)."

    def handle(self, *args, **options):
        from frontend.demo import DEMO_TOTP_SECRET

        if settings.PRODUCTION:
            raise CommandError("demo_code is for the demo only")
        totp = TOTP(base64.b32decode(DEMO_TOTP_SECRET), 30, 0, 6)
        totp.time = time.time()
        self.stdout.write(f"{totp.token():06d}")
