"""Published notices are never edited: the database refuses UPDATE / DELETE / TRUNCATE on notices, documents,
transitions and audit events; an amendment is a new linked notice that pushes the deadline per the rule."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import Event
from tests import factories
from tests.trading.conftest import snapshot
from trading import clock as trading_clock
from trading import services
from trading.errors import Conflict, Invalid
from trading.models import Document, LotTransition, Notice

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)
TABLES = ("trading_notice", "trading_document", "trading_lottransition", "audit_event")


@pytest.fixture
def published(world, clock):
    project = factories.make_project(world, publish=True)
    notice = project.notices.get()
    services.attach_document(actor=world.staff, notice=notice, name="招标文件.pdf", content=b"%PDF-1.4 documents")
    return project


def _refused(sql: str, params=()) -> str:
    with pytest.raises(DatabaseError) as info:
        with transaction.atomic(), connection.cursor() as cur:
            # rows inserted by this test's transaction leave deferred FK checks pending, which would make
            # PostgreSQL refuse TRUNCATE for that reason before the trigger speaks
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute(sql, params)
    return str(info.value)


@pytest.mark.parametrize("table", TABLES)
def test_update_and_delete_refused_by_the_database(published, table):
    before = snapshot()
    assert "append-only: UPDATE refused" in _refused(f"UPDATE {table} SET id = id")
    assert "append-only: DELETE refused" in _refused(f"DELETE FROM {table}")
    assert snapshot() == before


@pytest.mark.parametrize("table", TABLES)
def test_truncate_refused_by_the_database(published, table):
    before = snapshot()
    message = _refused(f"TRUNCATE {table} CASCADE")
    assert "append-only" in message and "TRUNCATE" in message
    assert snapshot() == before


def test_orm_cannot_edit_either(published):
    notice = published.notices.get()
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            Notice.objects.filter(pk=notice.pk).update(title="edited")
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            notice.title = "edited"
            notice.save()
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            Document.objects.all().delete()
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            LotTransition.objects.all().update(reason="rewritten")
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            Event.objects.filter(project_id=published.pk).update(actor_label="nobody")
    assert Notice.objects.get(pk=notice.pk).title != "edited"


def test_truncate_in_a_rolled_back_transaction_leaves_everything(published):
    """Even a transaction that would roll back anyway cannot truncate."""
    before = snapshot()
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cur.execute("TRUNCATE audit_event, trading_notice, trading_document, trading_lottransition CASCADE")
    assert snapshot() == before


def test_amendment_close_to_the_deadline_pushes_it_out(world, clock, published):
    lot = published.lots.get()
    original = published.notices.get(kind="tender")
    original_row = Notice.objects.filter(pk=original.pk).values().get()
    old_deadline = lot.bid_deadline  # START + 21 days
    clock.advance(days=10)  # 11 days left < 15
    amendment = services.publish_amendment(actor=world.staff, notice=original, title="变更公告", body="技术参数调整")
    lot.refresh_from_db()
    assert amendment.pk != original.pk and amendment.amends_id == original.pk and amendment.kind == "amendment"
    assert lot.bid_deadline == clock.now + 15 * DAY > old_deadline
    assert lot.objection_deadline == lot.bid_deadline - 10 * DAY
    assert Notice.objects.filter(pk=original.pk).values().get() == original_row  # never edited
    change = amendment.data["schedule_changes"][0]
    assert change["lot"] == lot.pk and change["new_bid_deadline"].startswith(lot.bid_deadline.strftime("%Y-%m-%dT%H:%M"))
    event = Event.objects.get(pk=amendment.event_id)
    assert event.action == "notice.publish" and event.payload["amends"] == original.pk
    assert list(original.amendments.all()) == [amendment]
    # the clock no longer closes bidding at the old deadline, but does at the new one
    clock.move_to(old_deadline + dt.timedelta(seconds=1))
    assert trading_clock.tick() == 0
    clock.move_to(lot.bid_deadline)
    assert trading_clock.tick() == 1
    lot.refresh_from_db()
    assert lot.status == "bidding_closed"


def test_amendment_early_enough_leaves_the_deadline(world, clock, published):
    lot = published.lots.get()
    old = lot.bid_deadline
    clock.advance(days=6)  # exactly 15 days left
    services.publish_amendment(actor=world.staff, notice=published.notices.get(kind="tender"), title="澄清", body="澄清",
                               kind="clarification")
    lot.refresh_from_db()
    assert lot.bid_deadline == old


def test_amendment_may_extend_but_never_bring_forward(world, clock, published):
    lot = published.lots.get()
    notice = published.notices.get(kind="tender")
    before = snapshot()
    with pytest.raises(Invalid, match="forward"):
        services.publish_amendment(actor=world.staff, notice=notice, title="t", body="b",
                                   new_bid_deadline=lot.bid_deadline - DAY)
    assert snapshot() == before
    later = lot.bid_deadline + 5 * DAY
    services.publish_amendment(actor=world.staff, notice=notice, title="延期", body="延期", new_bid_deadline=later)
    lot.refresh_from_db()
    assert lot.bid_deadline == later


def test_amendment_refused_after_bidding_closed(world, clock, published):
    lot = published.lots.get()
    clock.move_to(lot.bid_deadline)
    trading_clock.tick()
    before = snapshot()
    with pytest.raises(Conflict, match="can no longer be amended"):
        services.publish_amendment(actor=world.staff, notice=published.notices.get(kind="tender"), title="t", body="b")
    assert snapshot() == before


def test_sale_amendment_moves_nothing(world, clock):
    project = factories.make_project(world, "asset", "auction", publish=True)
    lot = project.lots.get()
    schedule = (lot.bid_deadline, lot.auction_start)
    clock.move_to(lot.bid_deadline - DAY)
    services.publish_amendment(actor=world.staff, notice=project.notices.get(), title="补充公告", body="补充")
    lot.refresh_from_db()
    assert (lot.bid_deadline, lot.auction_start) == schedule


def test_amendment_needs_title_and_kind(world, clock, published):
    notice = published.notices.get(kind="tender")
    before = snapshot()
    with pytest.raises(Invalid):
        services.publish_amendment(actor=world.staff, notice=notice, title=" ", body="b")
    with pytest.raises(Invalid, match="amendment or clarification"):
        services.publish_amendment(actor=world.staff, notice=notice, title="t", body="b", kind="result")
    assert snapshot() == before
