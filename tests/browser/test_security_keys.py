"""Security keys in real Chromium, with the browser's own WebAuthn stack and its virtual authenticator (the
DevTools protocol's WebAuthn domain, as Chrome's own tests use it): a staff member registers a key from the
security page, logs out, and logs in with the password and a touch of the key — the page's script talks to
navigator.credentials, the platform verifies with py_webauthn. Then the negative cases through the same
browser: a sign-in answer replayed (into no challenge, and into a fresh one), and a cloned authenticator whose
signature counter is behind — each refused with the error shown on the page, the session still short of its
second step, the key's counter and last use unchanged; then, with refusals slowing the account down, the next
attempt refused before the key is even asked, its reason shown in the page's language (zh-hans). All under the
page policy (no inline script)."""
from __future__ import annotations

import re

import pytest

from audit.models import Event
from tests import factories
from tests.browser.conftest import login
from trading.models import SecurityKey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
AUTHENTICATOR = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                 "hasUserVerification": True, "isUserVerified": True}
REPLAY = """async ([url, body]) => {
  const token = document.querySelector("#key-sign-in-form input[name=csrfmiddlewaretoken]").value;
  const post = (u, b) => fetch(u, {method: "POST", credentials: "same-origin", body: b,
    headers: {"Content-Type": "application/json", "X-CSRFToken": token}}).then(async (r) => [r.status, await r.json()]);
  const answers = [await post(url, body)];  // no challenge pending in this session
  await post("/login/verify/key/options/", "{}");  // a fresh challenge; the old answer is not for it
  answers.push(await post(url, body));
  return answers;
}"""


def password_step(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/?next=/staff/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/login/verify/"))


def log_out(page) -> None:
    page.click("header form[action='/logout/'] button")
    page.wait_for_load_state()


def key_state(user) -> list:
    return list(SecurityKey.objects.filter(user=user).values_list("id", "sign_count", "last_used_at"))


def test_register_a_key_and_sign_in_with_it_then_replays_and_clones_fail(chromium, live_server, clock, settings):
    settings.SUNLIGHT_WEBAUTHN_RP_ID = "localhost"
    settings.SUNLIGHT_WEBAUTHN_ORIGINS = [live_server.url]
    assert live_server.url.startswith("http://localhost:")  # a secure context for WebAuthn, and a valid rp id
    world = factories.make_world(bidders=1)
    user = world.staff
    base = live_server.url
    context = chromium.new_context(locale="en-US")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})["authenticatorId"]

    # enrol: password + authenticator code, then the security page
    login(page, base, user.username)
    page.goto(f"{base}/account/security/?next=/staff/")
    page.fill("#key-name", "Laptop passkey")
    page.click("#key-add")
    page.wait_for_selector("#security-keys")
    assert "Laptop passkey" in page.inner_text("#security-keys")
    [key] = SecurityKey.objects.filter(user=user)
    assert key.name == "Laptop passkey" and key.last_used_at is None
    [credential] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert credential["credentialId"].rstrip("=").replace("+", "-").replace("/", "_") == key.credential_id
    assert Event.objects.filter(action="account.security_key_added", subject=f"user:{user.pk}").count() == 1

    # log out, then password + key
    log_out(page)
    password_step(page, base, user.username)
    assert page.is_visible("#key-sign-in")
    with page.expect_response(re.compile(r"/login/verify/key/\?")) as answered:
        page.click("#key-sign-in")
    page.wait_for_url(f"{base}/staff/")
    assert answered.value.status == 200
    replayable = answered.value.request.post_data
    key.refresh_from_db()
    assert key.sign_count >= 1 and key.last_used_at is not None
    passed = Event.objects.filter(action="account.second_factor", subject=f"user:{user.pk}").order_by("-id").first()
    assert passed.payload == {"user": user.pk, "kind": "security_key", "device": key.pk}

    # a replayed answer: refused, nothing changes, the session stays short of its second step (refusals one after
    # the other: no delay between them until the end)
    settings.SUNLIGHT_SECURITY_KEY_THROTTLE_FACTOR = 0
    log_out(page)
    password_step(page, base, user.username)
    before, refusals = key_state(user), Event.objects.filter(action="account.security_key_refused").count()
    answers = page.evaluate(REPLAY, [f"{base}/login/verify/key/?next=/staff/", replayable])
    assert [(status, body["code"]) for status, body in answers] == [
        (400, "key_challenge_missing"), (400, "key_refused")]
    assert all(set(body) == {"code", "detail", "fields"} for _, body in answers)
    assert key_state(user) == before
    assert Event.objects.filter(action="account.security_key_refused").count() == refusals + 2
    page.goto(f"{base}/staff/")
    assert "/login/verify/" in page.url

    # a clone of the key whose counter is behind the platform's: the signature is good, the counter is not
    clone = dict(credential, signCount=0)
    cdp.send("WebAuthn.removeCredential", {"authenticatorId": authenticator, "credentialId": credential["credentialId"]})
    cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": clone})
    page.click("#key-sign-in")
    page.wait_for_selector("#key-error:not([hidden])")
    assert page.get_attribute("#key-error", "data-code") == "key_refused"
    assert "counter" in page.inner_text("#key-error")
    assert key_state(user) == before and "/login/verify/" in page.url
    last = Event.objects.filter(action="account.security_key_refused").order_by("-id").first()
    assert last.payload["reason"] == "sign_count" and last.payload["device"] == key.pk
    page.goto(f"{base}/staff/")
    assert "/login/verify/" in page.url

    # three refusals in a row: with delays of 60 s · 2^(n−1), the next attempt waits 4 min; the page says so in
    # its language before the key is asked (no options, nothing to touch), and nothing changes
    settings.SUNLIGHT_SECURITY_KEY_THROTTLE_FACTOR = 60
    context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": base}])
    page.goto(f"{base}/login/verify/?next=/staff/")
    with page.expect_response(re.compile(r"/login/verify/key/options/")) as asked:
        page.click("#key-sign-in")
    assert asked.value.status == 429 and asked.value.headers["retry-after"] == "240"
    page.wait_for_selector("#key-error:not([hidden])")
    assert page.get_attribute("#key-error", "data-code") == "second_factor_throttled"
    assert page.inner_text("#key-error") == "安全密钥验证失败次数过多：请在 240 秒后重试。"
    assert key_state(user) == before and "/login/verify/" in page.url
    last = Event.objects.filter(action="account.security_key_refused").order_by("-id").first()
    assert last.payload["reason"] == "throttled" and last.payload["wait_seconds"] == 240
    # the only console errors are the browser's notes of the refused requests (400, 429), no script error
    assert all("status of 400" in p or "status of 429" in p for p in problems), problems
    context.close()
