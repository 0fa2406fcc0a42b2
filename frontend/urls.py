"""Page routes: each area module under frontend/views/ has its own `urlpatterns`."""
from importlib import import_module

AREAS = [  # one per line: several capabilities add theirs
    "portal",
    "accounts",
    "signup",
    "staff",
    "bidder",
    "supervisor",
    "audit",
    "deposits",
    "envelopes",
    "evaluation",
    "auction",
    "supervision",
    "statistics",
    "cases",
    "exports",
]

urlpatterns: list = []
for area in AREAS:
    try:
        module = import_module(f"frontend.views.{area}")
    except ModuleNotFoundError as exc:
        if exc.name != f"frontend.views.{area}":
            raise
        continue
    urlpatterns += getattr(module, "urlpatterns", [])
