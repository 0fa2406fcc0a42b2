import json

from django.core.management.base import BaseCommand, CommandError

from trading.models import Project
from trading.ocds import release_package


class Command(BaseCommand):
    help = "Write the OCDS 1.1 release package of a project (by code or id)."

    def add_arguments(self, parser):
        parser.add_argument("project", help="project code (e.g. SL-2026-GC-00001) or id")
        parser.add_argument("--out", help="file to write (default: standard output)")

    def handle(self, *args, project, out=None, **options):
        qs = Project.objects.filter(code=project)
        if not qs.exists() and project.isascii() and project.isdigit():
            qs = Project.objects.filter(pk=int(project))
        found = qs.first()
        if found is None:
            raise CommandError(f"no project {project!r}")
        if not found.notices.exists():
            raise CommandError(f"project {found.code} has no published notice yet: nothing to export")
        text = json.dumps(release_package(found), ensure_ascii=False, indent=2)
        if out:
            with open(out, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
            self.stdout.write(f"wrote {out}")
        else:
            self.stdout.write(text)
