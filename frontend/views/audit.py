"""Audit pages: the supervisor console (timeline, replay at a moment, verify) and the public
checkpoints and public-key pages."""
from __future__ import annotations

import datetime as dt
import io
import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

import sunlight_verify
from audit import archive, check, sequencer, visibility
from audit.log_models import Checkpoint, Leaf
from audit.visibility import Disclosure
from frontend.lists import Filter, list_page, project_filters
from frontend.selectors import replayed_state
from frontend.templatetags.sunlight import label_of
from trading import selectors
from audit import messages as AM
from trading.errors import Conflict, Invalid, translated
from trading.ids import is_ascii_int
from trading.models import Project
from trading.permissions import require_role
from trading.lifecycle import LotStatus

def _supervisor(request):
    require_role(request.user, "supervisor", "admin")


@login_required
def console_index(request):
    _supervisor(request)
    projects = Project.objects.select_related("centre").prefetch_related("lots").order_by("-created_at", "-id")
    lst = list_page(request, projects, search=("code", "title"), filters=project_filters(centres=True))
    return render(request, "frontend/audit/index.html",
                  {"lst": lst, "projects": [(p, selectors.project_status(p)) for p in lst.page]}, status=lst.status)


def _parse_at(raw: str) -> dt.datetime | None:
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid(_("not a date and time: %(raw)r (use YYYY-MM-DDTHH:MM)"), raw=raw[:40]) from None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value


@login_required
def console(request, code):
    _supervisor(request)
    project = Project.objects.filter(code=code).first()
    if project is None:
        raise Http404("no such project")
    at = _parse_at(request.GET.get("at", "").strip())
    # the one rule (audit/visibility.py): before a lot's deadline its bidders' activity is not even listed
    pairs, _ = visibility.project_events(project.pk, user=request.user)
    events = [e for e, _ in pairs]
    leaves = dict(Leaf.objects.filter(event_id__in=[e.pk for e in events]).values_list("event_id", "index"))
    names = _actor_names({(e.body.get("actor") or {}).get("id") for e in events})
    rows = []
    for e, seen in pairs:
        body = e.body
        hidden = seen is not Disclosure.FULL
        actor = body.get("actor") or {}
        rows.append({
            "event": e, "index": leaves.get(e.pk), "actor": actor, "after": at is not None and e.created_at > at,
            "actor_name": names.get(actor.get("id"), actor.get("label") or ""),
            "area": e.action.split(".", 1)[0], "actor_role": actor.get("role") or "system",
            "payload": None if hidden else json.dumps(body["payload"], ensure_ascii=False, indent=1, sort_keys=True),
            "at_param": timezone.localtime(e.created_at).strftime("%Y-%m-%dT%H:%M:%S"),
        })
    timeline = list_page(request, rows, per_page=100, filters=timeline_filters(rows),
                         search=("event__action", "event__subject", "actor_name"),
                         text_of=lambda r: " ".join([r["event"].action, label_of(r["event"].action, "event"),
                                                     r["event"].subject, r["actor_name"]]))
    state = replayed_state(project, at, events=[e for e, seen in pairs if seen is Disclosure.FULL])
    verdict = check.check_project(project.pk, event_ids=[e.pk for e in events]) if request.GET.get("verify") else None
    return render(request, "frontend/audit/console.html", {
        "project": project, "rows": rows, "lst": timeline, "at": at, "verdict": verdict,
        "at_value": timezone.localtime(at).strftime("%Y-%m-%dT%H:%M:%S") if at else "",
        "lots": (state.get("trading") or {}).get("lots", {}),
        "state_json": json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True, default=str),
    })


def _actor_names(ids: set) -> dict:
    """Who acted, by name: the person's full name and organisation where the account has them."""
    from trading.models import User

    names = {}
    for user in User.objects.filter(pk__in=[i for i in ids if i]).select_related("organisation"):
        person = user.get_full_name() or user.get_username()
        names[user.pk] = f"{person} · {user.organisation.name}" if user.organisation_id else person
    return names


def timeline_filters(rows: list[dict]) -> list[Filter]:
    """The timeline's filters: the area of the event (its app), who acted (role), its visibility."""
    areas = sorted({r["area"] for r in rows})
    roles = sorted({r["actor"].get("role") or "system" for r in rows})
    return [
        Filter("area", gettext_lazy("Area"), "area", choices=[(a, label_of(a, "event_area")) for a in areas]),
        Filter("role", gettext_lazy("Who"), "actor_role", choices=[(r, label_of(r, "actor_role")) for r in roles]),
        Filter("visibility", gettext_lazy("Visibility"), "event__visibility",
               choices=[(v, label_of(v, "visibility")) for v in ("public", "supervisors", "sealed")]),
    ]


def checkpoints_page(request):
    qs = Checkpoint.objects.order_by("-size")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    verdict = None
    first, second = request.GET.get("first", "").strip(), request.GET.get("second", "").strip()
    if first or second:
        if not (is_ascii_int(first) and is_ascii_int(second)):
            verdict = check.Check(False, str(_("Give two tree sizes (whole numbers) from the list below.")))
        else:
            verdict = check.check_consistency(int(first), int(second))
    return render(request, "frontend/audit/checkpoints.html", {
        "page": page, "verdict": verdict, "first": first, "second": second, "vkey": sequencer.verifier_key(),
    })


def public_key_page(request):
    vkey = sequencer.verifier_key()
    if request.GET.get("raw"):
        return HttpResponse(vkey + "\n", content_type="text/plain; charset=utf-8")
    return render(request, "frontend/audit/public_key.html", {"vkey": vkey, "origin": sequencer.origin(),
                                                              "fingerprint": sunlight_verify.fingerprint(vkey)})


def _archive_response(project: Project, kind: str) -> HttpResponse:
    buf = io.BytesIO()
    try:
        archive.build(project.pk, buf, kind=kind)
    except archive.ArchiveError as exc:
        raise translated(Conflict, exc, AM.ARCHIVE) from None
    response = HttpResponse(buf.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{project.code}-{kind}-archive.zip"'
    return response


def public_archive(request, code):
    """The project's public archive (from the five-openness page): secret bodies as hashes only, and
    before the deadlines only the public events; anyone checks it with sunlight-verify."""
    project = Project.objects.filter(code=code).exclude(lots__status=LotStatus.DRAFT).first()
    if project is None:
        raise Http404("no such project")
    return _archive_response(project, "public")


@login_required
def full_archive(request, code):
    """The supervisors' full archive: every event body (only once the deadlines have passed)."""
    _supervisor(request)
    project = Project.objects.filter(code=code).first()
    if project is None:
        raise Http404("no such project")
    return _archive_response(project, "full")


urlpatterns = [
    path("supervise/audit/", console_index, name="audit-console-index"),
    path("supervise/audit/<str:code>/", console, name="audit-console"),
    path("audit/checkpoints/", checkpoints_page, name="audit-checkpoints-page"),
    path("audit/public-key/", public_key_page, name="audit-public-key-page"),
    path("projects/<str:code>/archive.zip", public_archive, name="project-archive"),
    path("supervise/audit/<str:code>/archive.zip", full_archive, name="audit-full-archive"),
]
