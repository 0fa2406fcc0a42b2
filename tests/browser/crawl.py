"""Every user's path, crawled in real Chromium over a real ASGI server and the demo data.

Each role logs in through the login page (second factor included) and follows every same-origin link it
is shown, breadth first, a bounded number per page type (a path with its numbers replaced by N, plus the
names of its query parameters). The crawl fails on:
- a 4xx or 5xx reached through a link (a page must not offer a link its viewer cannot open);
- a Django debug page;
- a request to another host (everything is served by the platform: no CDN, no font service);
- a console error or an uncaught exception in the page (a failed resource load included);
- a serious or critical axe-core finding (axe runs inside the page; it is injected over the DevTools
  protocol, which the page's Content-Security-Policy does not apply to, so the policy stays on).
The roles are crawled in both interface languages, in two test files (test_crawl_staff_and_supervisor.py and
test_crawl_public_bidders_expert_admin.py, the same bounds and checks) so that the suite's two workers share the
crawl; each seeds the demo once and starts one server for its roles.
"""
from __future__ import annotations

import os
import re
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urldefrag, urlsplit

from tests.browser.conftest import login

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
DEMO_PASSWORD = "sunlight-demo"
PER_TYPE = 1          # pages visited per page type and role
PER_ROLE = 90         # pages visited per role at most
TRACE = bool(os.environ.get("SUNLIGHT_CRAWL_TRACE"))
# Links a crawler must not follow: leaving the session, or the language switch (a form, not a link).
SKIP = re.compile(r"^/(logout|accounts/logout|i18n/)|/admin/logout/")
# (label, username or None, language): every role once, the languages taking turns so both are crawled
# (every page type in both languages is the language test's job, tests/browser/test_languages_and_phones.py).
# In two files so the suite's two workers share the crawl, about even in time (staff and supervisors have
# the heaviest pages).
STAFF_AND_SUPERVISOR: list[tuple[str, str | None, str]] = [
    ("staff", "staff", "en"),
    ("supervisor", "supervisor", "zh-hans"),
]
PUBLIC_BIDDERS_EXPERT_ADMIN: list[tuple[str, str | None, str]] = [
    ("public", None, "zh-hans"),
    ("public", None, "en"),
    ("bidder", "bidder1", "zh-hans"),
    ("bidder", "bidder2", "en"),
    ("expert", "expert1", "en"),
    ("admin", "admin", "zh-hans"),
]
ROLES = PUBLIC_BIDDERS_EXPERT_ADMIN + STAFF_AND_SUPERVISOR
DEBUG_MARKERS = ("You're seeing this error because you have", "Traceback (most recent call last)",
                 "Using the URLconf defined in")


def page_type(url: str) -> str:
    parts = urlsplit(url)
    keys = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return re.sub(r"\d+", "N", parts.path) + ("?" + "&".join(keys) if keys else "")


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    axe_done: set[str] = field(default_factory=set)  # page types checked by axe
    visited: int = 0

    def add(self, who: str, url: str, what: str, via: str = "") -> None:
        self.problems.append(f"[{who}] {url}{' (linked from ' + via + ')' if via else ''}: {what}")


def visit(page, context, base: str, who: str, url: str, via: str, kind: str, found: Findings) -> list[str]:
    """Open one page, record what is wrong with it, and return the same-origin links it shows."""
    try:
        response = page.goto(url, wait_until="load")
    except Exception as exc:  # a download (CSV, PDF): check it without the page
        if "Download is starting" not in str(exc):
            found.add(who, url, f"navigation failed: {str(exc).splitlines()[0]}", via)
            page.goto("about:blank")  # so the failure does not spill into the next navigation
            return []
        answer = context.request.get(url)
        if answer.status >= 400:
            found.add(who, url, f"HTTP {answer.status}", via)
        return []
    if response is None:
        return []
    if response.status >= 400:
        found.add(who, url, f"HTTP {response.status}", via)
    if "text/html" not in (response.headers.get("content-type") or ""):
        return []
    html = page.content()
    for marker in DEBUG_MARKERS:
        if marker in html:
            found.add(who, url, f"debug page ({marker!r})", via)
    if kind not in found.axe_done and response.status < 400:  # once per page type
        found.axe_done.add(kind)
        page.evaluate(AXE + ";0")
        violations = page.evaluate("""async () => {
            const r = await axe.run(document, { resultTypes: ["violations"] });
            return r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => v.impact + " " + v.id + ": " + v.help + " — " +
                     v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "));
        }""")
        for v in violations:
            found.add(who, url, f"axe {v}", via)
    # links, not downloads: an archive or export may rightly answer 409 until its time (its own tests cover
    # that), and a download is not a page one is taken to
    links = []
    for href in page.eval_on_selector_all("a[href]:not([download])", "els => els.map(e => e.href)"):
        href = urldefrag(href)[0]
        if href.startswith(base + "/") and not SKIP.search(urlsplit(href[len(base):]).path):
            links.append(href)
    return links


def crawl(browser, base: str, who: str, username: str | None, language: str, found: Findings) -> None:
    context = browser.new_context(locale=language, extra_http_headers={"Accept-Language": language},
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    current = {"url": ""}
    def on_console(message) -> None:
        if message.type == "error":
            found.add(who, current["url"], f"console error: {message.text}")
    page.on("console", on_console)
    page.on("pageerror", lambda e: found.add(who, current["url"], f"uncaught exception: {e}"))

    def on_request(request):
        url = request.url
        if not (url.startswith(base) or url.startswith(("data:", "blob:", "ws://127.0.0.1", "about:"))):
            found.add(who, current["url"], f"request to another host: {url}")
    page.on("request", on_request)
    try:
        if username:
            login(page, base, username, DEMO_PASSWORD)
            if "/login" in page.url:
                found.add(who, page.url, "could not log in: " + page.inner_text("main")[:300])
                return
            start = page.url
        else:
            start = base + "/"
        queue: deque[tuple[str, str]] = deque([(start, "")])
        seen_urls: set[str] = set()
        per_type: dict[str, int] = {}
        visited = 0
        while queue and visited < PER_ROLE:
            url, via = queue.popleft()
            kind = page_type(url)
            if url in seen_urls or per_type.get(kind, 0) >= PER_TYPE:
                continue
            seen_urls.add(url)
            per_type[kind] = per_type.get(kind, 0) + 1
            visited += 1
            current["url"] = url
            if TRACE:
                print(f"  {who} {url}", flush=True)
            for href in visit(page, context, base, who, url, via, kind, found):
                if href not in seen_urls:
                    queue.append((href, url))
        found.visited += visited
    finally:
        context.close()


def crawl_roles(chromium, roles: Sequence[tuple[str, str | None, str]], *, at_least: int) -> None:
    """Seed the demo (once), start one server on it, crawl each role, and fail on any finding."""
    from bidding.auction.models import Auction  # noqa: F401  (the demo's apps are installed)
    from django.db import connection

    from deposits.bank.fake import BANK
    from frontend.demo import load_demo
    from tests.auction.live import Server
    from tests.otp import totp_device
    from trading.models import User

    def seed() -> None:  # in a thread of its own: Playwright's event loop runs in this one
        try:
            load_demo()
            for user in User.objects.filter(username__in=["staff", "supervisor", "admin"]):
                totp_device(user)
        finally:
            connection.close()

    BANK.reset()
    began = time.monotonic()
    seeder = threading.Thread(target=seed)
    seeder.start()
    seeder.join()
    print(f"demo seeded in {time.monotonic() - began:.1f} s")
    server = Server(extra_env={"DJANGO_SETTINGS_MODULE": "config.settings_test"}).start()  # its password hasher
    found = Findings()
    try:
        base = f"http://127.0.0.1:{server.port}"
        only = os.environ.get("SUNLIGHT_CRAWL_ROLES")  # e.g. "staff,bidder" while debugging
        for who, username, language in roles:
            if only and who not in only.split(","):
                continue
            began, before = time.monotonic(), found.visited
            crawl(chromium, base, f"{who}/{language}", username, language, found)
            print(f"crawled {who}/{language}: {found.visited - before} pages in {time.monotonic() - began:.1f} s")
    finally:
        server.stop()
        BANK.reset()
    assert not found.problems, f"{len(found.problems)} problems:\n" + "\n".join(found.problems[:120])
    assert only or found.visited > at_least, f"the crawl reached only {found.visited} pages"
