"""One format per thing (issue 18 item 2, docs/api-formats.md): the OpenAPI schema walked for money, ids and
times; real answers sampled for their times; the old forms refused with a 400 that names the expected one."""
from __future__ import annotations

import re

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from bidding.auction.models import AuctionBid
from tests.auction.helpers import make_auction
from trading.models import Project
from trading.money import MONEY_PATTERN

# a name's words that say "money" (split on "_"): such a property may never be an integer or a number
MONEY_WORDS = {"amount", "price", "security", "fen", "total", "budget", "estimate", "reserve", "increment",
               "balance", "held", "liabilities", "ceiling", "minimum", "maximum", "deposit", "value", "yuan"}
# properties named as an amount (the whole name): strings with the one decimal pattern
MONEY_NAMES = {"amount", "price", "budget", "estimate", "security", "increment", "reserve", "balance", "required",
               "held", "ceiling", "minimum", "maximum", "starting_price", "liabilities", "bank", "bank_from_bank_txns",
               "refunds_in_flight", "closing", "ledger"}
# words that are not money although they share a word with it
NOT_MONEY = {"total": "a score total (points): a string, not an amount",
             "max_jump": "a count of increments", "min_valid": "a count of bids"}

# object answers of GET operations that are not one thing with an id of its own, and why
NO_ID = {
    "AuctionDetail": "the auction's state; the auction's id is `auction`",
    "AuctionResync": "a frame of the auction room (state and events of the auction in the URL)",
    "AuctionEvent": "an auction's event: `seq` is its number within the auction",
    "AuditEventPage": "a page (`results`, `next_after`)", "ChangeFeed": "a page (`results`, `next_after`)",
    "CheckpointPage": "a page", "Checkpoint": "a checkpoint is named by its tree size (`size`), C2SP",
    "ConsistencyProof": "a proof between two tree sizes", "InclusionProof": "a proof for an event (`event`)",
    "AuditPublicKey": "the log's key", "AuditLogIdentity": "the log's key",
    "OcdsReleasePackage": "an OCDS package (its own identifiers, `ocid`)",
    "OpeningState": "a lot's opening state (the lot in the URL: `lot`)",
    "EvaluationState": "a lot's evaluation (`evaluation` is its id)", "EvaluationWorkspace": "an expert's view of a lot",
    "EvaluationMethod": "a lot's declared method (the lot in the URL)", "Committee": "a lot's committee (one per lot)",
    "CandidatePublicity": "a lot's publicity and its candidates (each with an id)",
    "DepositLotOverview": "a lot's deposits (`lot`; each account with an id)",
    "DepositAccountList": "a list wrapper (`results`)", "SuspenseList": "a list wrapper", "RefundOrderList": "a list wrapper",
    "ForfeitList": "a list wrapper", "StatementImportList": "a list wrapper", "LedgerSummary": "whole-account totals",
    "SealedShare": "a custodian's share of a lot (`custodian`, `x`)", "PlatformKey": "the platform's key",
    "EnvelopeReceipt": "a receipt, named by the envelope's `digest`",
    "ReceiptProof": "a receipt with its proof, named by the envelope's `digest`",
    "SupervisionAlertList": "a list wrapper (`alerts`, each with its `ref`)",
    "ProjectCases": "a project's cases (each named by its `number`) and suspension",
    "OpennessReport": "a yearly report (`year`)",
    "CaseRule": "a rule of the cases table, named by its `kind`",
    "Case": "a case is named by its `number` (the key of its URL); a database id would count the cases the caller "
            "may not see", "PublishedCase": "as Case",
}
ID_WORDS = ("id", "number", "ref", "seq")


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _resolve(schema, node):
    while isinstance(node, dict) and "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    if isinstance(node, dict) and "allOf" in node and len(node["allOf"]) == 1:
        return _resolve(schema, node["allOf"][0])
    return node


def _properties(schema):
    """Every (where, name, property schema) of the components, nested inline objects included."""
    stack = [(name, comp) for name, comp in schema["components"]["schemas"].items()]
    while stack:
        where, node = stack.pop()
        if not isinstance(node, dict):
            continue
        for name, prop in (node.get("properties") or {}).items():
            yield where, name, prop
            stack.append((f"{where}.{name}", prop))
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                stack.append((f"{where}[]", node[key]))


def test_no_amount_is_an_integer_and_every_amount_has_the_decimal_pattern(schema):
    wrong = []
    for where, name, prop in _properties(schema):
        words = set(name.split("_"))
        kinds = {prop.get("type")} | {(prop.get("additionalProperties") or {}).get("type") if isinstance(
            prop.get("additionalProperties"), dict) else None}
        if words & MONEY_WORDS and name not in NOT_MONEY and kinds & {"integer", "number"}:
            wrong.append(f"{where}.{name}: {prop.get('type')} (money is a decimal string)")
        if name.endswith("_fen"):
            wrong.append(f"{where}.{name}: a field named in fen")
        if name in MONEY_NAMES and prop.get("type") == "string" and prop.get("pattern") != MONEY_PATTERN:
            wrong.append(f"{where}.{name}: a string without the decimal pattern")
    assert wrong == [], "\n".join(sorted(wrong))


def test_every_thing_a_list_or_detail_returns_has_an_id(schema):
    missing = []
    for path, item in schema["paths"].items():
        op = item.get("get")
        if op is None:
            continue
        body = (op["responses"].get("200", {}).get("content") or {}).get("application/json", {}).get("schema")
        if body is None:
            continue
        name = body["$ref"].rsplit("/", 1)[1] if "$ref" in body else None
        node = _resolve(schema, body)
        if node.get("type") == "array":
            name, node = (node["items"].get("$ref", "").rsplit("/", 1)[-1] or name), _resolve(schema, node["items"])
        elif "results" in (node.get("properties") or {}) and name not in NO_ID:
            items = node["properties"]["results"].get("items", {})
            name, node = (items.get("$ref", "").rsplit("/", 1)[-1] or name), _resolve(schema, items)
        props = node.get("properties") or {}
        if not props or name in NO_ID:
            continue
        if "id" not in props:
            missing.append(f"GET {path}: {name} {sorted(props)[:6]}")
    assert missing == [], "\n".join(missing)


def test_the_exemptions_are_real_components(schema):
    names = set(schema["components"]["schemas"])
    assert set(NO_ID) <= names, set(NO_ID) - names


ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _moments(value, where=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _moments(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _moments(v, f"{where}.{i}")
    elif isinstance(value, str) and ISO_MOMENT.match(value):
        yield where, value


@pytest.mark.django_db
def test_every_moment_in_real_answers_is_utc_with_z(world, clock):
    auction = make_auction(world, clock, open_now=True)
    bidder = APIClient()
    bidder.force_authenticate(world.bidders[0])
    r = bidder.post(f"/api/auctions/{auction.pk}/bids/", {"amount": f"{auction.starting_price_fen // 100}.00",
                                                          "ref": "z1"}, format="json")
    assert r.status_code == 201, r.content
    staff = APIClient()
    staff.force_authenticate(world.staff)
    project = Project.objects.get(lots=auction.lot)
    urls = ["/api/projects/", f"/api/projects/{project.code}/", "/api/lots/", "/api/notices/", "/api/changes/",
            "/api/auctions/", f"/api/auctions/{auction.pk}/", f"/api/auctions/{auction.pk}/events/",
            "/api/bidding/registrations/"]
    seen = []
    for url in urls:
        client = bidder if "bidding" in url else staff
        answer = client.get(url)
        assert answer.status_code == 200, (url, answer.content[:300])
        for where, value in _moments(answer.json(), url):
            seen.append(where)
            assert value.endswith("Z"), (where, value)
    assert len(seen) > 20  # the sample holds moments of projects, lots, notices, auctions, registrations
    assert AuctionBid.objects.count() == 1


@pytest.mark.django_db
def test_old_money_forms_are_refused_naming_the_expected_form(world, clock):
    auction = make_auction(world, clock, open_now=True)
    bidder = APIClient()
    bidder.force_authenticate(world.bidders[0])
    url = f"/api/auctions/{auction.pk}/bids/"
    whole = auction.starting_price_fen
    for body, field in (({"amount": whole, "ref": "old1"}, "amount"),
                        ({"amount_fen": whole, "ref": "old2"}, "amount_fen")):
        r = bidder.post(url, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
        assert r.status_code == 400, r.content
        error = r.json()
        assert error["code"] == "invalid" and 'a decimal string like "1234.56"' in error["detail"], error
        assert field in error["fields"], error
    assert AuctionBid.objects.count() == 0
    staff = APIClient()
    staff.force_authenticate(world.staff)
    before = Project.objects.count()
    lot = {"title": "x", "estimate": "1.00", "bid_deadline": "2031-01-01T00:00:00Z"}
    body = {"kind": "engineering", "method": "open_tender", "title": "t", "owner": world.tenderee.pk,
            "supervisor": world.supervisor_org.pk, "region": "r", "budget": 100000, "lots": [lot]}
    r = staff.post("/api/projects/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400 and r.json()["fields"]["budget"] == [
        'expected a decimal string like "1234.56", not a number'], r.content
    r = staff.post("/api/projects/", {**body, "budget": "1000.00", "lots": [{**lot, "estimate_fen": 100}]}, format="json",
                   HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400 and "lots.0.estimate_fen" in r.json()["fields"], r.content
    assert '"estimate"' in r.json()["detail"], r.content
    assert Project.objects.count() == before
    r = staff.post("/api/projects/", {**body, "budget_fen": 100}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 400 and r.json()["fields"] == {"budget_fen": [
        '金额请用字段“budget”，以元为单位的十进制字符串（如 "1234.56"），不要用分']}, r.content
    assert Project.objects.count() == before


@pytest.mark.django_db
def test_old_key_forms_are_refused_naming_hex(world):
    from bidding.models import BidderKey
    from bidding.envelopes import envelope as E
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    raw = E.ed25519_public_bytes(Ed25519PrivateKey.generate())
    bidder = APIClient()
    bidder.force_authenticate(world.bidders[0])
    for text, words in ((E.b64e(raw), "base64 is not accepted; expected 64 lowercase hexadecimal characters"),
                        (raw.hex().upper(), "not upper case"), (raw.hex()[:-2], "expected 64 lowercase")):
        r = bidder.post("/api/bidding/keys/", {"public_key": text}, format="json", HTTP_ACCEPT_LANGUAGE="en")
        assert r.status_code == 400 and words in r.json()["fields"]["public_key"][0], r.content
    assert BidderKey.objects.count() == 0
    r = bidder.post("/api/bidding/keys/", {"public_key": raw.hex()}, format="json")
    assert r.status_code == 201 and r.json()["public_key"] == raw.hex()
    staff = APIClient()
    staff.force_authenticate(world.staff)
    r = staff.post("/api/envelopes/custody-keys/", {"public_key": E.b64e(raw)}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400 and "base64 is not accepted" in r.json()["detail"], r.content
    platform = APIClient().get("/api/envelopes/platform-key/").json()["ed25519"]
    assert len(platform) == 64 and bytes.fromhex(platform)
