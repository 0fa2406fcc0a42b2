"""Write a self-verifying archive (zip) of one project's audit trail."""
from django.core.management.base import BaseCommand, CommandError

from audit import archive


class Command(BaseCommand):
    help = "audit_export <project id or code> --out <file.zip>: events, proofs, signed checkpoint, key, document hashes."

    def add_arguments(self, parser):
        parser.add_argument("project")
        parser.add_argument("--out", required=True)

    def handle(self, *args, project, out, **options):
        try:
            manifest = archive.build(archive.resolve_project(project), out)
        except archive.ArchiveError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(
            f"wrote {out}: {manifest['event_count']} events of {manifest['project']['code'] or project}, "
            f"checkpoint size {manifest['checkpoint_size']}. Verify with: sunlight-verify {out}"))
