"""manage.py create_organisation: a trading centre, supervising department, tenderee, agent or bidder."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from trading import services
from trading.errors import DomainError
from trading.models import Organisation


class Command(BaseCommand):
    help = "Create an organisation (the unified social credit code's check character is verified)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", required=True, choices=Organisation.Kind.values)
        parser.add_argument("--credit-code", required=True, help="统一社会信用代码, 18 characters")
        parser.add_argument("--region", default="")
        parser.add_argument("--name-en", default="")
        parser.add_argument("--bank-account", default="")
        parser.add_argument("--contact", default="")

    def handle(self, *args, **o):
        try:
            org = services.create_organisation(
                actor=None, name=o["name"], kind=o["kind"], credit_code_value=o["credit_code"], region=o["region"],
                name_en=o["name_en"], bank_account=o["bank_account"], contact=o["contact"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"organisation {org.pk} created: {org.name} ({org.kind}, {org.credit_code})")
