"""Public portal: notices with search and filters, notice and project pages, the five-openness page, Atom feed."""
from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _


from audit.models import Event
from bidding.auction import selectors as auction_selectors
from trading import lifecycle, selectors
from trading.challenges.selectors import published_cases, suspension_of
from trading.errors import Forbidden
from trading.models import Document, Notice
from trading.rules import KINDS, METHODS
from django.utils.functional import lazy

from frontend.cache import public_page_cache
from frontend.templatetags.sunlight import kind_label as label_of_kind
from frontend.templatetags.sunlight import label_of
from frontend.templatetags.sunlight import method_label as label_of_method
from frontend.lists import Filter, list_page


def _project_or_404(user, code):
    project = selectors.visible_projects(user).filter(code=code).first()
    if project is None:
        raise Http404("no such project")
    return project


NOTICE_SEARCH = ("title", "project__title", "number", "project__code")


def notice_filters() -> list[Filter]:
    return [
        Filter("kind", _("Notice type"), "kind", choices=Notice.Kind.choices),
        Filter("project_kind", _("Project kind"), "project__kind", choices=[(k, lazy(label_of_kind, str)(k)) for k in KINDS]),
        Filter("method", _("Method"), "project__method", choices=[(m, lazy(label_of_method, str)(m)) for m in METHODS]),
        Filter("region", _("Region"), "project__region", kind="text"),
        Filter("status", _("Status"), "project__lots__status", choices=[(s, lazy(label_of, str)(s, "lot")) for s in lifecycle.STATUSES], distinct=True),
        Filter("date_from", _("From"), "published_at", kind="from"),
        Filter("date_to", _("To"), "published_at", kind="to"),
    ]


@public_page_cache
def home(request):
    """Published notices: search, filters and pages through the one list helper (frontend/lists.py)."""
    qs = Notice.objects.select_related("project", "lot").order_by("-published_at", "-id")
    lst = list_page(request, qs, search=NOTICE_SEARCH, filters=notice_filters())
    params = dict(lst.params, error="invalid date" if lst.error == "invalid_date" else "")
    return render(request, "frontend/portal/home.html", {
        "page": lst.page, "params": params, "query": lst.query, "kinds": KINDS, "methods": METHODS,
        "statuses": lifecycle.STATUSES, "notice_kinds": Notice.Kind.choices,
    }, status=lst.status)


@public_page_cache
def notice_detail(request, number):
    notice = get_object_or_404(Notice.objects.select_related("project", "lot", "amends"), number=number)
    return render(request, "frontend/portal/notice.html", {
        "notice": notice, "project": notice.project, "amendments": notice.amendments.order_by("published_at"),
        "documents": notice.documents.all(),
    })


@public_page_cache
def project_detail(request, code):
    project = _project_or_404(request.user, code)
    return render(request, "frontend/portal/project.html", {
        "project": project, "lots": project.lots.order_by("number"), "status": selectors.project_status(project),
        "notices": project.notices.order_by("published_at", "id"),
    })


@public_page_cache
def disclosure(request, code):
    """五公开: policy basis, notices, procedure with times, fees, supervision — all from the project's data."""
    project = _project_or_404(request.user, code)
    rule = project.rule
    lots = list(project.lots.order_by("number"))
    timeline = []
    for lot in lots:
        for t in lot.transitions.order_by("at", "id"):
            timeline.append({"at": t.at, "lot": lot.number, "source": t.source, "target": t.target,
                             "action": t.action, "reason": t.reason, "actor": t.actor.get_username() if t.actor else None})
    planned = []
    for lot in lots:
        for label, value in ((_("notice published"), lot.notice_at), (_("documents from"), lot.doc_start),
                             (_("documents until"), lot.doc_end), (_("objections until"), lot.objection_deadline),
                             (_("bid deadline and opening"), lot.bid_deadline), (_("auction start"), lot.auction_start),
                             (_("listing start"), lot.listing_start), (_("listing end"), lot.listing_end)):
            if value:
                planned.append({"lot": lot.number, "label": label, "at": value, "past": value <= timezone.now()})
    planned.sort(key=lambda p: (p["at"], p["lot"]))
    events = Event.objects.filter(project_id=project.pk, visibility="public").count()
    return render(request, "frontend/portal/disclosure.html", {
        "project": project, "rule": rule, "lots": lots, "basis": sorted(rule.basis.items()),
        "notices": project.notices.order_by("published_at", "id"), "timeline": sorted(timeline, key=lambda t: t["at"]),
        "planned": planned, "fees": rule.fees, "public_events": events, "status": selectors.project_status(project),
        "cases": published_cases(project), "suspension": suspension_of(project),
        "confirmations": auction_selectors.confirmations_of_project(project),
    })


def document_download(request, pk):
    doc = get_object_or_404(Document.objects.select_related("notice__project", "notice__lot"), pk=pk)
    if not selectors.can_download(request.user, doc, timezone.now()):
        raise Forbidden(_("this document is for registered bidders during the document period"))
    response = FileResponse(doc.file.open("rb"), as_attachment=True, filename=doc.name, content_type=doc.content_type)
    response["X-Content-SHA256"] = doc.sha256
    return response


class NoticesFeed(Feed):
    feed_type = Atom1Feed
    def title(self):
        return _("Sunlight notices")

    def subtitle(self):
        return _("Tender, amendment, opening, candidate, result and termination notices")

    def link(self):
        return reverse("portal-home")

    def items(self):
        return Notice.objects.select_related("project").order_by("-published_at", "-id")[:50]

    def item_title(self, item):
        return f"[{item.get_kind_display()}] {item.title}"

    def item_description(self, item):
        return item.body[:1000]

    def item_link(self, item):
        return reverse("notice-detail", args=[item.number])

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.published_at


urlpatterns = [
    path("", home, name="portal-home"),
    path("notices/<str:number>/", notice_detail, name="notice-detail"),
    path("projects/<str:code>/", project_detail, name="project-detail"),
    path("projects/<str:code>/disclosure/", disclosure, name="project-disclosure"),
    path("documents/<int:pk>/download/", document_download, name="document-download"),
    path("feeds/notices.atom", NoticesFeed(), name="notices-feed"),
]
