"""The statistics page's charts render in real Chromium (Chart.js served by the platform, no inline script)."""
import pytest

from tests import factories
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_statistics_charts_render(chromium, live_server, screenshot_dir):
    world = factories.make_world(bidders=2)
    factories.make_project(world, "engineering", "open_tender", publish=True, title="人民路改造工程施工")
    factories.make_project(world, "land", "listing", publish=True, title="2026-07号地块挂牌出让")

    page = chromium.new_page(locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    page.goto(live_server.url + "/statistics/")
    page.wait_for_selector("#chart-lots[data-rendered='1']")
    page.wait_for_selector("#chart-value[data-rendered='1']")
    # the chart drew bars: its datasets hold the published lots, and the canvas has coloured pixels
    total = page.evaluate("() => document.getElementById('chart-lots').chart.data.datasets"
                          ".reduce((s, d) => s + d.data.reduce((a, b) => a + b, 0), 0)")
    assert total == 2
    painted = page.evaluate("""() => { const c = document.getElementById('chart-lots');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""")
    assert painted > 500
    assert all(url.startswith(live_server.url) for url in requests), requests  # no CDN
    assert page.locator("script:not([src]):not([type='application/json'])").count() == 0  # no inline script
    page.screenshot(path=str(screenshot_dir / "statistics-public.png"), full_page=True)

    login(page, live_server.url, world.supervisor.username)
    page.goto(live_server.url + "/statistics/")
    page.wait_for_selector("#chart-alerts[data-rendered='1']")
    # (the console's websocket is tested against a real ASGI server in tests/supervision/test_live.py)
    assert not errors, errors
    page.close()
