"""The statistics page and CSV: real numbers, nothing counted before its deadline."""
from __future__ import annotations

import pytest

from bidding import services as bidding_services
from supervision import statistics
from tests import factories
from tests.evaluation.conftest import open_lot

pytestmark = pytest.mark.django_db


def test_registrations_before_the_deadline_change_no_figure(world, clock, client):
    project = factories.make_project(world, publish=True)
    lot = project.lots.get()
    before = statistics.compute(full=True)
    csv_before = client.get("/statistics.csv?public=1").content
    for user in world.bidders[:3]:
        bidding_services.register(actor=user, lot=lot, declaration=[{"condition": c, "met": True} for c in lot.eligibility])
    assert statistics.compute(full=True) == before
    assert client.get("/statistics.csv?public=1").content == csv_before


def test_opened_lot_counts_and_its_price_distribution(ew, clock, client):
    lot = open_lot(ew, clock, [1_000_000, 900_000, 950_000])
    data = statistics.compute(full=False)
    assert data["totals"]["lots_opened"] == 1 and data["totals"]["avg_valid_bids"] == 3.0
    assert "alerts" not in data
    page = client.get(f"/statistics/?lot={lot.pk}")
    assert page.status_code == 200
    body = page.content.decode()
    assert '"prices_yuan": [9000.0, 9500.0, 10000.0]' in body and "<script>" not in body
    assert client.get("/statistics/?lot=abc").status_code == 404
    csv = client.get("/statistics.csv").content.decode("utf-8-sig")
    assert "avg_valid_bids,3.0" in csv and "engineering,工程建设招投标" in csv


def test_unopened_lot_has_no_distribution(world, clock, client):
    project = factories.make_project(world, publish=True)
    assert client.get(f"/statistics/?lot={project.lots.get().pk}").status_code == 404


def test_supervisor_version_has_alerts(world, clock, client):
    client.force_login(world.supervisor)
    data = client.get("/statistics/").content.decode()
    assert "chart-alerts" in data
    client.force_login(world.bidders[0])
    assert "chart-alerts" not in client.get("/statistics/").content.decode()
