"""Supervision's business actions: raising alerts (idempotent), supervisors acting on them, and the
clock tick that watches deadlines, reads the audit log incrementally and releases alerts at the
deadline. One transaction each; every alert and every step is an audit event; consoles hear of an
alert after commit (Channels group), and only once it may be shown (``visible_from``)."""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

import audit
from audit.canonical import canonical_bytes
from supervision import lifecycle
from supervision.models import Alert, AlertStep, Cursor
from trading.errors import Invalid, NotFound
from trading.permissions import require_role
from audit import timestamps

log = logging.getLogger(__name__)

GROUP_ALL = "supervision.all"
SCAN_BATCH = 5000


iso = timestamps.iso


def group_for(org_id: int | None) -> str:
    return f"supervision.org.{org_id}" if org_id else GROUP_ALL


def ref_of(key: str) -> str:
    """An alert's public handle: a digest of its key (the key may name bidders; ids would show gaps)."""
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _subject(key: str) -> str:
    return "alert:" + ref_of(key)


# An alert raised before the deadline it waits for rests on what bidders did: its event is bidder
# activity for audit.visibility (embargoed until the deadline, for supervisors too).
RAISE = "supervision.alert_raise"
RAISE_EMBARGOED = "supervision.embargoed_alert"


def raise_alert(*, key: str, kind: str, rule: str, severity: str, title: str, title_en: str = "", basis: str,
                evidence: dict[str, Any], project_id: int | None = None, lot_id: int | None = None,
                supervisor_org_id: int | None = None, visible_from: dt.datetime | None = None,
                now: dt.datetime | None = None) -> Alert | None:
    """Raise one alert unless one with this key exists (then None). Its own transaction (a savepoint
    inside the caller's); the consoles hear of it after commit if it may be shown already."""
    now = now or timezone.now()
    visible_from = max(visible_from or now, now)
    if project_id is not None and supervisor_org_id is None:
        from trading.models import Project

        supervisor_org_id = Project.objects.filter(pk=project_id).values_list("supervisor_id", flat=True).first()
    try:
        with transaction.atomic():
            if Alert.objects.filter(key=key).exists():
                return None
            event = audit.record(
                action=RAISE_EMBARGOED if visible_from > now else RAISE, subject=_subject(key),
                project_id=project_id, visibility="supervisors", at=now,
                # the evidence may hold private facts (network addresses, payer accounts): committed by hash only
                payload={"key": key, "kind": kind, "rule": rule, "severity": severity, "title": title,
                         "basis": basis, "evidence_sha256": hashlib.sha256(canonical_bytes(evidence)).hexdigest(),
                         "lot": lot_id, "visible_from": iso(visible_from)},
            )
            alert = Alert.objects.create(
                key=key, ref=ref_of(key), kind=kind, rule=rule, severity=severity, title=title[:300], title_en=title_en[:300],
                basis=basis, evidence=evidence, project_id=project_id, lot_id=lot_id,
                supervisor_org_id=supervisor_org_id, raised_at=now, visible_from=visible_from,
                pushed=visible_from <= now, event_id=event.pk)
    except IntegrityError:  # another tick raised the same alert meanwhile
        return None
    if alert.pushed:
        transaction.on_commit(functools.partial(push, alert.pk))
    return alert


def act_on_alert(*, actor: Any, alert: Alert | str, action: str, reason: str = "", escalation: str = "") -> Alert:
    """A supervisor acknowledges, dismisses (with a reason) or escalates (with a reason, to a
    suspension or an investigation) an alert. An alert not yet shown answers as a missing one."""
    require_role(actor, "supervisor")
    ref: str = alert.ref if isinstance(alert, Alert) else alert
    with transaction.atomic():
        now = timezone.now()
        row = Alert.objects.select_for_update().filter(ref=ref, visible_from__lte=now).first()
        if row is None:
            raise NotFound(_("no such alert"))
        step = lifecycle.find(status=row.status, action=action, reason=reason, escalation=escalation)
        source = row.status
        linked: dict[str, Any] = {}
        if action == "escalate" and escalation == "suspension":
            linked = _suspend_for(row, actor=actor, reason=reason.strip())
        event = audit.record(
            action=f"supervision.alert_{action}", subject=_subject(row.key), actor=actor,
            project_id=row.project_id, visibility="supervisors", at=now,
            payload={"key": row.key, "from": source, "to": step.target, "reason": reason.strip(),
                     "escalation": escalation, "at": iso(now), **linked},
        )
        row.status = step.target
        row.escalation = escalation
        row.save(update_fields=["status", "escalation"])
        AlertStep.objects.create(alert=row, source=source, action=action, target=step.target, actor=actor,
                                 reason=reason.strip(), escalation=escalation, at=now, event_id=event.pk)
        transaction.on_commit(functools.partial(push, row.pk))
    return row


def _suspend_for(alert: Alert, *, actor: Any, reason: str) -> dict[str, Any]:
    """Escalation to a suspension: the challenges app's one suspension service suspends the project (its
    own event ``project.suspend`` names the alert); the alert's step names the suspension's event. Inside
    the caller's transaction: a refusal (another department's project, already suspended, nothing running)
    leaves the alert as it was."""
    from trading.challenges.services import suspend_project
    from trading.models import Project

    if alert.project_id is None:
        raise Invalid(_("this alert names no project: there is nothing to suspend; escalate it to an investigation"),
                      field="escalation")
    project = Project.objects.get(pk=alert.project_id)
    suspension = suspend_project(actor=actor, project=project, reason=reason, source=f"alert:{alert.ref}")
    return {"suspension": suspension.pk, "suspension_event": suspension.event_id}


# --- live push -----------------------------------------------------------------------------------

def alert_message(alert: Alert) -> dict[str, Any]:
    from supervision.selectors import alert_row

    return {"type": "alert.update", "alert": alert_row(alert)}


def push(alert_id: int) -> None:
    """Tell the consoles of the alert's supervising department (after commit; a lost message is
    repaired by the console's reload)."""
    try:
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        alert = Alert.objects.select_related("project", "lot").get(pk=alert_id)
        layer = get_channel_layer()
        if layer is None:
            return
        message = alert_message(alert)
        async_to_sync(layer.group_send)(group_for(alert.supervisor_org_id), message)
    except Exception:
        log.exception("push of alert %s failed", alert_id)


def release(now: dt.datetime) -> int:
    """Alerts whose deadline has come: shown now (pushed once)."""
    released = 0
    for alert_id in Alert.objects.filter(pushed=False, visible_from__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            n = Alert.objects.filter(pk=alert_id, pushed=False).update(pushed=True)
            if n:
                transaction.on_commit(functools.partial(push, alert_id))
                released += 1
    return released


# --- the tick --------------------------------------------------------------------------------------

def watch_clocks(now: dt.datetime) -> int:
    """Yellow and red cards for every open step of every watched clock (idempotent by key)."""
    from supervision.clocks import card, registry, suspended_projects

    suspended = suspended_projects(now)
    raised = 0
    for clock in registry():
        try:
            watches = list(clock.watches(now))
        except Exception:
            log.exception("watched clock %s failed", clock.name)
            continue
        colours = [(w, card(w, clock, now)) for w in watches if w.project_id not in suspended]
        keys = {f"card:{clock.name}:{w.subject}:{c}": (w, c) for w, c in colours if c}
        known = set(Alert.objects.filter(key__in=list(keys)).values_list("key", flat=True))
        for key, (w, colour) in keys.items():
            if key in known:
                continue
            late = "已超期" if colour == "red" else "即将到期"
            evidence = {"clock": clock.name, "subject": w.subject, "due": iso(w.due), "started": iso(w.started),
                        **w.detail}
            if raise_alert(key=key, kind="card", rule=clock.name, severity=colour,
                           title=f"{clock.label}：{late}", title_en=f"{clock.label_en}: "
                           + ("overdue" if colour == "red" else "due soon"),
                           basis=clock.basis, evidence=evidence, project_id=w.project_id, lot_id=w.lot_id,
                           visible_from=w.secret_until, now=now):
                raised += 1
    return raised


# events after which a lot's market outcome (result, valid prices, winner) may differ
MARKET_TRIGGERS = frozenset({"lot.transition", "evaluation.award", "evaluation.award_end", "auction.closed"})


def scan_events(now: dt.datetime, batch: int = SCAN_BATCH) -> int:
    """Read the audit log from the cursor on: list staff actions outside the normal path for review,
    and screen again the lots of every project with new facts. Returns how many alerts were raised."""
    from audit.models import Event
    from supervision import review
    from supervision.screening import screen_market, screen_project

    with transaction.atomic():
        cursor, _ = Cursor.objects.select_for_update().get_or_create(name="events")
        events = list(Event.objects.filter(pk__gt=cursor.position).order_by("id")[:batch])
        if not events:
            return 0
        raised = 0
        dirty: set[int] = set()
        changed: set[int] = set()  # lots whose result may have changed: folded into the market again
        for ev in events:
            if ev.action.startswith("supervision."):
                continue
            if ev.project_id is not None and ev.action in review.SCREEN_TRIGGERS:
                dirty.add(ev.project_id)
            if ev.action in MARKET_TRIGGERS and ev.subject.startswith("lot:"):
                changed.add(int(ev.subject[4:]))
            found = review.classify(ev)
            if found is not None:
                raised += bool(review.raise_review(ev, found, now=now))
        for project_id in sorted(dirty):
            raised += screen_project(project_id, now=now)
        if changed:  # lots got (or lost) their result: only they are folded into the market again
            raised += screen_market(now=now, changed=changed)
        cursor.position = events[-1].pk
        cursor.save(update_fields=["position"])
    return raised


def tick(now: dt.datetime | None = None) -> int:
    """The supervision clock tick (settings.SUNLIGHT_CLOCK_TICKS): idempotent, catches up after downtime."""
    now = now or timezone.now()
    done = watch_clocks(now)
    done += scan_events(now)
    done += release(now)
    return done
