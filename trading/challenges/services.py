"""Business actions on cases and suspensions. Each: keyword-only, one transaction, its audit event inside it.

One mechanism for every kind (trading.rules.CHALLENGE_RULES): a case is filed inside its legal window, its
clock runs in calendar or working days, it moves through trading.challenges.lifecycle, and an upheld one
applies its remedy (re-evaluation, re-tender, award cancelled) through the function of the app that owns the
lot's path (settings.SUNLIGHT_CHALLENGE_REMEDIES: tender -> evaluation, auction/listing -> auction); a remedy
that does not fit the lot's kind is refused (409) naming the ones that do. A supervisor may suspend a project
while handling a complaint.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

import audit
from audit.timestamps import iso
from trading import lifecycle as lot_lifecycle
from trading.challenges import clocks, lifecycle
from trading.challenges.models import Case, CaseAttachment, Suspension
from trading.errors import Conflict, Forbidden, Invalid, NotFound
from trading.models import Lot, LotTransition, Notice, Project, User
from trading.permissions import require_role, role_of
from trading.rules import CHALLENGE_RULES, DISCLOSURE_REFUSALS, SUSPENSION_BASIS, ChallengeRule, Clock, challenge_rule
from trading.workdays import CalendarUnknown, platform_calendar
from trading.lifecycle import LotStatus
from django.utils.translation import gettext_lazy as _

MICRO = dt.timedelta(microseconds=1)
PREFIX = {"objection": "YY", "complaint": "TS", "disclosure": "YSQ"}


class Suspended(Conflict):
    code = "suspended"


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Upload:
    name: str
    content: bytes
    content_type: str = "application/octet-stream"


def _check_text(**values: str) -> None:
    """NUL and other control characters (except tab and line breaks) are refused, never stored."""
    for field, value in values.items():
        if value and any(ord(ch) < 32 and ch not in "\t\n\r" or ord(ch) == 127 for ch in value):
            raise Invalid(_("%(field_name)s contains control characters"), field_name=field, field=field)


def _check_uploads(uploads: list[Upload]) -> None:
    limit = settings.SUNLIGHT_CASE_ATTACHMENTS_MAX
    if len(uploads) > limit:
        raise Invalid(_("at most %(limit)s attachments per filing (%(count)s given)"), limit=limit, count=len(uploads), field="attachments")
    for up in uploads:
        ext = os.path.splitext(up.name)[1].lower()
        if ext not in settings.SUNLIGHT_DOCUMENT_TYPES:
            raise Invalid(_("file type %(value)s is not accepted; allowed: %(SUNLIGHT_DOCUMENT_TYPES)s"), value=ext or '(none)', SUNLIGHT_DOCUMENT_TYPES=', '.join(settings.SUNLIGHT_DOCUMENT_TYPES),
                          field="attachments")
        if not up.content:
            raise Invalid(_("%(name)s is empty"), name=up.name, field="attachments")
        if len(up.content) > settings.SUNLIGHT_CASE_ATTACHMENT_MAX_BYTES:
            raise Invalid(_("%(name)s is larger than the limit of %(SUNLIGHT_CASE_ATTACHMENT_MAX_BYTES)s bytes"), name=up.name, SUNLIGHT_CASE_ATTACHMENT_MAX_BYTES=settings.SUNLIGHT_CASE_ATTACHMENT_MAX_BYTES,
                          field="attachments")


def _store(case: Case, uploads: list[Upload], *, role: str, public: bool, now: dt.datetime) -> list[dict]:
    out = []
    for up in uploads:
        digest = hashlib.sha256(up.content).hexdigest()
        ext = os.path.splitext(up.name)[1].lower()
        att = CaseAttachment(case=case, role=role, name=os.path.basename(up.name)[:200], content_type=up.content_type[:100],
                             size=len(up.content), sha256=digest, public=public, uploaded_at=now)
        att.file.save(f"{digest}{ext}", ContentFile(up.content), save=False)
        att.save()
        out.append({"id": att.pk, "name": att.name, "sha256": digest, "size": att.size, "public": public})
    return out


# --------------------------------------------------------------------------- suspension and blocking

def _active_suspensions():
    """The one rule: a suspension holds until it is lifted."""
    return Suspension.objects.filter(lifted_at__isnull=True)


def active_suspension(project_id: int | None) -> Suspension | None:
    if project_id is None:
        return None
    return _active_suspensions().filter(project_id=project_id).select_related("case").first()


@functools.cache
def suspended_projects_sql() -> tuple[str, tuple]:
    """The ids of the projects under an active suspension, as SQL and its parameters: for a read that
    folds the check into its own statement (the auction's bid path, under the auction's row lock).
    A constant, compiled once per process."""
    return _active_suspensions().values("project_id").query.sql_with_params()


def suspension_refusal(project_id: int | None) -> str | None:
    """The refusal's text while the project is suspended (naming the suspension), else None. One rule for every
    step: lot transitions, envelopes, registrations, auction bids (``check_running``)."""
    s = active_suspension(project_id)
    if s is None:
        return None
    code = Project.objects.filter(pk=s.project_id).values_list("code", flat=True).first()
    values = {"code": code, "started_at": _local(s.started_at), "reason": s.reason, "basis": s.basis}
    if s.case is not None:  # (two whole sentences: no English fragment inside a translated one)
        return str(_("project %(code)s is suspended since %(started_at)s while complaint %(case)s is handled "
                     "(%(reason)s); no step of its lots is possible until the supervisor lifts the suspension — "
                     "%(basis)s")) % {**values, "case": s.case.number}
    return str(_("project %(code)s is suspended since %(started_at)s (%(reason)s); no step of its lots is possible "
                 "until the supervisor lifts the suspension — %(basis)s")) % values


def check_running(*, project_id: int | None) -> None:
    """Raise ``Suspended`` (409, code ``suspended``) while the project is suspended; call it inside the
    action's transaction, before anything is written."""
    message = suspension_refusal(project_id)
    if message is not None:
        raise Suspended(message)


def check_lot_may_move(*, lot: Lot, action: str) -> None:
    """Called by trading.services.transition_lot: a suspended project refuses every step; an open case
    whose rule says so holds the step it blocks (e.g. the award waits for objections to the candidates)."""
    check_running(project_id=lot.project_id)
    for case in Case.objects.filter(project_id=lot.project_id, status__in=lifecycle.OPEN).order_by("filed_at"):
        if action in case.rule.blocks and (case.lot_id is None or case.lot_id == lot.pk):
            due = f" (due {_local(case.due_at)})" if case.due_at else ""
            raise Conflict(_("%(value)s %(number)s awaits its answer%(due)s; the %(value2)s waits until it is answered — %(basis)s"), value=case.rule.label[1].lower(), number=case.number, due=due, value2=action.replace('_', ' '), basis=case.rule.answer.basis)


# --------------------------------------------------------------------------- filing

def _window(rule: ChallengeRule, *, lot: Lot | None, project: Project | None, known_on: dt.date | None,
            follows: Case | None, now: dt.datetime) -> None:
    """Raise a Conflict naming the deadline and its legal basis when `now` is outside the filing window."""
    basis = rule.window_basis
    if rule.window == "always":
        return
    if rule.window in ("before_objection_deadline", "during_opening", "during_publicity"):
        if lot is None:
            raise Invalid(_("say which lot the objection is about"), field="lot")
        _lot_window(rule, lot, now)
        return
    if rule.window == "know_within":
        know = _required(rule.know_within)
        if known_on is None:
            raise Invalid(_("say on which day you knew (or should have known) of the matter"), field="known_on")
        if known_on > clocks.local_day(now):
            raise Invalid(_("the day you knew of the matter cannot be in the future"), field="known_on")
        closes = clocks.passed(know, clocks.end_of(known_on) - MICRO, now, platform_calendar())
        if closes is not None:
            raise Conflict(_("filing closed at %(closes)s: within %(value)s of knowing (%(known_on)s) — %(basis)s"), closes=_local(closes), value=know.describe(), known_on=known_on.isoformat(), basis=know.basis)
        return
    if rule.window == "after_challenge_answer":
        if project is None or follows is None or follows.kind != "procurement_challenge" \
                or follows.project_id != project.pk:
            raise Conflict(_("a procurement complaint follows your challenge (质疑) of this project; name it — %(basis)s"), basis=basis)
        if follows.is_open and follows.due_at and now < follows.due_at:
            raise Conflict(_("the challenge %(number)s is still within its answer period (until %(due_at)s); complain after its answer or after that — %(basis)s"), number=follows.number, due_at=_local(follows.due_at), basis=basis)
        if follows.due_at is None:
            raise Conflict(_("the challenge's answer period is not known yet (the calendar is not loaded)"))
        # "答复期满后15个工作日内": counted from the end of the answer period, answered or not
        closes = clocks.passed(_required(rule.know_within), follows.due_at - MICRO, now, platform_calendar())
        if closes is not None:
            raise Conflict(_("complaints about %(number)s closed at %(closes)s — %(basis)s"), number=follows.number, closes=_local(closes), basis=basis)
        return
    raise AssertionError(rule.window)  # pragma: no cover


def _required(clock: Clock | None) -> Clock:
    assert clock is not None, "the rules table gives this kind that clock"
    return clock


def _lot_window(rule: ChallengeRule, lot: Lot, now: dt.datetime) -> None:
    basis = rule.window_basis
    if rule.window == "before_objection_deadline":
        days = lot.rule.objection_days_before_deadline
        if not days:
            raise Conflict(_("%(label)s has no objection period for its documents"), label=lot.rule.label)
        closes = lot.objection_deadline or (lot.bid_deadline - dt.timedelta(days=days))
        if lot.status != LotStatus.PUBLISHED or now >= closes:
            raise Conflict(_("objections to the tender documents closed at %(closes)s — %(basis)s"), closes=_local(closes), basis=basis)
        return
    if rule.window == "during_opening":
        opened = LotTransition.objects.filter(lot=lot, action="open").order_by("-at").first()
        if lot.status != LotStatus.OPENED or opened is None:
            raise Conflict(_("objections to the opening are raised during the opening (lot is %(status)s) — %(basis)s"), status=lot.status, basis=basis)
        closes = clocks.end_of(clocks.local_day(opened.at))
        if now >= closes:
            raise Conflict(_("the opening of lot %(number)s ended; objections to it closed at %(closes)s — %(basis)s"), number=lot.number, closes=_local(closes), basis=basis)
        return
    if rule.window == "during_publicity":
        window = import_string(settings.SUNLIGHT_CHALLENGE_WINDOWS["during_publicity"])(lot)
        if lot.status != LotStatus.PUBLICITY or window is None:
            raise Conflict(_("objections to the candidates are accepted during the candidate publicity only — %(basis)s"), basis=basis)
        starts, ends = window
        if not (starts <= now < ends):
            raise Conflict(_("the candidate publicity ended at %(ends)s; objections closed then — %(basis)s"), ends=_local(ends), basis=basis)
        return


def _standing(rule: ChallengeRule, actor: User | None, lot: Lot | None) -> tuple[str, int | None]:
    """(filer_key, filer organisation) for a bidder; ('', None) for the public (key set from the contact)."""
    role = role_of(actor)
    if role == "bidder":
        assert actor is not None
        if "bidder" not in rule.filers:
            raise Forbidden(_("a %(value)s is not filed by bidders"), value=rule.label[1].lower())
        if rule.kind in ("opening_objection", "candidate_objection") and lot is not None:
            bidders = import_string(settings.SUNLIGHT_CHALLENGE_STANDING)(lot)
            if actor.organisation_id not in bidders:
                raise Forbidden(_("only bidders of lot %(number)s may file a %(value)s"), number=lot.number, value=rule.label[1].lower())
        return f"org:{actor.organisation_id}", actor.organisation_id
    if role == "public":
        if "public" not in rule.filers:
            raise Forbidden(_("a %(value)s is filed by a bidder from its workspace; please log in"), value=rule.label[1].lower())
        return "", None
    raise Forbidden(_("cases are filed by bidders and members of the public, not by %(role)s accounts"), role=role)


def running_clock(case: Case):
    """The rule's clock now running for the case (None when closed)."""
    return {"answer": case.rule.extension if case.extended else case.rule.answer,
            "accept": case.rule.accept, "decide": case.rule.decide}.get(case.clock)


def _clock_due(case: Case, clock, start: dt.datetime) -> None:
    """Set the case's running clock; past the known calendar the deadline is left open and flagged."""
    case.clock_started_at = start
    try:
        case.due_at = clocks.deadline(clock, start, platform_calendar()) if clock else None
        case.calendar_unknown = False
    except CalendarUnknown:
        case.due_at, case.calendar_unknown = None, True
    case.overdue_flagged = False


def file_case(*, actor: User | None, kind: str, subject: str, text: str, project: Project | None = None,
              lot: Lot | None = None, known_on: dt.date | None = None, follows: Case | None = None,
              name: str = "", contact: str = "", attachments: list[Upload] | None = None) -> Case:
    """File a case. Out of its window, on a closed project, twice, or with attachments over the limits: a
    Conflict / Invalid naming the deadline and its legal basis, and nothing recorded. A member of the
    public gets a follow-up token (``case.token``, shown once)."""
    rule = challenge_rule(kind)
    attachments = attachments or []
    subject, text, name, contact = (subject or "").strip(), (text or "").strip(), (name or "").strip(), (contact or "").strip()
    _check_text(subject=subject, text=text, name=name, contact=contact)
    if not subject:
        raise Invalid(_("give the case a subject"), field="subject")
    if len(subject) > 200:
        raise Invalid(_("the subject is at most 200 characters"), field="subject")
    if not text:
        raise Invalid(_("say what the case is about"), field="text")
    if lot is not None:
        project = lot.project
    if project is None and rule.needs_project:
        raise Invalid(_("a %(value)s is about a project"), value=rule.label[1].lower(), field="project")
    if rule.project_kinds and project is not None and project.kind not in rule.project_kinds:
        raise Invalid(_("a %(value)s is for %(choices)s projects (this one is %(kind)s)"), value=rule.label[1].lower(), choices=', '.join(sorted(rule.project_kinds)), kind=project.kind, field="kind")
    filer_key, filer_org = _standing(rule, actor, lot)
    if role_of(actor) == "public":
        if not name or not contact:
            raise Invalid(_("give your name and how to reach you (kept private)"), field="contact")
        if len(name) > 100 or len(contact) > 200:
            raise Invalid(_("the name or contact is too long"), field="contact")
        filer_key = f"contact:{_sha(contact.lower())}"
    _check_uploads(attachments)
    token = secrets.token_urlsafe(18) if role_of(actor) == "public" else ""
    with transaction.atomic():
        now = timezone.now()
        if lot is not None:
            lot = Lot.objects.select_for_update().select_related("project").get(pk=lot.pk)
        if project is not None:
            project = Project.objects.select_for_update().get(pk=project.pk)
            statuses = set(project.lots.values_list("status", flat=True))
            if statuses <= {LotStatus.DRAFT}:
                raise NotFound(_("no such project"))
            if kind != "disclosure_request" and statuses <= set(lot_lifecycle.FINAL):
                raise Conflict(_("project %(code)s is closed (every lot is complete, failed or terminated): no %(value)s can be filed on it any more"), code=project.code, value=rule.label[1].lower())
        if follows is not None:
            follows = Case.objects.select_for_update().get(pk=follows.pk)
            if follows.filer_key != filer_key:
                raise Forbidden(_("a complaint follows the filer's own challenge"))
        _window(rule, lot=lot, project=project, known_on=known_on, follows=follows, now=now)
        dedupe = _sha(f"{subject}\n{text}") if rule.family == "disclosure" else ""
        if Case.objects.filter(kind=kind, project=project, lot=lot, filer_key=filer_key, dedupe=dedupe) \
                .exclude(status="withdrawn").exists():
            raise Conflict(_("you already filed a %(value)s on this %(value2)s; follow that case instead"), value=rule.label[1].lower(), value2='request' if dedupe else ('lot' if lot else 'project'))
        case = Case(number=f"TMP-{os.urandom(8).hex()}", kind=kind, project=project, lot=lot, follows=follows,
                    filer=actor if role_of(actor) != "public" else None, filer_org_id=filer_org, filer_key=filer_key,
                    dedupe=dedupe, name=name, contact=contact, token_sha256=_sha(token) if token else "",
                    subject=subject, text=text, known_on=known_on, filed_at=now, status="filed",
                    clock="answer" if rule.answer else "accept")
        _clock_due(case, rule.answer or rule.accept, now)
        try:
            with transaction.atomic():
                case.save()
        except IntegrityError:
            raise Conflict(_("you already filed a %(value)s on this matter"), value=rule.label[1].lower()) from None
        prefix = f"{project.code}-{PREFIX[rule.family]}" if project else f"{PREFIX[rule.family]}-{now:%Y}-"
        case.number = f"{prefix}{case.pk:05d}"
        case.save(update_fields=["number"])
        files = _store(case, attachments, role="filing", public=False, now=now)
        audit.record(action="case.file", subject=f"case:{case.number}", actor=actor,
                     project_id=project.pk if project else None, visibility="supervisors",
                     # who filed is committed by hash only: before a bid deadline it would reveal an interested bidder
                     payload={**_case_facts(case), "filer_sha256": _sha(filer_key), "subject": subject,
                              "text_sha256": _sha(text), "contact_sha256": _sha(contact) if contact else None,
                              "known_on": known_on.isoformat() if known_on else None,
                              "follows": follows.number if follows else None, "attachments": files})
    case.token = token
    return case


def _case_facts(case: Case) -> dict:
    """What replay needs of a case's state (never the filer's name or contact)."""
    return {"case": case.number, "kind": case.kind, "lot": case.lot_id, "status": case.status, "clock": case.clock,
            "due_at": iso(case.due_at), "calendar_unknown": case.calendar_unknown, "filed_at": iso(case.filed_at)}


# --------------------------------------------------------------------------- answering and deciding

def _locked(case: Case | int) -> Case:
    try:
        return Case.objects.select_for_update(of=("self",)).select_related("project", "lot").get(
            pk=case.pk if isinstance(case, Case) else case)
    except Case.DoesNotExist:
        raise NotFound(_("no such case")) from None


def _authorise(case: Case, step: lifecycle.Step, actor: User | None) -> None:
    role = role_of(actor)
    if "filer" in step.roles:
        if actor is None or role == "public" or case.filer_id != actor.pk:
            raise Forbidden(_("only the filer may withdraw a case"))
        return
    lifecycle.check_role(step, role)
    if actor is not None and role == "staff" and case.project is not None and actor.organisation_id != case.project.centre_id:
        raise Forbidden(_("project %(code)s belongs to another trading centre; you cannot act on it"), code=case.project.code)
    if actor is not None and role == "supervisor" and case.project is not None and actor.organisation_id != case.project.supervisor_id:
        raise Forbidden(_("project %(code)s is supervised by another department"), code=case.project.code)


def _scrub(text: str, case: Case) -> str:
    """Personal details removed before publication: the filer's name and contact never appear."""
    for secret in (case.name, case.contact):
        if secret:
            text = text.replace(secret, "***")
    return text  # the one rule; Case.public_answer applies it to the stored answer


def _step(case: Case, action: str, actor: User | None) -> lifecycle.Step:
    step = lifecycle.find(family=case.family, status=case.status, action=action)
    _authorise(case, step, actor)
    return step


def _close(case: Case, *, status: str, now: dt.datetime) -> None:
    case.late = bool(case.due_at and now > case.due_at)
    case.status, case.closed_at, case.clock = status, now, "none"


def answer_case(*, actor: User, case: Case, outcome: str, answer: str, remedy: str = "", ground: str = "",
                attachments: list[Upload] | None = None) -> Case:
    """Staff answer an objection / challenge (upheld or dismissed) or a disclosure request (disclosed, with
    the document, or refused on a listed legal ground). An upheld objection applies its remedy."""
    answer = (answer or "").strip()
    attachments = attachments or []
    _check_text(answer=answer)
    if not answer:
        raise Invalid(_("the answer needs its text"), field="answer")
    _check_uploads(attachments)
    with transaction.atomic():
        case = _locked(case)
        step = _step(case, "answer", actor)
        allowed = lifecycle.OUTCOMES["answer"][case.family]
        if outcome not in allowed:
            raise Invalid(_("the outcome is one of %(allowed)s"), allowed=', '.join(allowed), field="outcome")
        if case.family == "disclosure":
            if outcome == "refused" and ground not in DISCLOSURE_REFUSALS:
                raise Invalid(_("a refusal names its legal ground: one of %(DISCLOSURE_REFUSALS)s"), DISCLOSURE_REFUSALS=', '.join(DISCLOSURE_REFUSALS), field="ground")
            if outcome == "disclosed" and not attachments:
                raise Invalid(_("a disclosure publishes the document: attach it"), field="attachments")
            remedy = ""
        else:
            ground = ""
            if outcome == "dismissed":
                remedy = ""
            elif remedy and remedy not in case.rule.remedies:
                raise Invalid(_("the remedy is one of %(value)s"), value=', '.join(case.rule.remedies) or '(none)', field="remedy")
            elif remedy and case.lot_id is not None:
                _check_remedy_fits(case, remedy)
            elif not remedy and case.rule.remedies:
                remedy = case.rule.remedies[0] if case.lot_id is None else next(iter(fitting_remedies(case)), "")
        now = timezone.now()
        case.outcome, case.remedy, case.ground, case.answer, case.answered_by = outcome, remedy, ground, answer, actor
        _close(case, status=step.target, now=now)
        if case.kind == "opening_objection":
            case.notice = _record_in_opening_record(case, actor=actor)
        case.save()
        files = _store(case, attachments, role="answer", public=(outcome == "disclosed"), now=now)
        audit.record(action="case.answer", subject=f"case:{case.number}", actor=actor,
                     project_id=case.project_id,
                     payload={**_case_facts(case), "outcome": outcome, "remedy": remedy, "ground": ground,
                              "ground_text": DISCLOSURE_REFUSALS.get(ground, ""), "answer": _scrub(answer, case),
                              "late": case.late, "answered_at": iso(now), "attachments": files,
                              "notice": case.notice_id})
        if outcome == "upheld" and remedy and case.lot_id:
            _apply_remedy(case, remedy)
    return case


def _record_in_opening_record(case: Case, *, actor: User) -> Notice:
    from trading.services import publish_notice

    assert case.project is not None and case.lot is not None
    record = Notice.objects.filter(lot=case.lot, kind="opening_record").order_by("-published_at").first()
    body = (f"开标现场异议（{case.number}）：{_scrub(case.subject, case)}\n"
            f"异议内容：{_scrub(case.text, case)}\n招标人当场答复：{_scrub(case.answer, case)}")
    return publish_notice(actor=actor, project=case.project, lot=case.lot, kind="opening_record",
                          title=f"{case.project.title} 第{case.lot.number}标段 开标记录（异议及答复）", body=body,
                          amends=record, data={"case": case.number, "outcome": case.outcome})


# What a remedy means on each kind of lot, for the pages (what it does is the owning app's function, named in
# settings.SUNLIGHT_CHALLENGE_REMEDIES per lot path).
REMEDY_LABELS = {
    "tender": {
        "reevaluate": _("re-evaluation: back to evaluation, a new round"),
        "cancel_award": _("award cancelled (中标无效): back to evaluation"),
        "retender": _("re-tender: the lot is terminated, a new tender follows"),
    },
    "sale": {
        "cancel_award": _("deal cancelled (成交无效): confirmation voided, the lot terminated and offered again"),
        "retender": _("sale stopped: the lot terminated and offered again by a new announcement"),
    },
}


SOLD_BY = {"tender": _("tender"), "auction": _("live auction"), "listing": _("listing")}


def _remedies_for(lot: Lot) -> dict[str, str]:
    return settings.SUNLIGHT_CHALLENGE_REMEDIES.get(lot.path, {})


def fitting_remedies(case: Case) -> tuple[str, ...]:
    """The remedies of the case's rule that fit its lot's kind (a tender has an evaluation to repeat, an auction
    or listing has a deal to cancel and a sale to stop), in the rule's order; none without a lot."""
    if case.lot is None:
        return ()
    mine = _remedies_for(case.lot)
    return tuple(r for r in case.rule.remedies if r in mine)


def remedy_choices(case: Case) -> list[tuple[str, str]]:
    """(remedy, label in the active language) for the fitting remedies: what the decision form offers."""
    assert case.lot is not None or not fitting_remedies(case)
    labels = REMEDY_LABELS["sale" if case.lot is not None and case.lot.path in lot_lifecycle.SALE_PATHS else "tender"]
    return [(r, str(labels.get(r, r))) for r in fitting_remedies(case)]


def _check_remedy_fits(case: Case, remedy: str) -> None:
    """A remedy of the rule that does not fit the lot's kind: a Conflict naming the ones that do (nothing done)."""
    fitting = fitting_remedies(case)
    if remedy not in fitting:
        assert case.lot is not None
        raise Conflict(_("the remedy %(remedy)s does not fit lot %(number)s, sold by %(path)s; the remedies that fit "
                         "it: %(fitting)s"), remedy=remedy, number=case.lot.number, path=SOLD_BY.get(case.lot.path, case.lot.path),
                       fitting=", ".join(fitting) or "(none)")


def _apply_remedy(case: Case, remedy: str) -> None:
    assert case.lot is not None
    fn = import_string(_remedies_for(case.lot)[remedy])
    fn(lot=Lot.objects.select_for_update().select_related("project").get(pk=case.lot.pk),
       reason=f"{case.rule.label[1]} {case.number} upheld: {_scrub(case.answer, case)}")


def remedy_retender(*, lot: Lot, reason: str) -> None:
    """Re-tender: the lot is terminated (the centre publishes a new tender for it)."""
    from trading.services import transition_lot

    if lot.status in lot_lifecycle.FINAL:
        raise Conflict(_("lot %(number)s is already %(status)s"), number=lot.number, status=lot.status)
    transition_lot(lot=lot, action="terminate", actor=None, reason=f"re-tender ordered — {reason}")


def extend_case(*, actor: User, case: Case, reason: str) -> Case:
    """A disclosure request's answer period is extended once, by its rule's extension, with a recorded reason."""
    reason = (reason or "").strip()
    _check_text(reason=reason)
    if not reason:
        raise Invalid(_("an extension records its reason"), field="reason")
    with transaction.atomic():
        case = _locked(case)
        _step(case, "extend", actor)
        if case.extended:
            raise Conflict(_("case %(number)s was already extended once; the law allows one extension — %(basis)s"), number=case.number, basis=case.rule.extension.basis)
        now = timezone.now()
        if case.due_at and now > case.due_at:
            raise Conflict(_("the answer period ended at %(due_at)s; it can no longer be extended"), due_at=_local(case.due_at))
        if case.due_at is None:
            raise Conflict(_("the answer period is not known yet (the calendar is not loaded); load it first"))
        case.extended, case.extension_reason = True, reason
        _clock_due(case, case.rule.extension, case.due_at - MICRO)
        case.save()
        audit.record(action="case.extend", subject=f"case:{case.number}", actor=actor, project_id=case.project_id,
                     payload={**_case_facts(case), "reason": _scrub(reason, case), "extended": True})
    return case


def accept_complaint(*, actor: User, case: Case) -> Case:
    with transaction.atomic():
        case = _locked(case)
        step = _step(case, "accept", actor)
        now = timezone.now()
        case.late = bool(case.due_at and now > case.due_at)
        case.status, case.accepted_at, case.clock = step.target, now, "decide"
        _clock_due(case, case.rule.decide, now)
        case.save()
        audit.record(action="case.accept", subject=f"case:{case.number}", actor=actor, project_id=case.project_id,
                     payload={**_case_facts(case), "accepted_at": iso(now), "late": case.late})
    return case


COMPLAINT_REFUSALS = {
    "late": "投诉超过法定期限",
    "no_standing": "投诉人不是所投诉项目的投标人或者其他利害关系人",
    "not_objected_first": "《招标投标法实施条例》第六十条第二款：应当先向招标人提出异议",
    "out_of_scope": "投诉事项不属于本部门受理范围",
}


def refuse_complaint(*, actor: User, case: Case, ground: str, answer: str) -> Case:
    answer = (answer or "").strip()
    _check_text(answer=answer)
    if ground not in COMPLAINT_REFUSALS:
        raise Invalid(_("say why it is not accepted: one of %(COMPLAINT_REFUSALS)s"), COMPLAINT_REFUSALS=', '.join(COMPLAINT_REFUSALS), field="ground")
    if not answer:
        raise Invalid(_("the notice of non-acceptance needs its text"), field="answer")
    with transaction.atomic():
        case = _locked(case)
        step = _step(case, "refuse", actor)
        now = timezone.now()
        case.outcome, case.ground, case.answer, case.answered_by = "refused", ground, answer, actor
        _close(case, status=step.target, now=now)
        case.save()
        audit.record(action="case.refuse", subject=f"case:{case.number}", actor=actor, project_id=case.project_id,
                     payload={**_case_facts(case), "outcome": "refused", "ground": ground,
                              "ground_text": COMPLAINT_REFUSALS[ground], "answer": _scrub(answer, case),
                              "late": case.late})
    return case


def decide_complaint(*, actor: User, case: Case, outcome: str, decision: str, remedy: str = "") -> Case:
    """The supervisor's written decision: dismissed, or upheld with its remedy (re-evaluation, re-tender,
    award cancelled). A suspension ordered for the complaint is lifted first; the decision is published
    with the filer's personal details removed."""
    decision = (decision or "").strip()
    _check_text(decision=decision)
    if not decision:
        raise Invalid(_("the decision needs its text"), field="decision")
    with transaction.atomic():
        case = _locked(case)
        step = _step(case, "decide", actor)
        if outcome not in lifecycle.OUTCOMES["decide"]["complaint"]:
            raise Invalid(_("the outcome is upheld or dismissed"), field="outcome")
        if outcome == "upheld":
            if remedy not in case.rule.remedies:
                raise Invalid(_("an upheld complaint orders a remedy: one of %(remedies)s"), remedies=', '.join(case.rule.remedies), field="remedy")
            if case.lot_id is None:
                raise Invalid(_("this complaint names no lot: the remedy has nothing to act on"), field="remedy")
            _check_remedy_fits(case, remedy)
        else:
            remedy = ""
        now = timezone.now()
        s = active_suspension(case.project_id)
        if s is not None:
            _lift(s, actor=actor, now=now, why=f"decision on {case.number}")
        case.outcome, case.remedy, case.answer, case.answered_by = outcome, remedy, decision, actor
        _close(case, status=step.target, now=now)
        case.save()
        audit.record(action="case.decide", subject=f"case:{case.number}", actor=actor, project_id=case.project_id,
                     payload={**_case_facts(case), "outcome": outcome, "remedy": remedy,
                              "decision": _scrub(decision, case), "late": case.late, "decided_at": iso(now),
                              "basis": case.rule.decide.basis})
        if remedy:
            _apply_remedy(case, remedy)
    return case


def withdraw_case(*, actor: User, case: Case) -> Case:
    with transaction.atomic():
        case = _locked(case)
        step = _step(case, "withdraw", actor)
        now = timezone.now()
        _close(case, status=step.target, now=now)
        case.late = False
        case.save()
        audit.record(action="case.withdraw", subject=f"case:{case.number}", actor=actor, project_id=case.project_id,
                     visibility="supervisors", payload=_case_facts(case))
    return case


def valid_number(number: str) -> bool:
    return 0 < len(number) <= 60 and all(ch.isalnum() or ch == "-" for ch in number) and number.isascii()


def case_by_token(*, number: str, token: str) -> Case:
    case = Case.objects.filter(number=number).exclude(token_sha256="").first() if valid_number(number) else None
    if case is None or not token or not secrets.compare_digest(case.token_sha256, _sha(token)):
        raise NotFound(_("no such case (check the case number and the follow-up code)"))
    return case


# --------------------------------------------------------------------------- suspension

def suspend_project(*, actor: User, project: Project, reason: str, case: Case | None = None,
                    source: str = "") -> Suspension:
    """The one suspension of a project (complaints, and supervision's alerts escalated to a suspension:
    ``source`` names what it came from, e.g. ``alert:<ref>``, recorded in the event)."""
    require_role(actor, "supervisor")
    reason = (reason or "").strip()
    _check_text(reason=reason)
    if not reason:
        raise Invalid(_("a suspension records its reason"), field="reason")
    if actor.organisation_id != project.supervisor_id:
        raise Forbidden(_("project %(code)s is supervised by another department"), code=project.code)
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        if set(project.lots.values_list("status", flat=True)) <= set(lot_lifecycle.FINAL) | {LotStatus.DRAFT}:
            raise Conflict(_("project %(code)s has no running lot to suspend"), code=project.code)
        if active_suspension(project.pk) is not None:
            raise Conflict(_("project %(code)s is already suspended"), code=project.code)
        if case is not None:
            case = _locked(case)
            if case.project_id != project.pk or case.family != "complaint" or case.status not in lifecycle.OPEN:
                raise Invalid(_("a suspension is ordered while handling an open complaint of this project"), field="case")
        rule = CHALLENGE_RULES[case.kind] if case else None
        now = timezone.now()
        limit = now + dt.timedelta(days=rule.suspension_max_days) if rule and rule.suspension_max_days else None
        if limit is None and project.kind == "procurement":
            limit = now + dt.timedelta(days=CHALLENGE_RULES["procurement_complaint"].suspension_max_days or 30)
        basis = SUSPENSION_BASIS.get(project.kind, "")
        event = audit.record(action="project.suspend", subject=f"project:{project.pk}", actor=actor,
                             project_id=project.pk,
                             payload={"project": project.pk, "case": case.number if case else None, "reason": reason,
                                      "basis": basis, "started_at": iso(now), "limit_at": iso(limit),
                                      **({"source": source[:80]} if source else {})})
        # each app stops its own running clocks (what its clock had made due before now is done first)
        for path in getattr(settings, "SUNLIGHT_SUSPEND_HOOKS", []):
            import_string(path)(project_id=project.pk, now=now, reason=reason)
        s = Suspension.objects.create(project=project, case=case, reason=reason, basis=basis, started_at=now,
                                      started_by=actor, limit_at=limit, event_id=event.pk)
    return s


def resume_project(*, actor: User | None, project: Project) -> Suspension:
    """Lift the suspension: every clock of the project resumes with the time it had left."""
    if actor is not None:
        require_role(actor, "supervisor")
        if actor.organisation_id != project.supervisor_id:
            raise Forbidden(_("project %(code)s is supervised by another department"), code=project.code)
    with transaction.atomic():
        Project.objects.select_for_update().get(pk=project.pk)
        s = Suspension.objects.select_for_update().filter(project=project, lifted_at__isnull=True).first()
        if s is None:
            raise Conflict(_("project %(code)s is not suspended"), code=project.code)
        now = timezone.now()
        _lift(s, actor=actor, now=now, why="lifted" if actor else "the legal maximum reached")
    return s


def _lift(s: Suspension, *, actor: User | None, now: dt.datetime, why: str) -> None:
    from trading.services import shift_lot_schedule

    cal = platform_calendar()
    s.lifted_at, s.lifted_by = now, actor
    s.save(update_fields=["lifted_at", "lifted_by"])
    moved = []
    for case in Case.objects.select_for_update().filter(project_id=s.project_id, status__in=lifecycle.OPEN,
                                                        due_at__gt=s.started_at).order_by("id"):
        clock = running_clock(case)
        unit = clock.unit if clock else "days"
        try:
            assert case.due_at is not None  # filtered on due_at > the start
            case.due_at = clocks.resumed(case.due_at, unit, suspended_at=s.started_at, resumed_at=now, cal=cal)
        except CalendarUnknown:
            case.due_at, case.calendar_unknown = None, True
        case.overdue_flagged = False
        case.save(update_fields=["due_at", "calendar_unknown", "overdue_flagged"])
        moved.append({"case": case.number, "due_at": iso(case.due_at), "calendar_unknown": case.calendar_unknown})
    audit.record(action="project.resume", subject=f"project:{s.project_id}", actor=actor, project_id=s.project_id,
                 payload={"project": s.project_id, "started_at": iso(s.started_at), "lifted_at": iso(now),
                          "why": why, "cases": moved})
    delta = now - s.started_at
    for lot in Lot.objects.select_for_update().filter(project_id=s.project_id).exclude(status__in=lot_lifecycle.FINAL):
        shift_lot_schedule(lot=lot, after=s.started_at, delta=delta, reason=f"suspension {why}")
    for path in settings.SUNLIGHT_RESUME_HOOKS:
        import_string(path)(project_id=s.project_id, after=s.started_at, delta=delta)


# --------------------------------------------------------------------------- the clock

def tick(now: dt.datetime | None = None) -> int:
    """Idempotent: a late answer / acceptance / decision is flagged once to the supervisors (a red card);
    deadlines left open past the calendar are computed once an administrator loads the year; a suspension
    reaching its legal maximum is lifted."""
    now = now or timezone.now()
    fired = 0
    for s_id in Suspension.objects.filter(lifted_at__isnull=True, limit_at__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            s = Suspension.objects.select_for_update(skip_locked=True).filter(pk=s_id, lifted_at__isnull=True).first()
            if s is None:
                continue
            _lift(s, actor=None, now=now, why="the legal maximum reached")
            fired += 1
    for case_id in Case.objects.filter(status__in=lifecycle.OPEN, calendar_unknown=True).values_list("pk", flat=True):
        with transaction.atomic():
            case = Case.objects.select_for_update(skip_locked=True).filter(pk=case_id, calendar_unknown=True).first()
            if case is None:
                continue
            clock = running_clock(case)
            try:
                case.due_at = clocks.deadline(clock, case.clock_started_at, platform_calendar())
            except CalendarUnknown:
                continue
            case.calendar_unknown = False
            case.save(update_fields=["due_at", "calendar_unknown"])
            audit.record(action="case.clock", subject=f"case:{case.number}", project_id=case.project_id,
                         payload=_case_facts(case))
            fired += 1
    for case_id in Case.objects.filter(status__in=lifecycle.OPEN, overdue_flagged=False, due_at__lte=now) \
            .values_list("pk", flat=True):
        with transaction.atomic():
            case = Case.objects.select_for_update(skip_locked=True).filter(
                pk=case_id, status__in=lifecycle.OPEN, overdue_flagged=False, due_at__lte=now).first()
            if case is None or active_suspension(case.project_id) is not None:
                continue
            case.overdue_flagged = True
            case.save(update_fields=["overdue_flagged"])
            clock = running_clock(case)
            audit.record(action="case.overdue", subject=f"case:{case.number}", project_id=case.project_id,
                         visibility="supervisors",
                         payload={"case": case.number, "clock": case.clock, "due_at": iso(case.due_at),
                                  "basis": clock.basis if clock else ""})
            fired += 1
    return fired
