"""Security keys in real Chromium, with the browser's own WebAuthn stack and its virtual authenticator (the
DevTools protocol's WebAuthn domain, as Chrome's own tests use it): a staff member registers a key from the
security page, logs out, and logs in with the password and a touch of the key — the page's script talks to
navigator.credentials, the platform verifies with py_webauthn. Then the negative cases through the same
browser: a sign-in answer replayed (into no challenge, and into a fresh one), and a cloned authenticator whose
signature counter is behind — each refused with the error shown on the page, the session still short of its
second step, the key's counter and last use unchanged. All under the page policy (no inline script)."""
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

    # a replayed answer: refused, nothing changes, the session stays short of its second step
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
    # the only console errors are the browser's notes of the refused requests (400), no script error
    assert all("status of 400" in p for p in problems), problems
    context.close()
