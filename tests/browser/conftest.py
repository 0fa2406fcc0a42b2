"""Browser tests: helpers. The `chromium` and `screenshot_dir` fixtures live in tests/conftest.py (one
Playwright instance per test process, shared by every app's browser tests)."""


def login(page, base_url: str, username: str, password: str = "correct-horse-battery") -> None:
    """Log in through the login page; staff, supervisors and admins then type the code their authenticator
    (a known test key, tests/otp.py) shows now."""
    from tests.otp import totp_code, totp_device
    from trading.models import User
    from trading.second_factor import needs_second_factor

    user = User.objects.get(username=username)
    device = totp_device(user) if needs_second_factor(user) else None
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main form button[type=submit]")  # not the header's language or log-out buttons
    page.wait_for_load_state()
    if device is not None:
        page.fill("#id_code", totp_code(device))
        page.click("#verify-submit")
        page.wait_for_load_state()
