"""The pre-deadline differential (issue 13): every role reads every surface — every page and API
route of the URL configuration, the Atom feed, OCDS, the change feed, the audit listing and the
supervisors' audit page — before and after a new registration + payment + envelope on a lot whose
deadline has not passed, and nothing it may not see changes (status, body, so size too). Objects
the role may not know exist answer exactly like missing ones. After the deadline supervisors see it.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from audit.models import Event
from bidding import services as bidding_services
from bidding.envelopes.models import Envelope
from bidding.models import Registration
from deposits.bank.fake import BANK
from deposits.models import Account
from tests.envelopes.conftest import make_tender
from trading.models import Notice

pytestmark = pytest.mark.django_db

# routes that are not surfaces of a project's state (static, language, log-in forms, the schema and
# docs, the platform's whole log — which shows that *something* happened somewhere, by hash only;
# see docs/confidentiality.md; a project archive carries that whole-log checkpoint and proofs against
# it, so its bytes change with any event anywhere: tests/audit/test_archive.py checks instead that
# the events it lists stay the same before the deadline, and that the full archive is refused)
SKIP = re.compile(r"^(admin/|i18n/|\^static|static/|lang/|login/|logout/|api/schema/|api/docs/|api/auth/token/"
                  r"|api/audit/(events|checkpoints|proofs)|audit/checkpoints/|api/<drf_format_suffix"
                  r"|projects/<str:code>/archive\.zip|supervise/audit/<str:code>/archive\.zip)")


def _routes() -> list[str]:
    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern)
    out = []
    for route in walk(get_resolver().url_patterns):
        if SKIP.match(route) or "(?P<format>" in route or "<path:" in route:
            continue
        out.append(route.replace("^", "").replace("$", ""))
    return sorted(set(out))


def _fill(route: str, ids: dict) -> str | None:
    """A URL for a route, with its parameters taken from the lot under test (None: not filled)."""
    def sub(m):
        name = m.group("name")
        if name == "pk":
            head = route.split("(?P<pk>")[0].split("<int:pk>")[0]
            for key, value in ids["pk"].items():
                if head.endswith(key):
                    return str(value)
            return None
        return str(ids[name]) if name in ids else None

    pattern = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)|<(?:\w+:)?(?P<name2>\w+)>")
    parts, pos = [], 0
    for m in pattern.finditer(route):
        name = m.group("name") or m.group("name2")
        value = sub(re.match(r"(?P<name>.*)", name)) if name == "pk" else (str(ids[name]) if name in ids else None)
        if value is None:
            return None
        parts += [route[pos:m.start()], value]
        pos = m.end()
    return "/" + "".join(parts) + route[pos:]


def _norm(body: bytes) -> bytes:
    return re.sub(rb'(csrfmiddlewaretoken" value=|csrf-token" content=|name="csrf_token" value=)"[^"]*"', rb'\1""',
                  body)


def _sql_shape(sql: str) -> str:
    """A statement without its literals (numbers, quoted strings, savepoint names): what work it does, not on
    which row."""
    return re.sub(r"\d+", "?", re.sub(r"'(?:[^']|'')*'", "?", sql))


def _client(user):
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def _read_all(users: dict, urls: list[str]) -> dict:
    out = {}
    for name, user in users.items():
        c = _client(user)
        for url in urls:
            r = c.get(url)
            out[(name, url)] = (r.status_code, _norm(r.content))
    return out


@pytest.fixture
def scene(world, clock, settings):
    settings.SUNLIGHT_PORTAL_CACHE_SECONDS = 0
    BANK.reset()
    # bidder 0 registered, paid and submitted already; the lot's deadline is weeks away
    tender = make_tender(world, bidders=world.bidders[:1], security_fen=100_00)
    lot = tender.lot
    acc0 = Account.objects.get(lot=lot, bidder=world.bidder_orgs[0])
    BANK.pay_in(sub_account=str(acc0.number), amount_fen=acc0.required_fen, payer_name=world.bidder_orgs[0].name,
                payer_account=world.bidder_orgs[0].bank_account)
    tender.submit(world.bidders[0], 1_000_000)
    notice = Notice.objects.filter(project=lot.project).get()
    ids = {"lot_id": lot.pk, "code": lot.project.code, "number": notice.number, "auction_id": 1,
           "objection_id": 1, "size": 1, "digest": "0" * 64,
           "pk": {"projects/": lot.project.pk, "lots/": lot.pk, "notices/": notice.pk,
                  "organisations/": world.bidder_orgs[1].pk, "documents/": 1, "statements/": 1,
                  "accounts/": 10**6, "suspense/": 10**6, "refunds/": 10**6, "forfeits/": 10**6,
                  "registrations/": 10**6}}
    urls = [u for u in (_fill(r, ids) for r in _routes()) if u is not None]
    urls += [f"/api/audit/events/?project={lot.project.pk}&limit=500", "/api/changes/?limit=500",
             f"/?q={lot.project.code}", f"/api/lots/?project={lot.project.pk}", "/api/deposits/refunds/?status=pending",
             "/deposits/suspense/?status=", "/api/deposits/suspense/?status=", "/deposits/refunds.csv?status=pending",
             f"/results.csv?project={lot.project.code}", f"/staff/?q={lot.project.code}", f"/supervise/?q={lot.project.code}"]
    users = {"public": None, "fellow_bidder": world.bidders[0], "other_bidder": world.bidders[2],
             "staff": world.staff, "other_centre_staff": world.other_staff, "supervisor": world.supervisor,
             "expert": world.expert, "admin": world.admin}
    return tender, urls, users


def _act(world, tender):
    """The new bidder (bidder 1) registers, pays and submits; bidder 3 registers, pays and withdraws."""
    lot = tender.lot
    decl = [{"condition": c, "met": True} for c in lot.eligibility]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from bidding.envelopes import envelope as E

    made = {}
    for i in (1, 3):
        reg = bidding_services.register(actor=world.bidders[i], lot=lot, declaration=decl)
        acc = Account.objects.get(lot=lot, bidder=world.bidder_orgs[i])
        BANK.pay_in(sub_account=str(acc.number), amount_fen=acc.required_fen, payer_name=world.bidder_orgs[i].name,
                    payer_account=world.bidder_orgs[i].bank_account)
        made[i] = (reg, acc)
    key = Ed25519PrivateKey.generate()
    bidding_services.register_bidder_key(actor=world.bidders[1], public_key_hex=E.ed25519_public_bytes(key).hex())
    tender.keys[world.bidders[1].pk] = key
    env = tender.submit(world.bidders[1], 2_000_000)
    bidding_services.withdraw_registration(actor=world.bidders[3], registration=made[3][0])
    return made, env


def test_nothing_changes_for_anyone_before_the_deadline(world, clock, scene):
    tender, urls, users = scene
    assert len(urls) > 60  # every page and API route, not a hand-picked few
    before = _read_all(users, urls)
    assert sum(1 for (_, _), (status, _) in before.items() if status == 200) > 100
    made, env = _act(world, tender)
    assert Registration.objects.filter(lot=tender.lot).count() == 3 and Envelope.objects.filter(lot=tender.lot).count() == 2
    after = _read_all(users, urls)
    changed = sorted(f"{who} GET {url}: {before[(who, url)][0]} -> {after[(who, url)][0]}"
                     for (who, url) in before if before[(who, url)] != after[(who, url)])
    assert changed == [], "\n".join(changed)
    # the new bidder itself sees its own objects
    me = _client(world.bidders[1])
    assert me.get(f"/api/deposits/accounts/{made[1][1].pk}/").status_code == 200
    assert me.get(f"/envelopes/receipt/{env.digest}/").status_code == 200


def test_csv_exports_and_homes_are_walked_and_sealed_until_the_deadline(world, clock, scene):
    """The CSV exports (deposits, refunds, opening records, results) and every role's home are among the routes
    the differential walks; before the deadline a lot's deposit export answers the same refusal with or without
    payers, and after it the lot's staff get every sub-account in it (the check has teeth)."""
    tender, urls, users = scene
    lot = tender.lot
    for url in (f"/deposits/lots/{lot.pk}/deposits.csv", "/deposits/refunds.csv", "/results.csv", "/home/", "/me/",
                "/staff/", "/supervise/", f"/notices/{Notice.objects.filter(project=lot.project).get().number}/record.csv"):
        assert url in urls, url
    made, env = _act(world, tender)
    csv_url = f"/deposits/lots/{lot.pk}/deposits.csv"
    for who, user in users.items():
        r = _client(user).get(csv_url)
        assert r.status_code in (302, 403) and str(made[1][1].number).encode() not in r.content, who
    clock.move_to(lot.bid_deadline + dt.timedelta(minutes=1))
    body = _client(world.staff).get(csv_url).content.decode("utf-8-sig")
    assert all(str(a.number) in body for a in Account.objects.filter(lot=lot))
    assert _client(world.other_staff).get(csv_url).status_code == 403  # another centre never


def _probe_urls(made, env, missing_account, missing_reg):
    from deposits.models import RefundOrder

    acc, reg = made[1][1], made[1][0]
    refund = RefundOrder.objects.filter(account=made[3][1]).get()  # the withdrawn registrant's money
    missing_refund = RefundOrder.objects.order_by("-pk")[0].pk + 100
    return [
        ("post", "/api/deposits/refunds/{}/retry/", refund.pk, missing_refund, None),
        ("get", "/api/deposits/accounts/{}/", acc.pk, missing_account, None),
        ("get", "/deposits/accounts/{}/", acc.pk, missing_account, None),
        ("get", "/envelopes/receipt/{}/", env.digest, "f" * 64, None),
        ("get", "/api/envelopes/receipts/{}/proof/", env.digest, "f" * 64, None),
        ("post", "/api/deposits/forfeits/", acc.pk, missing_account,
         lambda v: {"account": v, "grounds": "collusion", "reason": "probe"}),
        ("post", "/api/bidding/registrations/{}/withdraw/", reg.pk, missing_reg, None),
    ]


def test_objects_one_may_not_know_answer_like_missing_ones(world, clock, scene):
    tender, urls, users = scene
    made, env = _act(world, tender)
    events_before = Event.objects.count()
    missing_account = Account.objects.order_by("-pk")[0].pk + 100
    missing_reg = Registration.objects.order_by("-pk")[0].pk + 100
    for phase in ("before", "after"):
        for who, user in users.items():
            if phase == "after" and who in ("staff", "supervisor", "admin"):
                continue  # after the deadline these may know
            c = APIClient()
            if user is not None:
                c.force_login(user)
            for method, template, real, missing, body in _probe_urls(made, env, missing_account, missing_reg):
                answers, work = [], []
                for value in (missing, real, missing):  # the first call warms the caches for both
                    url = template.format(value) if "{}" in template else template
                    kwargs = {"data": body(value), "format": "json"} if body else {}
                    with CaptureQueriesContext(connection) as queries:
                        r = getattr(c, method)(url, **kwargs)
                    answers.append((r.status_code, _norm(r.content).replace(str(value).encode(), b"ID")))
                    work.append([_sql_shape(q["sql"]) for q in queries.captured_queries])
                assert answers[1] == answers[2], (phase, who, method, template, answers)
                # the same database work: as many statements, the same ones but for their literals
                assert work[1] == work[2], (phase, who, method, template, work[1], work[2])
        assert Event.objects.count() == events_before  # every probe was refused and changed nothing
        clock.move_to(tender.lot.bid_deadline)
    # after the deadline the lot's staff and supervisors see everything
    for user in (world.staff, world.supervisor):
        c = APIClient()
        c.force_login(user)
        assert c.get(f"/api/deposits/accounts/{made[1][1].pk}/").status_code == 200
        ov = c.get(f"/api/deposits/lots/{tender.lot.pk}/").json()
        assert len(ov["accounts"]) == 3 and ov["paid"] >= 2
    c = APIClient()
    c.force_login(world.supervisor)
    rows = c.get(f"/api/audit/events/?project={tender.lot.project.pk}&limit=500").json()["results"]
    seen = {r["event"]["action"] for r in rows if "event" in r}
    assert {"registration.create", "registration.withdraw", "deposit.refund_order", "envelope.submit"} <= seen


def test_role_action_matrix_on_the_money(world, clock, scene):
    """After the deadline, who may do what with this centre's deposits. Staff of another centre see
    nothing of this centre's money on any route and every action of theirs answers like a missing
    object; supervisors read but never write; bidders and experts reach nothing but their own."""
    from deposits.models import Posting, RefundOrder, SuspenseItem

    tender, urls, users = scene
    made, env = _act(world, tender)
    acc = made[1][1]
    wrong = Account.objects.get(lot=tender.lot, bidder=world.bidder_orgs[0])
    BANK.pay_in(sub_account=str(wrong.number), amount_fen=1, payer_name="某集团", payer_account="999")  # suspense
    item = SuspenseItem.objects.get()
    order = RefundOrder.objects.get()
    clock.move_to(tender.lot.bid_deadline + dt.timedelta(minutes=1))
    secrets = [str(a.number).encode() for a in Account.objects.filter(lot=tender.lot)]
    secrets += [o.bank_account.encode() for o in world.bidder_orgs[:4]]
    # staff of another centre: no route shows any of this centre's sub-accounts or payers' accounts
    # (the lot's own staff do see them: the check has teeth)
    own = _client(world.staff).get(f"/deposits/lots/{tender.lot.pk}/").content
    assert [s for s in secrets if s in own]
    c = _client(world.other_staff)
    for url in urls:
        body = c.get(url).content
        assert not [s for s in secrets if s in body], url

    def state():
        return (Event.objects.count(), Posting.objects.count(), Account.objects.order_by("pk").values_list("status").__str__(),
                SuspenseItem.objects.order_by("pk").values_list("status").__str__(),
                RefundOrder.objects.order_by("pk").values_list("status", "attempts").__str__())

    actions = {
        "forfeit": ("post", "/api/deposits/forfeits/", {"account": acc.pk, "grounds": "collusion", "reason": "串标"}),
        "assign": ("post", f"/api/deposits/suspense/{item.pk}/resolve/", {"action": "return", "note": "退回"}),
        "retry": ("post", f"/api/deposits/refunds/{order.pk}/retry/", {}),
        "lot": ("get", f"/api/deposits/lots/{tender.lot.pk}/", None),
        "account": ("get", f"/api/deposits/accounts/{acc.pk}/", None),
    }
    expected = {  # role -> action -> allowed?
        "other_centre_staff": dict.fromkeys(actions, False),
        "fellow_bidder": dict.fromkeys(actions, False),
        "other_bidder": dict.fromkeys(actions, False),
        "expert": dict.fromkeys(actions, False),
        "public": dict.fromkeys(actions, False),
        "supervisor": {"forfeit": False, "assign": False, "retry": False, "lot": True, "account": True},
    }
    for who, allowed in expected.items():
        api = APIClient()
        if users[who] is not None:
            api.force_authenticate(users[who])
        for name, (method, url, body) in actions.items():
            before = state()
            r = getattr(api, method)(url, body, format="json") if method == "post" else api.get(url)
            if allowed[name]:
                assert r.status_code == 200, (who, name, r.status_code)
            else:
                assert r.status_code in (401, 403, 404), (who, name, r.status_code, r.content)
                assert state() == before, (who, name)  # a refused action changes nothing
                if who == "other_centre_staff" and method == "post":
                    assert r.status_code == 404  # answered like a missing object
    # the lot's own staff may act
    api = APIClient()
    api.force_authenticate(world.staff)
    assert api.post(*actions["forfeit"][1:], format="json").status_code == 201
    assert api.post(*actions["assign"][1:], format="json").status_code == 200
