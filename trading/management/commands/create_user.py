"""manage.py create_user: an account of any role. The password comes from SUNLIGHT_NEW_PASSWORD or a
prompt, never from the command line (it would stay in the shell history and the process list)."""
from __future__ import annotations

import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from trading import services
from trading.errors import DomainError
from trading.models import Organisation, User


class Command(BaseCommand):
    help = "Create a user account: bidder, staff, supervisor or expert of an organisation, or an admin."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--role", required=True, choices=User.Role.values)
        parser.add_argument("--organisation", default="",
                            help="the organisation's unified social credit code (every role but admin)")
        parser.add_argument("--email", default="")
        parser.add_argument("--display-name", default="")

    def handle(self, *args, **o):
        org = None
        if o["organisation"]:
            org = Organisation.objects.filter(credit_code=o["organisation"].strip().upper()).first()
            if org is None:
                raise CommandError(f"no organisation with credit code {o['organisation']!r}")
        password = os.environ.get("SUNLIGHT_NEW_PASSWORD") or ""
        if not password:
            if not os.isatty(0):
                raise CommandError("set SUNLIGHT_NEW_PASSWORD or run in a terminal to type the password")
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("the two passwords differ")
        from django.contrib.auth.password_validation import validate_password
        from django.core.exceptions import ValidationError

        try:
            validate_password(password, user=User(username=o["username"], email=o["email"]))
            user = services.create_user(actor=None, username=o["username"], password=password, role=o["role"],
                                        organisation=org, email=o["email"], display_name=o["display_name"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"user {user.pk} created: {user.username} ({user.role})")
