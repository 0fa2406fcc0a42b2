"""Load a year of the official calendar (public holidays and 调休 make-up working days).

    manage.py load_calendar 2027 --file 2027.json --source "国办发明电〔2026〕N号"
    manage.py load_calendar 2026 --from-library          # copy the chinesecalendar package's year

The file: {"source": "...", "holidays": {"2027-01-01": "元旦", ...}, "workdays": {"2027-02-07": "春节", ...}}
(lists of dates are accepted too). Loading a year again replaces it.
"""
import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from trading import services, workdays
from trading.errors import DomainError


def _days(value, working: bool) -> dict:
    items = value.items() if isinstance(value, dict) else ((d, "") for d in value)
    return {dt.date.fromisoformat(d): (working, str(name)) for d, name in items}


class Command(BaseCommand):
    help = "Load one year of the State Council's holiday arrangement into the working-day calendar."

    def add_arguments(self, parser):
        parser.add_argument("year", type=int)
        parser.add_argument("--file", help="JSON file with holidays and workdays")
        parser.add_argument("--from-library", action="store_true", help="take the year from the chinesecalendar package")
        parser.add_argument("--source", default="", help="the notice the arrangement comes from")

    def handle(self, *args, year, file=None, from_library=False, source="", **options):
        if bool(file) == bool(from_library):
            raise CommandError("give either --file or --from-library")
        if from_library:
            days = workdays.library_year(year)
            if not days:
                raise CommandError(f"the installed chinesecalendar does not know {year}")
            source = source or f"chinesecalendar {__import__('chinese_calendar').__version__}"
        else:
            try:
                with open(file, encoding="utf-8") as fh:
                    data = json.load(fh)
                days = {**_days(data.get("holidays", {}), False), **_days(data.get("workdays", {}), True)}
            except (OSError, ValueError, AttributeError, TypeError) as exc:
                raise CommandError(f"cannot read {file}: {exc}") from None
            source = source or str(data.get("source", ""))
        try:
            cal = services.load_calendar_year(actor=None, year=year, days=days, source=source)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"loaded {year}: {sum(1 for w, _ in days.values() if not w)} holidays, "
                          f"{sum(1 for w, _ in days.values() if w)} make-up working days ({cal.source})")
