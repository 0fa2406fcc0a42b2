"""The crawl (tests/browser/crawl.py) as the public, two bidders, an expert and the admin, each in its language: every same-origin link
followed, bounded, failing on any 4xx/5xx reached through a link, debug page, request to another host, console
error or serious/critical axe finding."""
from __future__ import annotations

import pytest

from tests.browser.crawl import PUBLIC_BIDDERS_EXPERT_ADMIN, crawl_roles

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_every_role_follows_every_link_without_error(chromium):
    crawl_roles(chromium, PUBLIC_BIDDERS_EXPERT_ADMIN, at_least=60)
