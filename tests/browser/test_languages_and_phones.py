"""Every page type, in real Chromium, on the demo's data: one language per page, and no page wider than a phone.

The page types come from the URL configuration (frontend/urls.py): each GET page is opened as the role that can
see it, in zh-hans and in English, at a 390-px-wide screen. A page fails when
- in English, its visible text has Chinese characters, or in zh-hans it has interface words in English (runs of
  three or more ASCII letters not on the allow-list of codes, units and standards: OCDS, CSV, SHA, Merkle…);
  what is data is left out: elements marked as data (``data-user-content``, ``translate="no"``, quoted text marked
  ``lang="zh-hans"``, code, times), and every free-text value stored in the database (titles, names, bodies,
  reasons: data stay as entered);
- its document is wider than the screen (``scrollWidth > 390``);
- a status code is shown raw (the language check finds ``below_reserve``, ``active``… in zh-hans).
The header's menu button opens and closes the menu on a phone, and the language switch changes the language and
keeps it. A GET page added to the URL configuration without being listed here fails the test.
"""
from __future__ import annotations

import re
from typing import TypeVar

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 390

# URL names that are not pages (downloads, feeds, form posts, the language switch…)
NOT_PAGES = {
    "document-download", "notices-feed", "set-language", "javascript-catalog", "logout", "login-verify",
    "staff-project-publish", "staff-project-terminate", "staff-notice-amend", "staff-notice-document",
    "bidder-register-key", "project-archive", "audit-full-archive", "envelopes-withdraw", "envelopes-present",
    "envelopes-open", "evaluation-act", "evaluation-answer-page", "auction-schedule", "auction-pause-page",
    "auction-resume-page", "supervision-act", "statistics-csv", "case-act", "openness-report-csv",
    "openness-report",  # the same page as openness-report-latest, for another year
    "favicon", "auction-confirmation-issue", "auction-contract-page", "export-lot-deposits", "export-refunds", "export-notice-record", "export-results",
    "export-forfeits", "export-suspense",
    # security keys: JSON round trips and form posts of the security and second-step pages
    "account-key-options", "account-key-register", "account-key-remove", "account-authenticator-remove",
    "login-key-options", "login-key",
}

# Codes, units, standards and names of tools that stay as they are in Chinese text
ALLOWED = {
    "OCDS", "API", "CSV", "PDF", "SHA", "Merkle", "JSON", "HPKE", "RFC", "TOTP", "zip", "ZIP", "XML", "camt", "GBK",
    "UTF", "tlog", "checkpoint", "Sunlight", "docx", "xlsx", "txt", "pdf", "ofd", "Cookie", "WebCrypto", "https",
    "localhost", "scrypt", "signed", "note", "base", "Chart", "sunlight", "verify", "bid", "custody", "USB", "NFC",
}

TEXT_OF_PAGE = """() => {
  const skip = '[data-user-content], [translate="no"], [lang|="zh"]:not(html), code, pre, time, script, style, noscript, template';
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(skip)) continue;
    const box = el.tagName === "OPTION" ? el.closest("select") : el;
    if (!box || !box.getClientRects().length) continue;
    out.push(n.textContent);
  }
  document.querySelectorAll("[placeholder]").forEach((el) => {
    if (!el.closest(skip) && el.getClientRects().length) out.push(el.getAttribute("placeholder"));
  });
  return out.join("\\n");
}"""

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
WORD = re.compile(r"[A-Za-z]{3,}")


def data_strings() -> list[str]:
    """Every free-text value stored by the platform (data stay as entered, in whatever language)."""
    from django.apps import apps
    from django.db import models

    values: set[str] = set()

    def walk(value):
        if isinstance(value, str):
            if len(value) >= 2:
                values.add(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    for label in ("trading", "bidding", "envelopes", "evaluation", "auction", "deposits", "supervision", "challenges"):
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        for model in config.get_models():
            fields = [f.name for f in model._meta.concrete_fields
                      if (isinstance(f, models.TextField) or (isinstance(f, models.CharField) and (f.max_length or 0) >= 30)
                          or isinstance(f, models.JSONField)) and not f.choices]
            for row in model._default_manager.values_list(*fields) if fields else []:
                walk(list(row))
    from trading.models import User

    values.update(User.objects.values_list("username", flat=True))
    return sorted(values, key=len, reverse=True)  # the longest first, so a longer value goes before its parts


def leftovers(text: str, data: list[str]) -> str:
    for value in data:
        if value in text:
            text = text.replace(value, " ")
    return text


def foreign_text(text: str, language: str) -> list[str]:
    found = []
    for line in text.splitlines():
        if language == "en":
            if CJK.search(line):
                found.append(line.strip())
        else:
            for token in line.split():
                if any(c.isdigit() for c in token) or "@" in token or "/" in token or "." in token.strip(".。,，:：;；()（）"):
                    continue  # amounts, codes, hashes, file names, addresses
                words = [w for w in WORD.findall(token) if w not in ALLOWED]
                if words:
                    found.append(line.strip())
                    break
    return found


T = TypeVar("T")


def need(obj: T | None) -> T:
    assert obj is not None, "the demo has no such object"
    return obj


def demo_pages(world) -> dict[str, list[tuple[str | None, str]]]:
    """URL name → [(who sees it, URL)] on the demo's data."""
    from bidding.auction.models import Auction, Confirmation
    from bidding.envelopes.models import Envelope, OpeningKey
    from bidding.evaluation.models import CommitteeMember, Evaluation, Publicity
    from deposits.models import Account, StatementImport
    from supervision.models import Alert
    from trading.challenges.models import Case
    from trading.models import Lot, Notice, Project

    bidder, staff, supervisor = world.bidders[0].username, world.staff.username, world.supervisor.username
    project = need(Project.objects.filter(lots__opening_key__opened_at__isnull=False).order_by("id").first())
    notice = need(Notice.objects.filter(project=project).order_by("id").first())
    opened = need(OpeningKey.objects.filter(opened_at__isnull=False).order_by("id").first()).lot
    taking_bids = Lot.objects.filter(status="published", opening_key__isnull=False,
                                     registrations__bidder=world.bidders[0].organisation).first()
    to_register = Lot.objects.filter(status__in=["published", "listing"]).exclude(
        registrations__bidder=world.bidders[0].organisation).first()
    envelope = need(Envelope.objects.filter(bidder=world.bidders[0].organisation).order_by("id").first())
    account = need(Account.objects.filter(kind="deposit", bidder=world.bidders[0].organisation).order_by("id").first())
    lot_deposits = need(need(Account.objects.filter(kind="deposit", lot__bid_deadline__lt=timezone.now()).order_by("id").first()).lot)
    evaluated = need(Evaluation.objects.order_by("id").first()).lot
    seat = CommitteeMember.objects.filter(active=True, committee__lot=evaluated).select_related("expert__user").first()
    publicity = Publicity.objects.order_by("id").first()
    auction = need(Auction.objects.order_by("id").first())
    confirmed = need(Confirmation.objects.filter(contract__isnull=False).order_by("id").first()).auction
    statement = StatementImport.objects.order_by("id").first()
    alert = need(Alert.objects.order_by("id").first())
    case = need(Case.objects.order_by("id").first())
    expert = seat.expert.user.username if seat and seat.expert.user_id else world.experts[0].username
    r = reverse
    pages = {
        "portal-home": [(None, r("portal-home"))],
        "notice-detail": [(None, r("notice-detail", args=[notice.number]))],
        "project-detail": [(None, r("project-detail", args=[project.code]))],
        "project-disclosure": [(None, r("project-disclosure", args=[project.code]))],
        "login": [(None, r("login"))],
        "account-security": [(staff, r("account-security"))],
        "signup": [(None, r("signup"))],
        "signup-confirm": [(None, r("signup-confirm", args=["no-such-token"]))],
        "staff-home": [(staff, r("staff-home"))],
        "staff-project-new": [(staff, r("staff-project-new"))],
        "staff-project": [(staff, r("staff-project", args=[project.code]))],
        "bidder-home": [(bidder, r("bidder-home"))],
        "my-home": [(bidder, r("my-home")), (staff, r("my-home")), (supervisor, r("my-home")), (expert, r("my-home"))],
        "bidder-register": [(bidder, r("bidder-register", args=[to_register.pk]))] if to_register else [],
        "supervisor-home": [(supervisor, r("supervisor-home"))],
        "audit-console-index": [(supervisor, r("audit-console-index"))],
        "audit-console": [(supervisor, r("audit-console", args=[project.code]))],
        "audit-checkpoints-page": [(None, r("audit-checkpoints-page"))],
        "audit-public-key-page": [(None, r("audit-public-key-page"))],
        "deposits-mine-page": [(bidder, r("deposits-mine-page"))],
        "deposits-account-page": [(bidder, r("deposits-account-page", args=[account.pk]))],
        "deposits-console": [(staff, r("deposits-console")), (supervisor, r("deposits-console"))],
        "deposits-lot-page": [(staff, r("deposits-lot-page", args=[lot_deposits.pk]))],
        "deposits-suspense-page": [(staff, r("deposits-suspense-page") + "?status=")],
        "deposits-refunds-page": [(staff, r("deposits-refunds-page"))],
        "deposits-forfeits-page": [(supervisor, r("deposits-forfeits-page"))],
        "deposits-statements-page": [(staff, r("deposits-statements-page"))],
        "deposits-statement-page": [(staff, r("deposits-statement-page", args=[statement.pk]))] if statement else [],
        "envelopes-submit": [(bidder, r("envelopes-submit", args=[taking_bids.pk]))] if taking_bids else [],
        "envelopes-receipt": [(bidder, r("envelopes-receipt", args=[envelope.digest]))],
        "envelopes-ceremony": [(staff, r("envelopes-ceremony", args=[opened.pk]))],
        "envelopes-follow": [(None, r("envelopes-follow", args=[opened.pk]))],
        "envelopes-custody": [(staff, r("envelopes-custody"))],
        "evaluation-home": [(staff, r("evaluation-home")), (expert, r("evaluation-home"))],
        "evaluation-workspace": [(expert, r("evaluation-workspace", args=[evaluated.pk]))],
        "evaluation-console": [(staff, r("evaluation-console", args=[evaluated.pk]))],
        "evaluation-objections": ([(bidder, r("evaluation-objections", args=[publicity.lot_id]))] if publicity else []),
        "auction-list-page": [(None, r("auction-list-page"))],
        "auction-room": [(bidder, r("auction-room", args=[auction.pk]))],
        "auction-console": [(staff, r("auction-console"))],
        "auction-confirmation-page": [(None, r("auction-confirmation-page", args=[confirmed.pk])),
                                      (staff, r("auction-confirmation-page", args=[confirmed.pk]))],
        "supervision-console": [(supervisor, r("supervision-console") + "?status=all")],
        "supervision-alert": [(supervisor, r("supervision-alert", args=[alert.ref]))],
        "statistics-page": [(None, r("statistics-page")), (supervisor, r("statistics-page"))],
        "cases-index": [(staff, r("cases-index")), (bidder, r("cases-index"))],
        "case-new": [(None, r("case-new") + f"?project={project.code}")],
        "case-follow": [(None, r("case-follow"))],
        "case-page": [(staff, r("case-page", args=[case.number]))],
        "openness-report-latest": [(None, r("openness-report-latest"))],
        "not-found": [(None, "/no/such/page/")],
    }
    return pages


def check_page(page, url: str, language: str, data: list[str], problems: list[str]) -> None:
    response = page.goto(url)
    page.wait_for_load_state("load")
    if response is None or (response.status >= 400 and "no/such" not in url and "no-such" not in url):
        problems.append(f"{language} {url}: answered {response and response.status}")
        return
    assert page.evaluate("document.documentElement.lang").startswith(language[:2]), url
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > WIDTH:
        wide = page.evaluate("""(w) => [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > w + 1)
                                  .slice(-3).map(e => e.tagName + '.' + e.className + ' ' + (e.id || '')).join(' | ')""", WIDTH)
        problems.append(f"{language} {url}: {width} px wide on a {WIDTH}-px screen ({wide})")
    page.evaluate("document.getElementById('top').classList.add('open')")  # the menu's labels too
    text = leftovers(page.evaluate(TEXT_OF_PAGE), data)
    for line in foreign_text(text, language)[:5]:
        problems.append(f"{language} {url}: other language in the interface: {line[:120]!r}")


def test_every_page_in_one_language_and_on_a_phone(chromium, live_server, screenshot_dir):
    from deposits.bank.fake import BANK
    from frontend.demo import PASSWORD, load_demo
    from frontend.urls import urlpatterns

    BANK.reset()
    world = load_demo()
    pages = demo_pages(world)
    names = {p.name for p in urlpatterns}
    unlisted = names - NOT_PAGES - set(pages)
    assert not unlisted, f"pages not in this test yet (add them to demo_pages or NOT_PAGES): {sorted(unlisted)}"
    missing = sorted(name for name, where in pages.items() if not where)
    assert len(missing) <= 3, f"the demo has no data for these pages: {missing}"
    data = data_strings()
    by_user: dict[str | None, list[str]] = {}
    for where in pages.values():
        for who, url in where:
            by_user.setdefault(who, []).append(url)
    problems: list[str] = []
    base = live_server.url
    for language in ("zh-hans", "en"):
        for who, urls in by_user.items():
            context = chromium.new_context(viewport={"width": WIDTH, "height": 844}, locale="zh-CN")
            context.add_cookies([{"name": "django_language", "value": language, "url": base}])
            page = context.new_page()
            try:
                if who is not None:
                    login(page, base, who, PASSWORD)
                for url in urls:
                    check_page(page, base + url, language, data, problems)
            finally:
                context.close()
    assert not problems, "\n".join(problems)
    BANK.reset()


def test_menu_button_and_language_switch_on_a_phone(chromium, live_server, screenshot_dir, world):
    context = chromium.new_context(viewport={"width": WIDTH, "height": 844}, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(live_server.url + "/")
        menu, button = page.locator("#site-menu"), page.locator("#menu-button")
        assert button.is_visible() and not menu.is_visible()  # the header stays one line on a phone
        header_height = page.locator("header.top").bounding_box()["height"]
        assert header_height < 844 / 8, header_height
        button.click()
        assert menu.is_visible() and button.get_attribute("aria-expanded") == "true"
        assert page.locator("#site-menu nav a").first.is_visible()
        page.screenshot(path=str(screenshot_dir / "phone-menu-open.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
        button.click()
        assert not menu.is_visible()
        # the language switch (a POST form to Django's set_language), remembered on the next page
        button.click()
        page.locator("#site-menu .langs button[value=en]").click()
        page.wait_for_load_state()
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.locator("#menu-button").inner_text().strip().endswith("Menu")
        page.goto(live_server.url + "/auctions/")
        assert page.evaluate("document.documentElement.lang") == "en"
        assert "Auctions and listings" in page.locator("h1").inner_text()
        cookie = next(c for c in context.cookies() if c["name"] == "django_language")
        assert cookie["value"] == "en" and cookie["expires"] > 0  # kept, not only for this browser session
    finally:
        context.close()
