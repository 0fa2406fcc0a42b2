"""The one list helper of the pages: search, filters and paging (Django's Paginator), for a QuerySet or a list.

A view describes its list once — the fields the search box looks in and its filters — and gets back the page,
the parameters as typed (to refill the form) and the query string for the pager's links; the templates
``frontend/_list_filters.html`` and ``frontend/_pager.html`` draw them. A filter value that is not one of its
choices, or a date that is not a date, is an error (the view answers 400 with an empty page), never a 500.
"""
from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

MAX_QUERY = 100  # characters of a search or text filter kept (longer input is cut, never an error)


@dataclass(frozen=True)
class Filter:
    """One filter of a list. ``kind``: "choice" (one of ``choices``), "text" (contains), "from"/"to" (a date,
    inclusive, on a date-time field in Beijing time). ``lookup`` is an ORM path ("project__kind"); on a list
    of objects or dicts the same path is followed attribute by attribute."""

    name: str
    label: Any
    lookup: str
    kind: str = "choice"
    choices: Sequence[tuple[str, Any]] = ()
    distinct: bool = False  # the lookup crosses a to-many relation
    default: str = ""  # the value when the parameter is absent ("?name=" then means: no filter)
    where: Callable[[str], Q] | None = None  # on a QuerySet, the condition for a value instead of ``lookup``
    # (e.g. one that must not match rows whose value is masked on the page)


@dataclass
class ListPage:
    page: Page
    params: dict[str, str]
    query: str  # the filters and search as a query string, without the page number
    filters: Sequence[Filter]
    search: bool
    search_label: Any
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> int:
        return 400 if self.error else 200


def _path(obj: Any, lookup: str) -> Any:
    for part in lookup.split("__"):
        if obj is None:
            return None
        obj = obj.get(part) if isinstance(obj, dict) else getattr(obj, part, None)
    return obj


def _local_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value if isinstance(value, dt.date) else None


def _date(raw: str) -> dt.date | None:
    try:
        return parse_date(raw)
    except ValueError:  # well formed but impossible, e.g. 2026-02-30
        return None


def list_page(request, rows: QuerySet | Sequence[Any], *, search: Sequence[str | Callable[[str], Q]] = (),
              filters: Sequence[Filter] = (),
              per_page: int = 25, search_label: Any = None,
              text_of: Callable[[Any], str] | None = None) -> ListPage:
    """Search (``q``: every word must appear in one of the ``search`` fields — on a QuerySet a field may also be
    a function of the word giving the condition), filters, then the requested page (out of range: the last page)."""
    params = {"q": request.GET.get("q", "").strip()[:MAX_QUERY]} if search else {}
    for f in filters:
        params[f.name] = request.GET.get(f.name, f.default).strip()[:MAX_QUERY]
    error = ""
    is_qs = isinstance(rows, QuerySet)
    items: Any = rows if is_qs else list(rows)
    distinct = False
    for f in filters:
        raw = params[f.name]
        if not raw:
            continue
        if f.kind == "choice":
            if raw not in {str(v) for v, _label in f.choices}:
                error = "invalid_choice"
                continue
            if is_qs:
                items = items.filter(f.where(raw) if f.where else Q(**{f.lookup: raw}))
            else:
                items = [r for r in items if str(_path(r, f.lookup)) == raw]
        elif f.kind == "text":
            if is_qs:
                items = items.filter(f.where(raw) if f.where else Q(**{f"{f.lookup}__icontains": raw}))
            else:
                items = [r for r in items if raw.lower() in str(_path(r, f.lookup) or "").lower()]
        elif f.kind in ("from", "to"):
            day = _date(raw)
            if day is None:
                error = "invalid_date"
                continue
            op = "gte" if f.kind == "from" else "lte"
            if is_qs:
                items = items.filter(**{f"{f.lookup}__date__{op}": day})
            else:
                compare = operator.ge if f.kind == "from" else operator.le
                items = [r for r in items if (d := _local_date(_path(r, f.lookup))) is not None and compare(d, day)]
        else:  # a programming error in the view's description, not the visitor's
            raise ValueError(f"unknown filter kind {f.kind!r}")
        distinct = distinct or f.distinct
    words = params.get("q", "").split()
    if words:
        if is_qs:
            for word in words:
                items = items.filter(reduce(operator.or_, (
                    Q(**{f"{s}__icontains": word}) if isinstance(s, str) else s(word) for s in search)))
        else:
            def text(r: Any) -> str:
                return (text_of(r) if text_of else " ".join(str(_path(r, s) or "") for s in search
                                                            if isinstance(s, str))).lower()
            items = [r for r in items if all(w.lower() in text(r) for w in words)]
    if is_qs and distinct:
        items = items.distinct()
    if error:
        items = items.none() if is_qs else []
    page = Paginator(items, per_page).get_page(request.GET.get("page"))
    # a filter with a default keeps an explicit "no filter" ("status=") in the pager's links
    defaults = {f.name for f in filters if f.default}
    query = urlencode({k: v for k, v in params.items() if v or k in defaults})
    return ListPage(page=page, params=params, query=query, filters=filters, search=bool(search),
                    search_label=search_label or _("Search"), error=error)



def project_filters(*, centres: bool = False) -> list[Filter]:
    """The filters of every list of projects (staff, supervisors, audit): kind, method, status (of any lot) and,
    for those who see every centre, the centre. Labels follow the page's language when drawn."""
    from django.utils.functional import lazy

    from frontend.templatetags.sunlight import kind_label, method_label, status_label
    from trading import lifecycle
    from trading.models import Organisation
    from trading.rules import KINDS, METHODS

    out = [
        Filter("kind", _("Kind"), "kind", choices=[(k, lazy(kind_label, str)(k)) for k in KINDS]),
        Filter("method", _("Method"), "method", choices=[(m, lazy(method_label, str)(m)) for m in METHODS]),
        Filter("status", _("Status"), "lots__status", choices=[(k, lazy(status_label, str)(k)) for k in lifecycle.STATUSES],
               distinct=True),
    ]
    if centres:
        out.append(Filter("centre", _("Trading centre"), "centre_id", choices=[
            (str(pk), name) for pk, name in Organisation.objects.filter(kind="centre").order_by("name").values_list("pk", "name")]))
    return out
