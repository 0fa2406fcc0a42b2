"""Supervisor console: every project of every centre, read-only."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path

from trading import selectors
from trading.models import Project
from trading.permissions import require_role


@login_required
def home(request):
    require_role(request.user, "supervisor")
    projects = Project.objects.select_related("centre").prefetch_related("lots")[:500]
    return render(request, "frontend/supervisor/home.html",
                  {"projects": [(p, selectors.project_status(p)) for p in projects]})


urlpatterns = [path("supervise/", home, name="supervisor-home")]
