"""OCDS 1.1 release packages validate offline against ../shared/standards/ocds-1.1 (no network)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import jsonschema
import pytest
from django.core.management import CommandError, call_command
from referencing import Registry, Resource
from rest_framework.test import APIClient

from tests import factories
from trading import clock as trading_clock
from trading import ocds, services
from trading.services import transition_lot

pytestmark = pytest.mark.django_db

STANDARD = Path(__file__).resolve().parents[3] / "shared" / "standards" / "ocds-1.1"
if not STANDARD.exists():
    STANDARD = Path("/work/shared/standards/ocds-1.1")
BASE = "https://standard.open-contracting.org/schema/1__1__5/"


def _load(name):
    return json.loads((STANDARD / name).read_text(encoding="utf-8"))


def _codes(name) -> set[str]:
    with open(STANDARD / "codelists" / name, encoding="utf-8") as fh:
        return {row["Code"] for row in csv.DictReader(fh)}


PACKAGE_SCHEMA = _load("release-package-schema.json")
REGISTRY = Registry().with_resources(
    (BASE + name, Resource.from_contents(_load(name)))
    for name in ("release-schema.json", "release-package-schema.json")
)
Validator = jsonschema.validators.validator_for(PACKAGE_SCHEMA)
VALIDATOR = Validator(PACKAGE_SCHEMA, registry=REGISTRY, format_checker=Validator.FORMAT_CHECKER)


def validate(package: dict) -> None:
    errors = sorted(VALIDATOR.iter_errors(package), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    # closed codelists and the codelists we rely on, checked against the CSVs of the standard
    tags, roles, methods = _codes("releaseTag.csv"), _codes("partyRole.csv"), _codes("method.csv")
    statuses, currencies = _codes("tenderStatus.csv"), _codes("currency.csv")
    ids = [r["id"] for r in package["releases"]]
    assert len(ids) == len(set(ids))
    for release in package["releases"]:
        assert release["ocid"].startswith("ocds-")
        assert set(release["tag"]) <= tags
        assert release["initiationType"] in _codes("initiationType.csv")
        for party in release["parties"]:
            assert set(party["roles"]) <= roles
        tender = release["tender"]
        assert tender["procurementMethod"] in methods and tender["status"] in statuses
        if "mainProcurementCategory" in tender:
            assert tender["mainProcurementCategory"] in _codes("procurementCategory.csv")
        assert tender["value"]["currency"] in currencies
        for lot in tender["lots"]:  # lots extension: lot.status uses tenderStatus
            assert lot["status"] in statuses
        for fee in tender.get("participationFees", []):
            assert fee["type"] == ["deposit"] and fee["value"]["amount"] > 0
        party_ids = {p["id"] for p in release["parties"]}
        assert release["buyer"]["id"] in party_ids and tender["procuringEntity"]["id"] in party_ids


def test_validator_is_not_toothless():
    bad = {"uri": "x", "version": "1.1", "publishedDate": "2026-01-01T00:00:00Z", "publisher": {"name": "x"},
           "releases": [{"ocid": "ocds-x-1", "id": "1", "date": "2026-01-01T00:00:00Z", "tag": ["nonsense"],
                         "initiationType": "tender", "tender": {"id": "t", "status": "sleeping"}}]}
    assert list(VALIDATOR.iter_errors(bad))
    assert list(VALIDATOR.iter_errors({"releases": []}))


@pytest.fixture
def projects(world, clock):
    """Projects of all four kinds in several states, moved only through the services."""
    made = {}
    # engineering: published, amended and clarified, then bidding closed by the clock
    eng = factories.make_project(world, "engineering", "open_tender", publish=True, lots=2)
    tender = eng.notices.get()
    services.attach_document(actor=world.staff, notice=tender, name="招标文件.pdf", content=b"%PDF-1.4")
    clock.advance(days=10)
    services.publish_amendment(actor=world.staff, notice=tender, title="变更公告", body="工期调整")
    services.publish_amendment(actor=world.staff, notice=tender, title="澄清公告", body="答疑", kind="clarification")
    made["engineering-closed"] = eng
    # engineering: terminated
    made["engineering-terminated"] = factories.make_project(world, "engineering", "invited_tender", publish=True)
    services.terminate_project(actor=world.staff, project=made["engineering-terminated"], reason="项目取消")
    # procurement: through the whole tender path to complete, with its notices
    pro = factories.make_project(world, "procurement", "inquiry", publish=True)
    made["procurement-complete"] = pro
    lot = pro.lots.get()
    clock.move_to(lot.bid_deadline)
    trading_clock.tick()
    for action in ("open", "evaluate", "publicise"):
        transition_lot(lot=lot, action=action, actor=world.staff)
    services.publish_notice(actor=world.staff, project=pro, lot=lot, kind="candidates", title="中标候选人公示", body="第一名")
    for action in ("award", "sign_contract", "complete"):
        transition_lot(lot=lot, action=action, actor=world.staff)
    services.publish_notice(actor=world.staff, project=pro, lot=lot, kind="result", title="结果公告", body="成交")
    # land listing: listing started; asset auction: failed
    made["land-listing"] = factories.make_project(world, "land", "listing", publish=True)
    made["land-auction"] = factories.make_project(world, "land", "auction", publish=True)
    made["asset-failed"] = factories.make_project(world, "asset", "auction", publish=True)
    made["asset-listing"] = factories.make_project(world, "asset", "listing", publish=True)
    clock.advance(days=60)
    trading_clock.tick()
    failed = made["asset-failed"].lots.get()
    assert failed.status == "live"  # registration closed and auction started while we were away
    transition_lot(lot=failed, action="close_auction", actor=world.staff)
    transition_lot(lot=failed, action="fail", actor=world.staff, reason="无人应价")
    return made


EXPECTED_STATUS = {
    "engineering-closed": "active", "engineering-terminated": "cancelled", "procurement-complete": "complete",
    "land-listing": "active", "land-auction": "active", "asset-failed": "unsuccessful", "asset-listing": "active",
}


def test_every_kind_and_state_validates(projects, subtests):
    kinds = set()
    for name, project in projects.items():
        with subtests.test(msg=name):
            package = ocds.release_package(project)
            validate(package)
            json.dumps(package)  # plain JSON
            kinds.add(project.kind)
            last = package["releases"][-1]
            assert last["tender"]["status"] == EXPECTED_STATUS[name]
            assert len(package["releases"]) == project.notices.count()
            assert package["extensions"] and all(e.endswith("extension.json") for e in package["extensions"])
    assert kinds == {"engineering", "procurement", "land", "asset"}


def test_amendments_and_tags(projects):
    package = ocds.release_package(projects["engineering-closed"])
    tags = [r["tag"] for r in package["releases"]]
    assert tags == [["tender"], ["tenderAmendment"], ["tenderUpdate"]]
    assert "amendments" not in package["releases"][0]["tender"]
    # each release carries its own notice's amendment (OCDS merges releases into the record): linear size
    assert [a["rationale"] for r in package["releases"] for a in r["tender"].get("amendments", [])] == ["变更公告", "澄清公告"]
    assert [len(r["tender"].get("amendments", [])) for r in package["releases"]] == [0, 1, 1]
    assert len(package["releases"][0]["tender"]["lots"]) == 2
    assert package["releases"][0]["tender"]["participationFees"][0]["type"] == ["deposit"]
    terminated = ocds.release_package(projects["engineering-terminated"])
    assert terminated["releases"][-1]["tag"] == ["tenderCancellation"]
    complete = ocds.release_package(projects["procurement-complete"])
    assert [r["tag"][0] for r in complete["releases"]] == ["tender", "award", "awardUpdate"]


def test_api_endpoint(projects):
    project = projects["land-listing"]
    response = APIClient().get(f"/api/projects/{project.code}/ocds/")
    assert response.status_code == 200
    validate(response.json())


def test_api_refuses_a_project_without_notices(world, clock):
    draft = factories.make_project(world)
    client = APIClient()
    client.force_authenticate(world.staff)
    response = client.get(f"/api/projects/{draft.code}/ocds/")
    assert response.status_code == 409 and "no published notice" in response.json()["detail"]
    assert APIClient().get(f"/api/projects/{draft.code}/ocds/").status_code == 404


def test_management_command(projects, tmp_path, capsys):
    project = projects["engineering-closed"]
    out = tmp_path / "package.json"
    call_command("ocds_export", project.code, "--out", str(out))
    assert f"wrote {out}" in capsys.readouterr().out
    package = json.loads(out.read_text(encoding="utf-8"))
    validate(package)
    assert package == json.loads(json.dumps(ocds.release_package(project)))
    call_command("ocds_export", str(project.pk))
    assert json.loads(capsys.readouterr().out)["releases"][0]["ocid"] == ocds.ocid(project)
    with pytest.raises(CommandError, match="no project"):
        call_command("ocds_export", "NO-SUCH-PROJECT")


def test_management_command_refuses_a_draft(world, clock):
    draft = factories.make_project(world)
    with pytest.raises(CommandError, match="no published notice"):
        call_command("ocds_export", draft.code)
