"""Browser tests: helpers. The `chromium` and `screenshot_dir` fixtures live in tests/conftest.py (one
Playwright instance per test process, shared by every app's browser tests)."""



def login(page, base_url: str, username: str, password: str = "correct-horse-battery") -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
