"""Recompute the whole audit tree from the events and check every stored hash and signature."""
from django.core.management.base import BaseCommand, CommandError

from audit.verify import verify_log


class Command(BaseCommand):
    help = "Verify the audit log: events -> leaves -> tree nodes -> signed checkpoints. Exit 1 on the first problem."

    def add_arguments(self, parser):
        parser.add_argument("--key", help="verifier key to check checkpoints against (default: the platform key)")

    def handle(self, *args, key=None, **options):
        result = verify_log(vkey=key)
        if not result.ok:
            raise CommandError(str(result), returncode=1)
        self.stdout.write(self.style.SUCCESS(str(result)))
