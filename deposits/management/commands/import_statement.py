"""python manage.py import_statement <file> [--user STAFF] [--json]: import and reconcile a bank statement."""
from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trading.errors import DomainError


class Command(BaseCommand):
    help = "Import a bank statement of the unified deposit account (CSV as Chinese banks export it, or camt.053 XML) and reconcile it."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--user", help="username of the staff member importing (audited)")
        parser.add_argument("--json", action="store_true", help="print the full reconciliation report as JSON")

    def handle(self, *args, file, user=None, **options):
        from deposits import conf
        from deposits.services import import_statement
        from trading.models import User

        path = Path(file)
        if not path.is_file():
            raise CommandError(f"no such file: {file}")
        if path.stat().st_size > conf.statement_max_bytes():
            raise CommandError(f"{file} is larger than {conf.statement_max_bytes()} bytes")
        actor = None
        if user:
            actor = User.objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"no such user: {user}")
        try:
            imp = import_statement(data=path.read_bytes(), filename=path.name, actor=actor)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        report = imp.report
        if options.get("json"):
            self.stdout.write(_dumps(report))
            return
        c = report["counts"]
        self.stdout.write(f"statement {imp.filename} ({imp.format}): {c['lines']} lines")
        self.stdout.write(f"  matched to ledger transfers: {c['matched']}")
        self.stdout.write(f"  booked now (notification missed): {c['booked_now']}")
        self.stdout.write(f"  differing from the ledger: {c['mismatched']}")
        self.stdout.write(f"  lines matching nothing: {c['unmatched_lines']}")
        self.stdout.write(f"  ledger transfers missing from the statement: {c['missing_from_statement']}")
        self.stdout.write(f"  closing balance {report['closing_fen']} fen, ledger {report['ledger_fen']} fen")
        if imp.reconciled:
            self.stdout.write(self.style.SUCCESS("RECONCILED"))
        else:
            self.stdout.write(self.style.ERROR("NOT RECONCILED -- see the report in the staff console"))


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)
