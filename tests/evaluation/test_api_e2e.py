"""End to end through the HTTP API: tender notice → bids → opening → draw → scoring → report →
candidate publicity → objection → award → signed contract; plus the API's bad-input answers."""
from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rest_framework.test import APIClient

from audit.models import Event
from bidding.envelopes import envelope as E
from tests.evaluation.conftest import DAY, PASSPHRASE, make_experts
from trading.models import Lot, Notice

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def ok(response, code=200):
    assert response.status_code == code, (response.status_code, getattr(response, "data", response.content))
    return response.json()


COMPREHENSIVE = {
    "kind": "comprehensive",
    "criteria": [
        {"code": "qualification", "kind": "compliance", "ground": "unqualified", "name": "资格"},
        {"code": "price", "kind": "price", "weight": "60", "name": "价格"},
        {"code": "technical", "kind": "score", "weight": "40", "name": "技术"},
    ],
    "tie_break": ["price", "submitted"],
}


def test_tender_notice_to_signed_contract_through_the_api(world, clock):
    from bidding import services as bidding_services

    experts, expert_users = make_experts(world, 7)
    staff, sup = client_for(world.staff), client_for(world.supervisor)
    now = clock.now
    # custody keys for the opening
    ok(staff.post("/api/envelopes/custody-keys/", {"passphrase": PASSPHRASE}, format="json"), 201)
    ok(sup.post("/api/envelopes/custody-keys/", {"passphrase": PASSPHRASE}, format="json"), 201)
    # the project and its tender notice
    lot_in = {"title": "第1标段 道路工程", "estimate": "1000000.00", "security": "0",
              "bid_deadline": (now + 21 * DAY).isoformat(), "doc_start": now.isoformat(),
              "doc_end": (now + 6 * DAY).isoformat(), "evaluation_method": "comprehensive",
              "tie_break": "lower_price_then_earlier", "eligibility": ["具有有效的营业执照"]}
    project = ok(staff.post("/api/projects/", {
        "kind": "engineering", "method": "open_tender", "title": "市政道路改造工程", "owner": world.tenderee.pk,
        "agent": world.agent.pk, "supervisor": world.supervisor_org.pk, "region": "市本级", "budget": "1000000.00",
        "lots": [lot_in]}, format="json"), 201)
    lot = Lot.objects.get(project_id=project["id"])
    ok(staff.put(f"/api/evaluation/lots/{lot.pk}/plan/", {"method": COMPREHENSIVE}, format="json"))
    ok(staff.post(f"/api/projects/{project['id']}/publish/", format="json"), 201)
    # three bidders register and submit sealed bids
    prices = ["980000.00", "900000.00", "950000.00"]
    for i, price in enumerate(prices):
        user = world.bidders[i]
        bidding_services.register(actor=user, lot=lot, declaration=[{"condition": "具有有效的营业执照", "met": True}])
        key = Ed25519PrivateKey.generate()
        bidding_services.register_bidder_key(actor=user, public_key_hex=E.ed25519_public_bytes(key).hex())
        state = ok(client_for(user).get(f"/api/envelopes/lots/{lot.pk}/"))
        sealed = E.seal(lot_public_key=bytes.fromhex(state["public_key"]), project=lot.project_id, lot=lot.pk,
                        bidder=world.bidder_orgs[i].pk, price_fen=int(price.replace(".", "")), signing_key=key)
        ok(client_for(user).post(f"/api/envelopes/lots/{lot.pk}/envelope/", sealed.to_json(), format="json"), 201)
        clock.advance(minutes=1)
    # deadline, opening ceremony
    lot.refresh_from_db()
    clock.move_to(lot.bid_deadline + dt.timedelta(minutes=1))
    from trading.clock import run_all_ticks
    run_all_ticks()
    ok(staff.post(f"/api/envelopes/lots/{lot.pk}/shares/", {"passphrase": PASSPHRASE}, format="json"), 201)
    ok(sup.post(f"/api/envelopes/lots/{lot.pk}/shares/", {"passphrase": PASSPHRASE}, format="json"), 201)
    ok(staff.post(f"/api/envelopes/lots/{lot.pk}/open/", format="json"))
    # the committee draw: commit, reveal, verify
    commit = ok(staff.post(f"/api/evaluation/lots/{lot.pk}/draw/commit/", {"size": 5}, format="json"), 201)
    reveal = ok(staff.post(f"/api/evaluation/lots/{lot.pk}/draw/reveal/", format="json"))
    from bidding.evaluation import draw as drawing
    assert drawing.verify(bytes.fromhex(reveal["seed"]), commit["commitment"])
    assert reveal["members"] == sorted(drawing.order(bytes.fromhex(reveal["seed"]), commit["eligible"],
                                                     f"lot:{lot.pk}")[:5])
    assert ok(sup.get(f"/api/evaluation/lots/{lot.pk}/committee/"))["revealed"] is True
    ok(staff.post(f"/api/evaluation/lots/{lot.pk}/start/", format="json"), 201)
    # experts score in their workspace
    member_users = [expert_users[eid] for eid in reveal["members"]]
    outsider = next(u for eid, u in expert_users.items() if eid not in reveal["members"])
    assert client_for(outsider).get(f"/api/evaluation/lots/{lot.pk}/workspace/").status_code == 403
    tech = {world.bidder_orgs[0].pk: "36", world.bidder_orgs[1].pk: "30", world.bidder_orgs[2].pk: "35"}
    for user in member_users:
        c = client_for(user)
        ws = ok(c.get(f"/api/evaluation/lots/{lot.pk}/workspace/"))
        assert len(ws["bids"]) == 3 and {b["price"] for b in ws["bids"]} == set(prices)
        bad = c.post(f"/api/evaluation/lots/{lot.pk}/sheet/",
                     {"bidder": world.bidder_orgs[0].pk, "scores": {"technical": "41"}}, format="json")
        assert bad.status_code == 400 and "outside" in bad.json()["detail"]
        for b in ws["bids"]:
            ok(c.post(f"/api/evaluation/lots/{lot.pk}/sheet/",
                      {"bidder": b["bidder"], "votes": {"qualification": True}, "scores": {"technical": tech[b["bidder"]]}},
                      format="json"))
    # the report: price 60 × 900000 / p + technical
    #   bidder0: 60×900/980 = 55.10 + 36 = 91.10; bidder1: 60 + 30 = 90; bidder2: 56.84 + 35 = 91.84
    rep = ok(staff.post(f"/api/evaluation/lots/{lot.pk}/report/", format="json"), 201)
    assert [c["bidder"] for c in rep["candidates"]] == [world.bidder_orgs[2].pk, world.bidder_orgs[0].pk,
                                                        world.bidder_orgs[1].pk]
    assert [c["total"] for c in rep["candidates"]] == ["91.84", "91.10", "90.00"]
    # candidates are not public before the publicity
    assert APIClient().get(f"/api/evaluation/lots/{lot.pk}/candidates/").status_code == 404
    pub = ok(staff.post(f"/api/evaluation/lots/{lot.pk}/candidates/", {"days": 3}, format="json"), 201)
    assert Notice.objects.get(number=pub["publicity"]["notice"]).kind == "candidates"
    assert len(ok(APIClient().get(f"/api/evaluation/lots/{lot.pk}/candidates/"))["candidates"]) == 3
    # an objection, answered (dismissed)
    loser = client_for(world.bidders[1])
    obj = ok(loser.post("/api/cases/", {"kind": "candidate_objection", "lot": lot.pk, "subject": "评分",
                                        "text": "评分有误"}, format="json"), 201)
    assert obj["number"] in {c["number"] for c in ok(sup.get("/api/cases/"))}
    early = staff.post(f"/api/evaluation/lots/{lot.pk}/award/", format="json")
    assert early.status_code == 409
    ok(staff.post(f"/api/cases/{obj['number']}/answer/", {"outcome": "dismissed", "answer": "评分复核无误"},
                  format="json"))
    clock.advance(days=3, minutes=1)
    late = loser.post("/api/cases/", {"kind": "candidate_objection", "lot": lot.pk, "subject": "again", "text": "again"},
                      format="json")
    assert late.status_code == 409 and "closed" in late.json()["detail"] and "第五十四条" in late.json()["detail"]
    award = ok(staff.post(f"/api/evaluation/lots/{lot.pk}/award/", format="json"), 201)
    assert award["bidder"] == world.bidder_orgs[2].pk and award["price"] == "950000.00"
    assert ok(APIClient().get(f"/api/evaluation/lots/{lot.pk}/award/"))["status"] == "active"
    # the contract: wrong amount refused, then signed
    clock.advance(days=10)
    bad = staff.post(f"/api/evaluation/lots/{lot.pk}/contract/",
                     {"signed_on": clock.now.date().isoformat(), "amount": 950000.0}, format="json")
    assert bad.status_code == 400
    signed = ok(staff.post(f"/api/evaluation/lots/{lot.pk}/contract/",
                           {"signed_on": clock.now.date().isoformat(), "amount": "950000.00",
                            "documents": [{"name": "合同.pdf", "sha256": "b" * 64}]}, format="json"), 201)
    assert signed["award"]["status"] == "contracted"
    lot.refresh_from_db()
    assert lot.status == "contracted"
    # supervisors cannot act
    assert sup.post(f"/api/evaluation/lots/{lot.pk}/refusal/", {"reason": "x"}, format="json").status_code == 403
    actions = set(Event.objects.filter(project_id=lot.project_id).values_list("action", flat=True))
    assert {"evaluation.draw_commit", "evaluation.draw_reveal", "evaluation.report", "evaluation.publicity",
            "case.file", "case.answer", "evaluation.award", "evaluation.contract"} <= actions
    # OCDS: the release package carries the award and the contract
    pkg = ok(APIClient().get(f"/api/projects/{lot.project_id}/ocds/"))
    release = pkg["releases"][-1]
    if "awards" in release:
        assert release["awards"][0]["status"] == "active"
        assert release["contracts"][0]["status"] == "active"
