"""OCDS 1.1 export: one release package per project, one release per notice, with the lots and
participationFee extensions. Later capabilities add awards and contracts through
settings.SUNLIGHT_OCDS_CONTRIBUTORS (dotted paths, each `contribute(project, release, notice)`).

Releases are not cumulative (OCDS merges them into a record): each carries the amendment its own notice
made, not every earlier one, so a package grows linearly with the project's notices; the project's lots
and notices are read once per package, not once per release."""
from __future__ import annotations

import inspect

from django.conf import settings
from django.utils.module_loading import import_string

from trading.models import Notice, Organisation, Project
from trading.rules import METHODS
from audit import timestamps
from trading.lifecycle import LotStatus

EXTENSIONS = [
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_participationFee_extension/v1.1.5/extension.json",
]
PROCUREMENT_METHOD = {
    "open_tender": "open", "invited_tender": "selective", "competitive_negotiation": "limited",
    "inquiry": "limited", "auction": "open", "listing": "open",
}
CATEGORY = {"engineering": "works", "procurement": "goods"}
RELEASE_TAG = {
    "tender": "tender", "amendment": "tenderAmendment", "clarification": "tenderUpdate",
    "opening_record": "tenderUpdate", "candidates": "award", "result": "awardUpdate", "termination": "tenderCancellation",
}
LOT_STATUS = {
    LotStatus.DRAFT: "planned", LotStatus.PUBLISHED: "active", LotStatus.LISTING: "active", LotStatus.AUCTION_SCHEDULED: "active", LotStatus.LIVE: "active",
    LotStatus.BIDDING_CLOSED: "active", LotStatus.OPENED: "active", LotStatus.EVALUATED: "active", LotStatus.PUBLICITY: "active", LotStatus.CLOSED: "active",
    LotStatus.AWARDED: "complete", LotStatus.CONTRACTED: "complete", LotStatus.COMPLETE: "complete", LotStatus.FAILED: "unsuccessful",
    LotStatus.TERMINATED: "cancelled",
}


iso = timestamps.iso_seconds  # OCDS dates: whole seconds


def amount(fen: int) -> int | float:
    return fen // 100 if fen % 100 == 0 else fen / 100


def value(fen: int) -> dict:
    return {"amount": amount(fen), "currency": "CNY"}


def ocid(project: Project) -> str:
    return f"{settings.SUNLIGHT_OCID_PREFIX}-{project.code}"


def party(org: Organisation, roles: list[str]) -> dict:
    return {"id": f"CN-USCC-{org.credit_code}", "name": org.name,
            "identifier": {"scheme": "CN-USCC", "id": org.credit_code, "legalName": org.name},
            "address": {"region": org.region or "", "countryName": "中国"}, "roles": roles}


def add_supplier(release: dict, org: Organisation) -> None:
    """Name ``org`` among the release's parties with the role supplier (once)."""
    pid = f"CN-USCC-{org.credit_code}"
    for known in release.setdefault("parties", []):
        if known["id"] == pid:
            if "supplier" not in known["roles"]:
                known["roles"].append("supplier")
            return
    release["parties"].append(party(org, ["supplier"]))


def parties(project: Project) -> list[dict]:
    items = [party(project.owner, ["buyer"]), party(project.centre, ["procuringEntity"]),
             party(project.supervisor, ["reviewBody"])]
    if project.agent:
        items.append(party(project.agent, ["procuringEntity"]))
    return items


def tender_section(project: Project, notice: Notice, lots: list | None = None) -> dict:
    lots = lots if lots is not None else list(project.lots.order_by("number"))
    tender = {
        "id": project.code,
        "title": project.title,
        "description": project.description or project.title,
        "status": _tender_status(lots),
        "value": value(project.budget_fen),
        "procurementMethod": PROCUREMENT_METHOD[project.method],
        "procurementMethodDetails": METHODS[project.method][0],
        "procuringEntity": {"id": f"CN-USCC-{project.centre.credit_code}", "name": project.centre.name},
        "tenderPeriod": {"startDate": iso(min((l.notice_at for l in lots if l.notice_at), default=None)),
                         "endDate": iso(max(l.bid_deadline for l in lots))},
        "lots": [
            {"id": str(l.number), "title": l.title, "status": LOT_STATUS[l.status], "value": value(l.estimate_fen)}
            for l in lots
        ],
        "participationFees": [
            {"id": f"deposit-{l.number}", "type": ["deposit"], "value": value(l.security_fen),
             "description": f"投标/竞买保证金 lot {l.number}", "methodOfPayment": ["bank transfer"]}
            for l in lots if l.security_fen
        ],
    }
    if project.kind in CATEGORY:
        tender["mainProcurementCategory"] = CATEGORY[project.kind]
    if notice.kind in ("amendment", "clarification"):  # this release's own amendment only (OCDS merges them)
        tender["amendments"] = [
            {"id": notice.number, "date": iso(notice.published_at), "rationale": notice.title,
             "description": notice.body[:2000]}]
    if not tender["participationFees"]:
        del tender["participationFees"]
    return tender


def _tender_status(lots) -> str:
    statuses = {LOT_STATUS[l.status] for l in lots}
    if statuses == {"cancelled"}:
        return "cancelled"
    if statuses <= {"complete", "unsuccessful", "cancelled"}:
        return "complete" if "complete" in statuses else "unsuccessful"
    return "active"


def release_for(project: Project, notice: Notice, *, lots: list | None = None, notices: list | None = None) -> dict:
    release = {
        "ocid": ocid(project),
        "id": f"{ocid(project)}-{notice.number}",
        "date": iso(notice.published_at),
        "tag": [RELEASE_TAG[notice.kind]],
        "initiationType": "tender",
        "language": "zh",
        "parties": parties(project),
        "buyer": {"id": f"CN-USCC-{project.owner.credit_code}", "name": project.owner.name},
        "tender": tender_section(project, notice, lots),
    }
    for path in settings.SUNLIGHT_OCDS_CONTRIBUTORS:
        contribute = import_string(path)
        if notices is not None and "notices" in inspect.signature(contribute).parameters:
            contribute(project=project, release=release, notice=notice, notices=notices)
        else:
            contribute(project=project, release=release, notice=notice)
    return release


def release_package(project: Project) -> dict:
    project = (Project.objects.select_related("owner", "centre", "supervisor", "agent").get(pk=project.pk))
    notices = list(project.notices.select_related("lot").order_by("published_at", "id"))
    lots = list(project.lots.order_by("number"))
    releases = [release_for(project, n, lots=lots, notices=notices) for n in notices]
    published = max((n.published_at for n in notices), default=project.created_at)
    return {
        "uri": f"{settings.SUNLIGHT_PUBLIC_URL}/api/projects/{project.code}/ocds/",
        "version": "1.1",
        "extensions": EXTENSIONS,
        "publishedDate": iso(published),
        "publisher": {"name": project.centre.name, "scheme": "CN-USCC", "uid": project.centre.credit_code},
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "publicationPolicy": f"{settings.SUNLIGHT_PUBLIC_URL}/about/",
        "releases": releases,
    }
