#!/usr/bin/env python
"""Fresh screenshots of every page type, on a desktop and on a phone, in both languages.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--only NAME,NAME]

Loads the demo into a scratch SQLite database (like scripts/demo), starts the platform on a free port,
and photographs each page type that tests/browser/test_languages_and_phones.py lists (its `demo_pages`,
so the two never disagree on what a page type is), logged in as the role that sees it, at 1280 px and
at 390 px, in Chinese and in English: docs/screenshots/<language>-<device>/<page type>.jpg, with an index
(docs/screenshots/README.md). Needs Chromium (/usr/bin/chromium) and the test extras (Playwright).
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEVICES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
LANGUAGES = ("zh-hans", "en")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--only", default="", help="comma-separated page types (default: all)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="sunlight-shots-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update({"DATABASE_URL": f"sqlite:///{scratch / 'db.sqlite3'}", "SUNLIGHT_VAR_DIR": str(scratch / "var"),
                "DJANGO_SETTINGS_MODULE": "config.settings", "SUNLIGHT_RUN_CLOCK_IN_PROCESS": "0",
                "PYTHONUNBUFFERED": "1",
                # the login helper reads the user's authenticator from the database while Playwright's loop runs
                # in this (single) thread; nothing here runs concurrently
                "DJANGO_ALLOW_ASYNC_UNSAFE": "true"})
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)

    import django

    django.setup()
    from frontend.demo import PASSWORD, load_demo
    from tests.browser.conftest import login
    from tests.browser.test_languages_and_phones import demo_pages

    world = load_demo()
    pages = demo_pages(world)
    only = {n for n in args.only.split(",") if n}
    port = int(os.environ.get("SUNLIGHT_SCREENSHOTS_PORT") or 0) or free_port()  # a given port, or any free one
    log = open(scratch / "server.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
                               "--port", str(port), "--lifespan", "off", "--log-level", "warning"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    out = Path(args.out)
    taken: dict[str, list[str]] = {}
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=os.environ.get("SUNLIGHT_CHROMIUM", "/usr/bin/chromium"),
                                         args=["--no-sandbox", "--headless=new", "--disable-gpu"])
            for language in LANGUAGES:
                for device, viewport in DEVICES.items():
                    folder = out / f"{language}-{device}"
                    if folder.exists() and not only:
                        shutil.rmtree(folder)
                    folder.mkdir(parents=True, exist_ok=True)
                    by_user: dict[str | None, list[tuple[str, str]]] = {}
                    for name, where in sorted(pages.items()):
                        if where and (not only or name in only):
                            who, url = where[0]
                            by_user.setdefault(who, []).append((name, url))
                    for who, items in by_user.items():
                        context = browser.new_context(viewport=viewport, locale="zh-CN" if language == "zh-hans" else "en-GB",
                                                      timezone_id="Asia/Shanghai")
                        context.add_cookies([{"name": "django_language", "value": language, "url": base}])
                        page = context.new_page()
                        if who is not None:
                            login(page, base, who, PASSWORD)
                        for name, url in items:
                            page.goto(base + url, wait_until="load")
                            page.wait_for_timeout(300)  # charts and the auction room draw after load
                            page.screenshot(path=str(folder / f"{name}.jpg"), type="jpeg", quality=60)
                            taken.setdefault(name, []).append(f"{language}-{device}")
                        context.close()
                    print(f"{language}-{device}: {sum(len(v) for v in by_user.values())} pages", flush=True)
            browser.close()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=20)
        shutil.rmtree(scratch, ignore_errors=True)
    if not only:
        lines = ["# Screenshots", "",
                 "Every page type of the demo, generated by `scripts/screenshots.py` (the page types are those of",
                 "`tests/browser/test_languages_and_phones.py`): desktop 1280 px and phone 390 px, in Chinese and English.", "",
                 "| Page type | " + " | ".join(f"{lang} {dev}" for lang in LANGUAGES for dev in DEVICES) + " |",
                 "|---|" + "---|" * (len(LANGUAGES) * len(DEVICES))]
        for name in sorted(taken):
            cells = [f"[view]({lang}-{dev}/{name}.jpg)" if f"{lang}-{dev}" in taken[name] else "—"
                     for lang in LANGUAGES for dev in DEVICES]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        (out / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(taken)} page types into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
