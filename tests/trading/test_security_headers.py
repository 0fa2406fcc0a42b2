"""Security headers on every answer, and no inline script, on*= handler or inline style on any page.

Each role crawls every page it can reach from the portal by following the site's own links (plus the
API's, error pages and the login steps): every answer carries the Content-Security-Policy (scripts from
the site's own files only), Permissions-Policy, Referrer-Policy and the headers Django already set, and no
HTML page holds an inline <script>, an on*= attribute, a javascript: URL or a style= attribute. The
templates themselves are checked the same way, so a page the crawl does not reach cannot hide one."""
from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from django.test import Client

from tests import factories

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db

DOCS = ("/api/docs/", "/api/redoc/")
SKIP = ("/logout/", "/lang/", "/static/", "/media/", "/documents/", "/admin/logout/", "/feeds/")


def assert_headers(response, where: str) -> None:
    csp = response.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives.get("script-src") == ["'self'"], (where, csp)
    if where.startswith(DOCS):  # the API's third-party documentation UIs write <style> elements
        assert directives.get("style-src") == ["'self'", "'unsafe-inline'"], (where, csp)
    else:
        assert directives.get("style-src") == ["'self'"], (where, csp)
    assert directives.get("object-src") == ["'none'"] and directives.get("frame-ancestors") == ["'none'"], where
    assert directives.get("base-uri") == ["'none'"] and directives.get("form-action") == ["'self'"], where
    assert "unsafe-eval" not in csp and "unsafe" not in " ".join(directives["script-src"]), (where, csp)
    assert "unsafe" not in csp or where.startswith(DOCS), (where, csp)
    assert "camera=()" in response.get("Permissions-Policy", "") and "geolocation=()" in response["Permissions-Policy"], where
    assert response.get("Referrer-Policy") == "same-origin", where
    assert response.get("X-Content-Type-Options") == "nosniff", where
    assert response.get("X-Frame-Options") == "DENY", where
    assert response.get("Cross-Origin-Opener-Policy") == "same-origin", where


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "script" and not attrs.get("src") and attrs.get("type") != "application/json":  # data, never run
            self.problems.append("inline <script>")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name == "style":
                self.problems.append(f"<{tag} style=…>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")


def crawl(client: Client, start: list[str], limit: int = 150) -> int:
    seen: set[str] = set()
    queue = deque(start)
    pages = 0
    while queue and pages < limit:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        pages += 1
        assert_headers(response, url)
        if response.get("Content-Type", "").startswith("text/html") and response.status_code == 200:
            parser = Page()
            parser.feed(response.content.decode())
            assert not parser.problems, (url, parser.problems)
            for href in parser.links:
                href = urldefrag(href)[0]
                parts = urlsplit(href)
                if parts.scheme or parts.netloc or not href.startswith("/") or href.startswith(SKIP):
                    continue
                if href not in seen:
                    queue.append(href)
    return pages


def test_every_answer_of_every_role_carries_the_headers(world, clock):
    from tests.envelopes.conftest import make_tender

    world.admin.is_staff = True
    world.admin.save(update_fields=["is_staff"])
    tender = make_tender(world, bidders=world.bidders[:1])
    tender.submit(world.bidders[0], 500_000_00)
    factories.make_project(world, "land", "listing", publish=True)
    lot = tender.lot
    extra = ["/statistics/", "/accounts/signup/", "/no/such/page/", "/projects/NOPE/", "/api/projects/", "/api/nope/", "/api/schema/", "/api/redoc/", "/login/",
             "/login/verify/", "/account/security/", f"/envelopes/lots/{lot.pk}/follow/", "/api/docs/"]
    roles = {"anonymous": None, "bidder": world.bidders[0], "staff": world.staff, "supervisor": world.supervisor,
             "expert": world.expert, "admin": world.admin}
    for name, user in roles.items():
        client = Client()
        if user is not None:
            client.force_login(user)
        start = ["/", *extra] + (["/admin/"] if name == "admin" else [])
        assert crawl(client, start) > 10, name
    # answers that are not pages: a refused login, a POST refused by CSRF, the API's errors
    client = Client(enforce_csrf_checks=True)
    assert_headers(client.post("/login/", {"username": "x", "password": "y"}), "csrf refusal")
    assert_headers(Client().post("/login/", {"username": "x", "password": "y"}), "wrong login")
    assert_headers(Client().post("/api/auth/token/", {}, content_type="application/json"), "api 400")
    # a privileged session before its second step is sent there, with the headers too
    half = Client()
    half.post("/login/", {"username": world.staff.username, "password": "correct-horse-battery"})
    assert_headers(half.get("/staff/"), "second-step redirect")


PATTERNS = {
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "on*= handler": re.compile(r"<[a-z][^>]*\s on[a-z]+\s*=", re.I | re.X),
    "style= attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def test_no_template_holds_inline_script_handlers_or_styles():
    found = []
    for template in sorted((ROOT / "frontend" / "templates").rglob("*.html")):
        text = template.read_text()
        for what, pattern in PATTERNS.items():
            for match in pattern.finditer(text):
                found.append(f"{template.relative_to(ROOT)}: {what}: {match.group(0)[:80]}")
    assert not found, "\n".join(found)
