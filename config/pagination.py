"""Every API list is paged, and a page has at most MAX_LIMIT items whatever ``?limit=`` asks for
(a client asking for 10,000 gets the first 200 and a ``next`` link), so one request's memory and time stay
bounded."""
from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination

MAX_LIMIT = 200


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = MAX_LIMIT
