"""Every kind to the end (issue 18 item 4), driven through the public HTTP API only: from the notice to
``complete`` with every deposit settled, the OCDS release package validated at each step.

Tenders (engineering, procurement): sealed bids → opening → committee → report → publicity → award → contract.
Sales (land auction, land listing, state-asset auction): auction → result (成交) → the transaction confirmation
(成交确认书) → contract. Money moves through the bank's signed notifications; time moves by the clock fixture and
the deadline clock runs as it does in production (``run_all_ticks``). Negative tests assert nothing changed."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rest_framework.test import APIClient

from audit.canonical import canonical_bytes
from audit.models import Event
from deposits.bank.fake import BANK
from deposits.models import Account, RefundOrder
from tests import factories
from tests.trading.test_ocds import validate
from trading.clock import run_all_ticks
from trading.models import Lot, Notice
from trading.money import format_fen

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fake_bank")]
DAY = dt.timedelta(days=1)
SECURITY = "50000.00"



def client_for(user=None) -> APIClient:
    c = APIClient()
    if user is not None:
        c.force_authenticate(user)
    return c


def ok(response, code=200):
    assert response.status_code == code, (response.status_code, getattr(response, "data", response.content))
    return response.json()


def ocds(project_id) -> dict:
    package = ok(client_for().get(f"/api/projects/{project_id}/ocds/"))
    validate(package)
    return package


def tick(capture):
    """The deadline clock, with what its transactions send on commit (refunds to the bank, its confirmations)."""
    with capture(execute=True):
        run_all_ticks()
    with capture(execute=True):
        run_all_ticks()


def pay(lot_id, user):
    """The bidder pays its security; the bank tells the platform with a signed notification (HTTP)."""
    mine = ok(client_for(user).get("/api/deposits/mine/"))["results"]
    acc = next(a for a in mine if a["lot"] == lot_id)
    org = user.organisation
    body = {"type": "payment", "txn_id": BANK.next_id(), "amount": acc["required"], "currency": "CNY",
            "sub_account": acc["number"], "payer_name": org.name, "payer_account": org.bank_account,
            "booked_at": dt.datetime.now(dt.timezone.utc).isoformat()}
    raw, headers = BANK.signed(body)
    answer = ok(client_for().post("/api/deposits/bank/notifications/", raw, content_type="application/json", **headers))
    assert answer["status"] == "credited", answer


def register(lot_id, user, conditions=("具有有效的营业执照",)):
    ok(client_for(user).post("/api/bidding/registrations/", {
        "lot": lot_id, "declaration": [{"condition": c, "met": True} for c in conditions]}, format="json"), 201)


def assert_settled_and_complete(lot_id, project_id):
    lot = Lot.objects.get(pk=lot_id)
    assert lot.status == "complete"
    accounts = Account.objects.filter(lot=lot, kind="deposit")
    assert accounts and all(a.status in ("settled", "closed", "refunded") or a.available_fen == 0 for a in accounts)
    assert all(a.available_fen == 0 for a in accounts)
    assert set(RefundOrder.objects.filter(account__lot=lot).values_list("status", flat=True)) <= {"confirmed"}
    package = ocds(project_id)
    assert package["releases"][-1]["tender"]["lots"][0]["status"] == "complete"
    return package


# --------------------------------------------------------------------------------------------- sales

def sale_lot_json(kind, method, now):
    spec = factories.lot_spec(kind, method, now=now, security_fen=5_000_000)
    out = {"title": "第1标的 宗地", "estimate": format_fen(spec.estimate_fen), "security": SECURITY,
           "increment": format_fen(spec.increment_fen), "bid_deadline": spec.bid_deadline.isoformat(),
           "closing_rule": spec.closing_rule, "eligibility": list(spec.eligibility)}
    for name in ("auction_start", "listing_start", "listing_end"):
        if getattr(spec, name, None):
            out[name] = getattr(spec, name).isoformat()
    return out


def sale_to_award(world, clock, capture, kind, method):
    """Notice → registrations → deposits → auction (or listing) → deal, all over HTTP. Returns ids."""
    staff = client_for(world.staff)
    project = ok(staff.post("/api/projects/", {
        "kind": kind, "method": method, "title": f"{kind} {method} 出让", "owner": world.tenderee.pk,
        "supervisor": world.supervisor_org.pk, "region": "市本级", "budget": "1000000.00",
        "lots": [sale_lot_json(kind, method, clock.now)]}, format="json"), 201)
    ok(staff.post(f"/api/projects/{project['id']}/publish/", format="json"), 201)
    ocds(project["id"])
    lot = Lot.objects.get(project_id=project["id"])
    for user in world.bidders[:3]:
        register(lot.pk, user)
        pay(lot.pk, user)
    state = ok(staff.post("/api/auctions/", {"lot": lot.pk, "reserve": format_fen(lot.estimate_fen)}, format="json"), 201)
    auction_id = state["auction"]
    clock.move_to(dt.datetime.fromisoformat(state["start_at"].replace("Z", "+00:00")) + dt.timedelta(seconds=1))
    tick(capture)
    start = lot.estimate_fen
    increment = lot.increment_fen
    if method == "listing":  # one posted price: at the end of the listing the only bidder buys at it
        ok(client_for(world.bidders[1]).post(f"/api/auctions/{auction_id}/bids/",
                                             {"amount": format_fen(start + increment), "ref": "p1"}, format="json"), 201)
        price = start + increment
    else:
        for i, (user, ref) in enumerate(((world.bidders[0], "a1"), (world.bidders[1], "b1"))):
            ok(client_for(user).post(f"/api/auctions/{auction_id}/bids/",
                                     {"amount": format_fen(start + i * increment), "ref": ref}, format="json"), 201)
        price = start + increment
    end = ok(client_for().get(f"/api/auctions/{auction_id}/"))["end_at"]
    clock.move_to(dt.datetime.fromisoformat(end.replace("Z", "+00:00")) + dt.timedelta(seconds=1))
    tick(capture)
    lot.refresh_from_db()
    assert lot.status == "awarded"
    package = ocds(project["id"])
    result = package["releases"][-1]
    assert result["tag"] == ["award"] and result["awards"][0]["value"]["amount"] * 100 == price
    assert "contracts" not in result
    return project["id"], lot.pk, auction_id, price


def snapshot(lot_id):
    from bidding.auction.models import Confirmation, SaleContract

    return (Lot.objects.get(pk=lot_id).status, Event.objects.count(), Notice.objects.count(),
            Confirmation.objects.count(), SaleContract.objects.count())


def refused(lot_id, response, status, code):
    before = snapshot(lot_id)
    r = response()
    assert r.status_code == status, (r.status_code, r.content)
    body = r.json()
    assert body["code"] == code and body["detail"] and "fields" in body
    assert snapshot(lot_id) == before


CONTRACT_DOC = [{"name": "国有建设用地使用权出让合同.pdf", "sha256": "c" * 64}]


@pytest.mark.parametrize("kind, method", [("land", "auction"), ("land", "listing"), ("asset", "auction")])
def test_a_sale_from_notice_to_complete_through_the_api(world, clock, django_capture_on_commit_callbacks, kind, method):
    capture = django_capture_on_commit_callbacks
    project_id, lot_id, auction_id, price = sale_to_award(world, clock, capture, kind, method)
    staff, winner = client_for(world.staff), client_for(world.bidders[1])
    contract_body = {"signed_on": clock.now.date().isoformat(), "amount": format_fen(price), "documents": CONTRACT_DOC}
    # the contract before the confirmation, by a bidder, the confirmation by a bidder or a supervisor: refused
    refused(lot_id, lambda: staff.post(f"/api/auctions/{auction_id}/contract/", contract_body, format="json"),
            409, "conflict")
    refused(lot_id, lambda: winner.post(f"/api/auctions/{auction_id}/confirmation/", format="json"), 403, "forbidden")
    refused(lot_id, lambda: client_for(world.supervisor).post(f"/api/auctions/{auction_id}/confirmation/",
                                                              format="json"), 403, "forbidden")
    refused(lot_id, lambda: client_for(world.other_staff).post(f"/api/auctions/{auction_id}/confirmation/",
                                                               format="json"), 403, "forbidden")
    assert client_for().get(f"/api/auctions/{auction_id}/confirmation/").status_code == 404
    # the confirmation (成交确认书): generated from the auction record, its hash committed by an audit event
    conf = ok(staff.post(f"/api/auctions/{auction_id}/confirmation/", format="json"), 201)
    doc = conf["document"]
    assert conf["sha256"] == hashlib.sha256(canonical_bytes(doc)).hexdigest()
    assert doc["winner"]["name"] == world.bidder_orgs[1].name and doc["price_fen"] == price
    assert doc["basis"]["confirmation"] and doc["basis"]["sale_contract"]
    assert ("第二十一条" in doc["basis"]["confirmation"]) == (kind == "land")
    event = Event.objects.get(action="auction.confirmation", project_id=project_id)
    assert event.payload["sha256"] == conf["sha256"] and event.visibility == "public"
    for reader in (winner, client_for(world.supervisor), client_for()):  # the winner, supervisors, the public
        assert ok(reader.get(f"/api/auctions/{auction_id}/confirmation/"))["sha256"] == conf["sha256"]
    release = ocds(project_id)["releases"][-1]
    assert release["tag"] == ["awardUpdate"]
    assert conf["sha256"] in release["awards"][0]["documents"][0]["description"]
    refused(lot_id, lambda: staff.post(f"/api/auctions/{auction_id}/confirmation/", format="json"), 409, "conflict")
    # the contract: by a bidder, with another amount, with no document: refused; then recorded
    refused(lot_id, lambda: winner.post(f"/api/auctions/{auction_id}/contract/", contract_body, format="json"),
            403, "forbidden")
    refused(lot_id, lambda: staff.post(f"/api/auctions/{auction_id}/contract/",
                                       {**contract_body, "amount": format_fen(price - 100)}, format="json"),
            400, "invalid")
    refused(lot_id, lambda: staff.post(f"/api/auctions/{auction_id}/contract/",
                                       {**contract_body, "documents": []}, format="json"), 400, "invalid")
    clock.advance(days=2)
    signed = ok(staff.post(f"/api/auctions/{auction_id}/contract/", contract_body, format="json"), 201)
    assert signed["contract"]["amount"] == format_fen(price) and signed["contract"]["documents"] == CONTRACT_DOC
    assert Lot.objects.get(pk=lot_id).status == "contracted"
    refused(lot_id, lambda: staff.post(f"/api/auctions/{auction_id}/contract/", contract_body, format="json"),
            409, "conflict")
    release = ocds(project_id)["releases"][-1]
    assert release["tag"] == ["contract"]
    (contract,) = release["contracts"]
    assert contract["dateSigned"].startswith(contract_body["signed_on"]) and contract["awardID"] == release["awards"][0]["id"]
    assert contract["value"]["amount"] * 100 == price
    assert {d["documentType"] for d in contract["documents"]} == {"contractSigned", "awardNotice"}
    # complete once every security is settled: the winner's kept toward the price, the others refunded
    tick(capture)
    assert_settled_and_complete(lot_id, project_id)
    won = Account.objects.get(lot_id=lot_id, bidder=world.bidder_orgs[1], kind="deposit")
    assert won.status == "settled" and not RefundOrder.objects.filter(account=won).exists()
    assert RefundOrder.objects.filter(account__lot_id=lot_id, reason="non_winner", status="confirmed").count() == 2


def test_a_contract_after_the_confirmations_period_is_refused_and_supervisors_see_a_red_card(
        world, clock, django_capture_on_commit_callbacks):
    from supervision.clocks import card
    from supervision.watches import CLOCKS

    project_id, lot_id, auction_id, price = sale_to_award(world, clock, django_capture_on_commit_callbacks,
                                                          "land", "auction")
    staff = client_for(world.staff)
    conf = ok(staff.post(f"/api/auctions/{auction_id}/confirmation/", format="json"), 201)
    due = dt.datetime.fromisoformat(conf["contract_due"].replace("Z", "+00:00"))
    clock.move_to(due + dt.timedelta(minutes=1))
    watched = next(c for c in CLOCKS if c.name == "sale_contract")
    (watch,) = [w for w in watched.watches(clock.now) if w.lot_id == lot_id]
    assert card(watch, watched, clock.now) == "red" and "10个工作日" in watched.basis
    refused(lot_id, lambda: staff.post(f"/api/auctions/{auction_id}/contract/", {
        "signed_on": clock.now.date().isoformat(), "amount": format_fen(price), "documents": CONTRACT_DOC},
        format="json"), 409, "conflict")
    assert Lot.objects.get(pk=lot_id).status == "awarded"


# --------------------------------------------------------------------------------------------- tenders

COMPREHENSIVE = {
    "kind": "comprehensive",
    "criteria": [
        {"code": "qualification", "kind": "compliance", "ground": "unqualified", "name": "资格"},
        {"code": "price", "kind": "price", "weight": "60", "name": "价格"},
        {"code": "technical", "kind": "score", "weight": "40", "name": "技术"},
    ],
    "tie_break": ["price", "submitted"],
}


@pytest.mark.parametrize("kind", ["engineering", "procurement"])
def test_a_tender_from_notice_to_complete_through_the_api(world, clock, django_capture_on_commit_callbacks, kind):
    from bidding.envelopes import envelope as E
    from tests.evaluation.conftest import PASSPHRASE, make_experts

    capture = django_capture_on_commit_callbacks
    _experts, expert_users = make_experts(world, 7)
    staff, sup = client_for(world.staff), client_for(world.supervisor)
    now = clock.now
    ok(staff.post("/api/envelopes/custody-keys/", {"passphrase": PASSPHRASE}, format="json"), 201)
    ok(sup.post("/api/envelopes/custody-keys/", {"passphrase": PASSPHRASE}, format="json"), 201)
    project = ok(staff.post("/api/projects/", {
        "kind": kind, "method": "open_tender", "title": f"{kind} 公开招标", "owner": world.tenderee.pk,
        "agent": world.agent.pk, "supervisor": world.supervisor_org.pk, "region": "市本级", "budget": "1000000.00",
        "lots": [{"title": "第1标段", "estimate": "1000000.00", "security": "10000.00",
                  "bid_deadline": (now + 21 * DAY).isoformat(), "doc_start": now.isoformat(),
                  "doc_end": (now + 6 * DAY).isoformat(), "evaluation_method": "comprehensive",
                  "tie_break": "lower_price_then_earlier", "eligibility": ["具有有效的营业执照"]}]}, format="json"), 201)
    lot = Lot.objects.get(project_id=project["id"])
    ok(staff.put(f"/api/evaluation/lots/{lot.pk}/plan/", {"method": COMPREHENSIVE}, format="json"))
    ok(staff.post(f"/api/projects/{project['id']}/publish/", format="json"), 201)
    ocds(project["id"])
    prices = ["980000.00", "900000.00", "950000.00"]
    for i, price in enumerate(prices):
        user = world.bidders[i]
        register(lot.pk, user)
        pay(lot.pk, user)
        key = Ed25519PrivateKey.generate()
        ok(client_for(user).post("/api/bidding/keys/", {"public_key": E.ed25519_public_bytes(key).hex()},
                                 format="json"), 201)
        state = ok(client_for(user).get(f"/api/envelopes/lots/{lot.pk}/"))
        sealed = E.seal(lot_public_key=bytes.fromhex(state["public_key"]), project=lot.project_id, lot=lot.pk,
                        bidder=world.bidder_orgs[i].pk, price_fen=int(price.replace(".", "")), signing_key=key)
        ok(client_for(user).post(f"/api/envelopes/lots/{lot.pk}/envelope/", sealed.to_json(), format="json"), 201)
        clock.advance(minutes=1)
    lot.refresh_from_db()
    clock.move_to(lot.bid_deadline + dt.timedelta(minutes=1))
    tick(capture)
    ok(staff.post(f"/api/envelopes/lots/{lot.pk}/shares/", {"passphrase": PASSPHRASE}, format="json"), 201)
    ok(sup.post(f"/api/envelopes/lots/{lot.pk}/shares/", {"passphrase": PASSPHRASE}, format="json"), 201)
    ok(staff.post(f"/api/envelopes/lots/{lot.pk}/open/", format="json"))
    ocds(project["id"])
    ok(staff.post(f"/api/evaluation/lots/{lot.pk}/draw/commit/", {"size": 5}, format="json"), 201)
    reveal = ok(staff.post(f"/api/evaluation/lots/{lot.pk}/draw/reveal/", format="json"))
    ok(staff.post(f"/api/evaluation/lots/{lot.pk}/start/", format="json"), 201)
    tech = {world.bidder_orgs[0].pk: "36", world.bidder_orgs[1].pk: "30", world.bidder_orgs[2].pk: "35"}
    for eid in reveal["members"]:
        c = client_for(expert_users[eid])
        for b in ok(c.get(f"/api/evaluation/lots/{lot.pk}/workspace/"))["bids"]:
            ok(c.post(f"/api/evaluation/lots/{lot.pk}/sheet/", {"bidder": b["bidder"], "votes": {"qualification": True},
                                                                "scores": {"technical": tech[b["bidder"]]}}, format="json"))
    ok(staff.post(f"/api/evaluation/lots/{lot.pk}/report/", format="json"), 201)
    ok(staff.post(f"/api/evaluation/lots/{lot.pk}/candidates/", {"days": 3}, format="json"), 201)
    assert ocds(project["id"])["releases"][-1]["tag"] == ["award"]
    clock.advance(days=3, minutes=1)
    award = ok(staff.post(f"/api/evaluation/lots/{lot.pk}/award/", format="json"), 201)
    assert award["bidder"] == world.bidder_orgs[2].pk
    ocds(project["id"])
    tick(capture)  # the non-winners' refunds go out and the bank confirms them
    clock.advance(days=5)
    ok(staff.post(f"/api/evaluation/lots/{lot.pk}/contract/", {
        "signed_on": clock.now.date().isoformat(), "amount": "950000.00", "deposit_mode": "refund",
        "documents": [{"name": "合同.pdf", "sha256": "b" * 64}]}, format="json"), 201)
    assert Lot.objects.get(pk=lot.pk).status == "contracted"
    release = ocds(project["id"])["releases"][-1]
    assert "contract" in release["tag"] and release["contracts"][0]["value"]["amount"] == 950000
    tick(capture)  # the winner's security is refunded after the contract, then the lot completes
    package = assert_settled_and_complete(lot.pk, project["id"])
    assert package["releases"][-1]["awards"][0]["status"] == "active"
    assert set(RefundOrder.objects.filter(account__lot=lot).values_list("reason", flat=True)) == {"non_winner", "winner"}
