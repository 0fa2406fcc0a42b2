"""The trading API (DRF): the happy paths, and bad input → 4xx with a clear `detail` and nothing changed."""
from __future__ import annotations

import copy
import datetime as dt
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import Event
from bidding import services as bidding
from tests import factories
from tests.otp import totp_code, totp_device
from tests.trading.conftest import snapshot
from trading import clock as trading_clock
from trading import services
from trading.models import Document, Lot, Notice, Project

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)
PASSWORD = "correct-horse-battery"


def iso(value: dt.datetime) -> str:
    return value.isoformat()


def project_body(world, **over):
    now = timezone.now()
    lot = {"title": "第1标段", "estimate": "1000000.00", "security": "10000.00", "bid_deadline": iso(now + 21 * DAY),
           "doc_start": iso(now), "doc_end": iso(now + 6 * DAY), "evaluation_method": "lowest_evaluated_price",
           "eligibility": ["具有有效的营业执照", "近三年无重大违法记录"]}
    body = {"kind": "engineering", "method": "open_tender", "title": "API 测试道路工程", "owner": world.tenderee.pk,
            "agent": world.agent.pk, "supervisor": world.supervisor_org.pk, "region": "市本级",
            "budget": "1000000.00", "lots": [lot]}
    body.update(over)
    return body


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def api(world, clock):
    return as_user(world.staff)


def test_token_auth_and_full_project_flow(world, clock):
    anonymous = APIClient()
    otp = totp_code(totp_device(world.staff))  # staff get a token only with their authenticator's code
    response = anonymous.post("/api/auth/token/", {"username": world.staff.username, "password": PASSWORD,
                                                   "otp": otp}, format="json")
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    assert response.json()["role"] == "staff"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = client.post("/api/projects/", project_body(world), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["budget"] == "1000000.00" and data["lots"][0]["estimate"] == "1000000.00"
    assert data["lots"][0]["security"] == "10000.00" and data["status"] == "draft"
    project = Project.objects.get(code=data["code"])
    assert project.budget_fen == 100_000_000 and project.lots.get().security_fen == 1_000_000
    assert Event.objects.filter(action="project.create", project_id=project.pk).count() == 1

    response = client.post(f"/api/projects/{project.code}/publish/")
    assert response.status_code == 201, response.content
    notice = response.json()
    assert notice["kind"] == "tender" and notice["project"] == project.code
    assert project.lots.get().status == "published"

    clock.advance(days=10)
    response = client.post(f"/api/notices/{notice['id']}/amend/", {"title": "变更公告", "body": "调整工期"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["amends"] == notice["id"] and response.json()["kind"] == "amendment"
    assert project.lots.get().bid_deadline == clock.now + 15 * DAY

    response = client.post(f"/api/projects/{project.code}/terminate/", {"reason": "项目资金未落实"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "termination"
    assert project.lots.get().status == "terminated"
    assert APIClient().get(f"/api/projects/{project.code}/").json()["status"] == "terminated"


def test_token_refused(world, clock):
    client = APIClient()
    response = client.post("/api/auth/token/", {"username": world.staff.username, "password": "wrong"}, format="json")
    assert response.status_code == 400 and "wrong user name or password" in response.json()["detail"].lower()
    response = client.post("/api/auth/token/", {"username": world.staff.username}, format="json")
    assert response.status_code == 400 and "password" in response.json()["detail"]
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
    response = bad.get("/api/projects/")
    # 403 rather than 401: SessionAuthentication comes first in DEFAULT_AUTHENTICATION_CLASSES
    assert response.status_code in (401, 403) and response.json()["detail"]
    for _ in range(5):
        client.post("/api/auth/token/", {"username": world.bidders[0].username, "password": "nope"}, format="json")
    response = client.post("/api/auth/token/", {"username": world.bidders[0].username, "password": PASSWORD}, format="json",
                           HTTP_ACCEPT_LANGUAGE="en")  # the message is asserted in English
    assert response.status_code == 429 and response["Retry-After"] == "60"
    body = response.json()
    assert body["code"] == "throttled" and "Too many failed logins" in body["detail"] and body["fields"] == {}


BAD_PROJECTS = {
    "unknown kind": (lambda b: b.update(kind="mining"), "unknown project kind"),
    "unknown method": (lambda b: b.update(method="lottery"), "unknown method"),
    "method not for kind": (lambda b: b.update(method="auction"), "not used for engineering"),
    "notice period too short": (lambda b: b["lots"][0].update(bid_deadline=iso(timezone.now() + 19 * DAY)), "at least 20 days"),
    "deadline before now": (lambda b: b["lots"][0].update(bid_deadline=iso(timezone.now() - DAY)), "deadline"),
    "negative budget": (lambda b: b.update(budget="-1.00"), "negative"),
    "non-numeric budget": (lambda b: b.update(budget="一百万"), "not an amount"),
    "exponent budget": (lambda b: b.update(budget="1e6"), "not an amount"),
    "float budget": (lambda b: b.update(budget=1000000.5), "decimal string"),
    "integer budget": (lambda b: b.update(budget=1000000), "decimal string"),
    "third decimal": (lambda b: b.update(budget="1000000.001"), "two decimal places"),
    "negative estimate": (lambda b: b["lots"][0].update(estimate="-5"), "negative"),
    "float security": (lambda b: b["lots"][0].update(security=100.5), "decimal string"),
    "security third decimal": (lambda b: b["lots"][0].update(security="1.001"), "two decimal places"),
    "security over the cap": (lambda b: b["lots"][0].update(security="50000.00"), "exceeds the cap"),
    "unknown owner": (lambda b: b.update(owner=10**8), "no organisation"),
    "no lots": (lambda b: b.update(lots=[]), "at least one lot"),
    "bad evaluation method": (lambda b: b["lots"][0].update(evaluation_method="coin_flip"), "evaluation method"),
    "document period too short": (lambda b: b["lots"][0].update(doc_end=iso(timezone.now() + 2 * DAY)), "at least 5 days"),
    "missing title": (lambda b: b.pop("title"), "title"),
    "bad date": (lambda b: b["lots"][0].update(bid_deadline="next tuesday"), "lots.0.bid_deadline: "),
    "huge budget": (lambda b: b.update(budget="9999999999999999.99"), "budget: amount is too large"),
    "eligibility not a list": (lambda b: b["lots"][0].update(eligibility="营业执照"), "lots.0.eligibility: "),
    "lots not a list": (lambda b: b.update(lots="第1标段"), "lots: "),
    "closing rule on a tender": (lambda b: b["lots"][0].update(closing_rule="x" * 20), "closing rule applies to auctions"),
    "unknown tie-break": (lambda b: b["lots"][0].update(tie_break="y" * 40), "tie-break rule must be one of"),
    "owner not a number": (lambda b: b.update(owner="市交通运输局"), "owner: "),
    "region too long": (lambda b: b.update(region="区" * 101), "region: "),
}


@pytest.mark.parametrize("case", list(BAD_PROJECTS))
def test_bad_project_input(world, api, case):
    mutate, expected = BAD_PROJECTS[case]
    body = copy.deepcopy(project_body(world))
    mutate(body)
    before = snapshot()
    response = api.post("/api/projects/", body, format="json")
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert expected in detail, response.json()
    assert "ErrorDetail(" not in detail and "budget: budget" not in detail  # one readable line
    assert snapshot() == before


def test_sale_lots_have_no_evaluation_method(world, api):
    now = timezone.now()
    lot = {"title": "车辆", "estimate": "100000.00", "security": "10000.00", "increment": "1000.00",
           "closing_rule": "countdown", "bid_deadline": iso(now + 8 * DAY), "auction_start": iso(now + 9 * DAY),
           "evaluation_method": "z" * 40}
    before = snapshot()
    response = api.post("/api/projects/", project_body(world, kind="asset", method="auction", agent=None, lots=[lot]),
                        format="json")
    assert response.status_code == 400 and "no evaluation method" in response.json()["detail"]
    assert snapshot() == before
    lot["evaluation_method"] = ""
    response = api.post("/api/projects/", project_body(world, kind="asset", method="auction", agent=None, lots=[lot]),
                        format="json")
    assert response.status_code == 201, response.content


def test_owner_must_be_a_tenderee(world, api):
    before = snapshot()
    response = api.post("/api/projects/", project_body(world, owner=world.bidder_orgs[0].pk), format="json")
    assert response.status_code == 400 and "tenderee" in response.json()["detail"]
    assert snapshot() == before


def test_listing_too_short_via_api(world, api):
    now = timezone.now()
    lot = {"title": "地块", "estimate": "5000000.00", "security": "1000000.00", "increment": "10000.00",
           "closing_rule": "countdown", "bid_deadline": iso(now + 25 * DAY), "listing_start": iso(now + 21 * DAY),
           "listing_end": iso(now + 26 * DAY)}
    before = snapshot()
    response = api.post("/api/projects/", project_body(world, kind="land", method="listing", agent=None, lots=[lot]),
                        format="json")
    assert response.status_code == 400 and "at least 10 days" in response.json()["detail"]
    assert snapshot() == before


def test_malformed_json(world, api):
    before = snapshot()
    response = api.generic("POST", "/api/projects/", '{"kind": "engineering", ', content_type="application/json")
    assert response.status_code == 400 and "JSON" in response.json()["detail"]
    response = api.generic("POST", "/api/projects/", "[1, 2]", content_type="application/json")
    assert response.status_code == 400 and response.json()["detail"]
    assert snapshot() == before


def test_wrong_roles_and_other_centre(world, clock):
    body = project_body(world)
    before = snapshot()
    for user in (world.bidders[0], world.supervisor, world.expert, world.admin):
        response = as_user(user).post("/api/projects/", body, format="json")
        assert response.status_code == 403 and "staff" in response.json()["detail"]
    assert APIClient().post("/api/projects/", body, format="json").status_code == 401
    assert snapshot() == before
    draft = factories.make_project(world)
    published = factories.make_project(world, publish=True)
    notice = published.notices.get()
    other = as_user(world.other_staff)
    before = snapshot()
    assert other.post(f"/api/projects/{draft.code}/publish/").status_code == 404  # a draft of another centre is invisible
    response = other.post(f"/api/projects/{published.code}/terminate/", {"reason": "x"}, format="json")
    assert response.status_code == 403 and "another trading centre" in response.json()["detail"]
    response = other.post(f"/api/notices/{notice.pk}/amend/", {"title": "t", "body": "b"}, format="json")
    assert response.status_code == 403
    upload = SimpleUploadedFile("a.pdf", b"%PDF-1.4", content_type="application/pdf")
    assert other.post(f"/api/notices/{notice.pk}/documents/", {"file": upload}, format="multipart").status_code == 403
    supervisor = as_user(world.supervisor)
    assert supervisor.post(f"/api/projects/{published.code}/terminate/", {"reason": "x"}, format="json").status_code == 403
    assert snapshot() == before


def test_transitions_from_the_wrong_state(world, api):
    draft = factories.make_project(world)
    before = snapshot()
    response = api.post(f"/api/projects/{draft.code}/terminate/", {"reason": "x"}, format="json")
    assert response.status_code == 409 and "nothing published" in response.json()["detail"]
    assert snapshot() == before
    assert api.post(f"/api/projects/{draft.code}/publish/").status_code == 201
    before = snapshot()
    response = api.post(f"/api/projects/{draft.code}/publish/")
    assert response.status_code == 409 and "already published" in response.json()["detail"]
    response = api.post(f"/api/projects/{draft.code}/terminate/", {"reason": ""}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["detail"]
    assert snapshot() == before
    assert api.post(f"/api/projects/{draft.code}/terminate/", {"reason": "终止"}, format="json").status_code == 201
    before = snapshot()
    response = api.post(f"/api/projects/{draft.code}/terminate/", {"reason": "again"}, format="json")
    assert response.status_code == 409
    notice = draft.notices.get(kind="tender")
    response = api.post(f"/api/notices/{notice.pk}/amend/", {"title": "t", "body": "b"}, format="json")
    assert response.status_code == 409 and "can no longer be amended" in response.json()["detail"]
    assert snapshot() == before


def test_document_upload_hash_limits_and_download(world, api, settings):
    project = factories.make_project(world, publish=True)
    notice = project.notices.get()
    content = b"%PDF-1.4 \xe6\x8b\x9b\xe6\xa0\x87\xe6\x96\x87\xe4\xbb\xb6" * 100
    upload = SimpleUploadedFile("招标文件.pdf", content, content_type="application/pdf")
    response = api.post(f"/api/notices/{notice.pk}/documents/", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    digest = hashlib.sha256(content).hexdigest()
    assert response.json()["sha256"] == digest and response.json()["size"] == len(content)
    doc = Document.objects.get(pk=response.json()["id"])
    event = Event.objects.get(action="document.attach", subject=f"document:{doc.pk}")
    assert event.payload["sha256"] == digest and event.project_id == project.pk
    download = APIClient().get(response.json()["url"])
    assert download.status_code == 200 and download["X-Content-SHA256"] == digest
    assert b"".join(download.streaming_content) == content

    bad = {
        "virus.exe": (b"MZ\x90\x00", "not accepted"),
        "noextension": (b"data", "not accepted"),
        "empty.pdf": (b"", "file"),  # DRF's own message (in the default language, zh-hans)
    }
    for name, (body, message) in bad.items():
        before = snapshot()
        response = api.post(f"/api/notices/{notice.pk}/documents/", {"file": SimpleUploadedFile(name, body)}, format="multipart")
        assert response.status_code == 400, (name, response.content)
        assert message in response.json()["detail"], (name, response.json())
        assert snapshot() == before
    settings.SUNLIGHT_DOCUMENT_MAX_BYTES = 1024
    before = snapshot()
    response = api.post(f"/api/notices/{notice.pk}/documents/", {"file": SimpleUploadedFile("big.pdf", b"x" * 1025)},
                        format="multipart")
    assert response.status_code == 400 and "larger than" in response.json()["detail"]
    response = api.post(f"/api/notices/{notice.pk}/documents/", {"access": "secret"}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["detail"]
    assert snapshot() == before


def test_registered_only_documents(world, clock, api):
    project = factories.make_project(world, publish=True)
    notice = project.notices.get()
    upload = SimpleUploadedFile("招标文件.zip", b"PK\x03\x04 zip", content_type="application/zip")
    url = api.post(f"/api/notices/{notice.pk}/documents/", {"file": upload, "access": "registered"},
                   format="multipart").json()["url"]
    assert APIClient().get(url).status_code == 403
    bidder = APIClient()
    bidder.force_login(world.bidders[0])
    assert bidder.get(url).status_code == 403
    lot = project.lots.get()
    bidding.register(actor=world.bidders[0], lot=lot, declaration=[{"condition": c, "met": True} for c in lot.eligibility])
    assert bidder.get(url).status_code == 200
    assert lot.doc_end is not None
    clock.move_to(lot.doc_end + dt.timedelta(seconds=1))
    assert bidder.get(url).status_code == 403  # only during the document period
    supervisor = APIClient()
    supervisor.force_login(world.supervisor)
    assert supervisor.get(url).status_code == 200


@pytest.fixture
def catalogue(world, clock):
    """Projects of every kind, published on different days, one failed, one terminated."""
    made = {}
    made["road"] = factories.make_project(world, "engineering", "open_tender", publish=True, title="城南道路工程")
    clock.advance(days=1)
    made["pcs"] = factories.make_project(world, "procurement", "inquiry", publish=True, title="办公电脑采购")
    clock.advance(days=1)
    made["land"] = factories.make_project(world, "land", "listing", publish=True, title="东区地块挂牌出让")
    clock.advance(days=1)
    made["car"] = services.create_project(
        actor=world.staff, kind="asset", method="auction", title="公务车辆拍卖", owner=world.tenderee,
        supervisor=world.supervisor_org, region="高新区", budget_fen=100_000_000,
        lots=[factories.lot_spec("asset", "auction")])
    services.publish_project(actor=world.staff, project=made["car"])
    made["draft"] = factories.make_project(world, "engineering", "open_tender", title="未发布的草稿工程")
    services.terminate_project(actor=world.staff, project=made["pcs"], reason="需求变更")
    return made


def _codes(response):
    assert response.status_code == 200, response.content
    return {item["project"] for item in response.json()["results"]}


def test_notice_filters_and_pagination(world, catalogue):
    client = APIClient()
    c = {k: p.code for k, p in catalogue.items()}
    all_ = client.get("/api/notices/").json()
    assert all_["count"] == 5 and c["draft"] not in {n["project"] for n in all_["results"]}
    assert _codes(client.get("/api/notices/?project_kind=land")) == {c["land"]}
    assert _codes(client.get("/api/notices/?method=auction")) == {c["car"]}
    assert _codes(client.get("/api/notices/?region=高新")) == {c["car"]}
    assert _codes(client.get("/api/notices/?kind=termination")) == {c["pcs"]}
    assert _codes(client.get("/api/notices/?status=terminated")) == {c["pcs"]}
    assert _codes(client.get("/api/notices/?q=道路")) == {c["road"]}
    start = catalogue["road"].created_at
    day2 = (start + DAY).date().isoformat()
    assert _codes(client.get(f"/api/notices/?published_from={day2}")) == {c["pcs"], c["land"], c["car"]}
    assert _codes(client.get(f"/api/notices/?published_to={start.date().isoformat()}")) == {c["road"]}
    assert client.get("/api/notices/?published_from=yesterday").status_code == 400
    page = client.get("/api/notices/?limit=2").json()
    assert page["count"] == 5 and len(page["results"]) == 2 and page["next"]
    page2 = client.get("/api/notices/?limit=2&offset=2").json()
    page3 = client.get("/api/notices/?limit=2&offset=4").json()
    ids = [n["id"] for p in (page, page2, page3) for n in p["results"]]
    assert len(ids) == len(set(ids)) == 5 and page3["next"] is None
    stamps = [n["published_at"] for p in (page, page2, page3) for n in p["results"]]
    assert stamps == sorted(stamps, reverse=True)


def test_project_filters(world, catalogue):
    client = APIClient()
    c = {k: p.code for k, p in catalogue.items()}

    def codes(query):
        response = client.get(f"/api/projects/{query}")
        assert response.status_code == 200
        return {p["code"] for p in response.json()["results"]}

    assert codes("") == {c["road"], c["pcs"], c["land"], c["car"]}
    assert codes("?kind=asset") == {c["car"]}
    assert codes("?method=listing") == {c["land"]}
    assert codes("?region=高新") == {c["car"]}
    assert codes("?status=terminated") == {c["pcs"]}
    assert codes("?q=道路") == {c["road"]}
    assert codes(f"?q={c['land']}") == {c["land"]}
    assert codes("?kind=mining") == set()
    staff = as_user(world.staff)
    assert c["draft"] in {p["code"] for p in staff.get("/api/projects/?status=draft").json()["results"]}
    detail = client.get(f"/api/projects/{c['car']}/").json()
    assert detail["lots"][0]["estimate"] == "1000000.00" and detail["method"] == "auction"
    assert client.get(f"/api/projects/{catalogue['car'].pk}/").json()["code"] == c["car"]
    assert client.get("/api/projects/NO-SUCH/").status_code == 404
    assert client.get("/api/organisations/?kind=bidder").json()["count"] == len(world.bidder_orgs)


def test_change_feed(world, catalogue, clock):
    client = APIClient()
    first = client.get("/api/changes/?limit=3").json()
    assert len(first["results"]) == 3
    ids = [item["id"] for item in first["results"]]
    assert ids == sorted(ids) and first["next_after"] == ids[-1]
    everything, after = [], 0
    while True:
        page = client.get(f"/api/changes/?after={after}&limit=4").json()
        if not page["results"]:
            assert page["next_after"] == after
            break
        everything += page["results"]
        after = page["next_after"]
    ids = [item["id"] for item in everything]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    actions = {item["action"] for item in everything}
    assert actions <= {"project.publish", "lot.transition", "notice.publish", "document.attach"}
    assert {"project.publish", "lot.transition", "notice.publish"} <= actions
    draft_pk = catalogue["draft"].pk
    assert all(item["project_id"] != draft_pk for item in everything)  # drafts are not public
    # a later change appears after the cursor
    lot = catalogue["road"].lots.get()
    clock.move_to(lot.bid_deadline)
    trading_clock.tick()
    new = client.get(f"/api/changes/?after={after}").json()["results"]
    assert any(item["action"] == "lot.transition" and item["payload"]["to"] == "bidding_closed" for item in new)
    for query in ("after=abc", "after=-1", "limit=0", "limit=x"):
        response = client.get(f"/api/changes/?{query}")
        assert response.status_code == 400 and response.json()["detail"]


def test_organisation_api(world, clock):
    from trading.credit_code import complete

    staff = as_user(world.staff)
    good = complete("91330100" + "MA2AAAAA9")
    before = snapshot()
    for code, message in (("91350100M000100Y44", "check character"), ("123", "18 characters"),
                          ("91350100M000100YI3", "not allowed")):
        response = staff.post("/api/organisations/", {"name": "新公司", "credit_code": code, "kind": "bidder"}, format="json")
        assert response.status_code == 400 and message in response.json()["detail"], response.json()
        assert list(response.json()["fields"]) == ["credit_code"]
    response = staff.post("/api/organisations/", {"name": "新公司", "credit_code": good, "kind": "alien"}, format="json")
    assert response.status_code == 400 and "unknown organisation kind" in response.json()["detail"]
    assert APIClient().post("/api/organisations/", {"name": "x", "credit_code": good, "kind": "bidder"},
                            format="json").status_code == 401
    assert as_user(world.bidders[0]).post("/api/organisations/", {"name": "x", "credit_code": good, "kind": "bidder"},
                                          format="json").status_code == 403
    assert snapshot() == before
    response = staff.post("/api/organisations/", {"name": "新公司", "credit_code": good.lower(), "kind": "bidder"}, format="json")
    assert response.status_code == 201 and response.json()["credit_code"] == good
    before = snapshot()
    response = staff.post("/api/organisations/", {"name": "重复", "credit_code": good, "kind": "bidder"}, format="json")
    assert response.status_code == 409 and "already exists" in response.json()["detail"]
    assert snapshot() == before


def test_lot_api_hides_drafts(world, catalogue):
    client = APIClient()
    lots = client.get("/api/lots/?limit=100").json()["results"]
    assert catalogue["draft"].code not in {lot["project"] for lot in lots}
    assert len(lots) == Lot.objects.exclude(project=catalogue["draft"]).count()
    assert Notice.objects.count() == 5


def test_error_flattening_is_readable():
    from trading.api_errors import _flatten

    assert _flatten({"budget": ["bad"], "lots": {0: {"title": ["required"]}, 2: {"estimate": ["neg", "x"]}}}) == \
        "budget: bad; lots.0.title: required; lots.2.estimate: neg x"
    assert _flatten({"non_field_errors": ["wrong shape"]}) == "wrong shape"
    assert _flatten({"lots": [{}, {"title": ["required"]}]}) == "lots.1.title: required"


def test_a_page_never_holds_more_than_the_cap(world):
    from config.pagination import MAX_LIMIT
    from trading.models import Organisation

    for _ in range(MAX_LIMIT + 5 - Organisation.objects.count()):
        factories.make_org("bidder")
    page = APIClient().get("/api/organisations/?limit=10000").json()
    assert page["count"] == MAX_LIMIT + 5
    assert len(page["results"]) == MAX_LIMIT and page["next"]
