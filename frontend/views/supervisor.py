"""Supervisor console: alerts, cases and projects needing attention, then every project of every centre
(search, filters, pages); read-only."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path

from frontend.homes import supervisor_home
from frontend.lists import list_page, project_filters
from trading import selectors
from trading.models import Project
from trading.permissions import require_role


@login_required
def home(request):
    require_role(request.user, "supervisor")
    projects = Project.objects.select_related("centre").prefetch_related("lots").order_by("-created_at", "-id")
    lst = list_page(request, projects, search=("code", "title"), filters=project_filters(centres=True))
    return render(request, "frontend/supervisor/home.html",
                  {"lst": lst, "projects": [(p, selectors.project_status(p)) for p in lst.page],
                   **supervisor_home(request.user)}, status=lst.status)


urlpatterns = [path("supervise/", home, name="supervisor-home")]
