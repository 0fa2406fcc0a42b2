"""Write a self-verifying archive (zip) of one project's audit trail."""
from django.core.management.base import BaseCommand, CommandError

from audit import archive


class Command(BaseCommand):
    help = ("audit_export <project id or code> --out <file.zip> [--kind public|full]: signed manifest, events with "
            "proofs, checkpoint, documents. public withholds sealed and supervisor-only bodies (their hashes stay).")

    def add_arguments(self, parser):
        parser.add_argument("project")
        parser.add_argument("--out", required=True)
        parser.add_argument("--kind", default="public", choices=archive.KINDS)

    def handle(self, *args, project, out, kind, **options):
        try:
            manifest = archive.build(archive.resolve_project(project), out, kind=kind)
        except archive.ArchiveError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(
            f"wrote {out} ({kind}): {len(manifest['events'])} events of {manifest['project']['code'] or project}, "
            f"{manifest['status']}, checkpoint size {manifest['checkpoint']['size']}. "
            f"Verify with: sunlight-verify {out} --key '<the platform's published log key>'"))
