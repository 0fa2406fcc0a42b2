"""Business actions of the trading core. Each: keyword-only, one transaction, its audit event inside it."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import asdict, dataclass, field
from functools import cache

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

import audit
from audit import timestamps
from trading import credit_code, lifecycle, periods
from trading import messages as TM
from trading.errors import Conflict, Invalid, NotFound, translated
from trading.models import CalendarDay, CalendarYear, Document, Lot, LotTransition, Notice, Organisation, Project, User
from trading.permissions import require_role, require_staff_of, role_of
from trading.rules import rule_for, security_cap_fen
from trading.money import format_fen
from trading.lifecycle import LotStatus
from django.utils.translation import gettext_lazy as _


iso = timestamps.iso  # the platform's one time format (audit.timestamps); many modules import it from here


# --- organisations ---------------------------------------------------------------------------


def create_organisation(
    *, actor: User | None, name: str, credit_code_value: str, kind: str, region: str = "", name_en: str = "",
    bank_account: str = "", contact: str = "",
) -> Organisation:
    if actor is not None:
        require_role(actor, "admin", "staff")
        if kind in ("centre", "supervisor"):
            require_role(actor, "admin")
    code = (credit_code_value or "").strip().upper()
    reason = credit_code.validate(code)
    if reason:
        raise Invalid(_("credit code %(credit_code_value)r: %(reason)s"), credit_code_value=credit_code_value, reason=reason, field="credit_code")
    if kind not in Organisation.Kind.values:
        raise Invalid(_("unknown organisation kind %(kind)r; expected one of %(values)s"), kind=kind, values=', '.join(Organisation.Kind.values), field="kind")
    if not name.strip():
        raise Invalid(_("the organisation needs a name"), field="name")
    with transaction.atomic():
        if Organisation.objects.filter(credit_code=code).exists():
            raise Conflict(_("an organisation with credit code %(code)s already exists"), code=code, field="credit_code")
        org = Organisation.objects.create(
            name=name.strip(), name_en=name_en, credit_code=code, kind=kind, region=region,
            bank_account=bank_account, contact=contact,
        )
        audit.record(
            action="organisation.create", subject=f"organisation:{org.pk}", actor=actor,
            payload={"id": org.pk, "name": org.name, "credit_code": code, "kind": kind, "region": region},
        )
    return org



# --- sign-in events --------------------------------------------------------------------------------------
# Who signed in, out, was refused, enrolled or removed a second factor, used a recovery code: each an audit
# event for the supervisors only. The payload names the account and the method, never a password, secret,
# code or token; the network address and client go where every action's do (audit.context: the private
# EventContext row, committed by a salted hash in the event), taken from the request by
# audit.middleware.RequestContextMiddleware.
SIGN_IN_METHODS = ("password", "token")
SECOND_FACTOR_KINDS = ("totp", "recovery_code", "security_key")


def _account_event(*, action: str, user: User | None, payload: dict, account: User | None = None) -> None:
    """`user` acted (signed in); `account` is the account concerned when nobody is signed in."""
    subject = user or account
    with transaction.atomic():
        audit.record(action=action, subject=f"user:{subject.pk}" if subject is not None else "user:unknown",
                     actor=user, visibility="supervisors",
                     payload={"user": subject.pk if subject is not None else None, **payload})


def record_sign_in(*, user: User, method: str, second_factor_pending: bool) -> None:
    """A password (page) or token (API) sign-in that succeeded; `second_factor_pending`: the second step
    is still to come (its own event, account.second_factor)."""
    if method not in SIGN_IN_METHODS:
        raise ValueError(f"unknown sign-in method {method!r}")
    _account_event(action="account.sign_in", user=user,
                   payload={"method": method, "second_factor_pending": second_factor_pending})


def record_second_factor(*, user: User, kind: str, recovery_codes_left: int | None = None,
                         device_id: int | None = None) -> None:
    """The second step passed with an authenticator code, a recovery code (then also how many are left) or a
    security key (then which: `device`, trading.models.SecurityKey)."""
    if kind not in SECOND_FACTOR_KINDS:
        raise ValueError(f"unknown second factor {kind!r}")
    payload: dict = {"kind": kind}
    if kind == "recovery_code":
        payload["recovery_codes_left"] = recovery_codes_left
    if device_id is not None:
        payload["device"] = device_id
    _account_event(action="account.recovery_code_used" if kind == "recovery_code" else "account.second_factor",
                   user=user, payload=payload)


def record_sign_out(*, user: User) -> None:
    _account_event(action="account.sign_out", user=user, payload={})


def record_second_factor_change(*, user: User, action: str, device_id: int | None = None,
                                recovery_codes: int | None = None) -> None:
    """An authenticator enrolled (account.second_factor_enrolled) or removed (…_removed, by its replacement),
    recovery codes renewed (account.recovery_codes_renewed: how many, never the codes)."""
    if action not in ("account.second_factor_enrolled", "account.second_factor_removed",
                      "account.recovery_codes_renewed"):
        raise ValueError(f"not a second-factor change: {action!r}")
    payload: dict = {"device": device_id} if device_id is not None else {}
    if recovery_codes is not None:
        payload["recovery_codes"] = recovery_codes
    _account_event(action=action, user=user, payload=payload)


SECURITY_KEY_ACTIONS = ("account.security_key_added", "account.security_key_removed", "account.security_key_refused")
SECURITY_KEY_STEPS = ("register", "sign_in")


def record_security_key(*, user: User, action: str, device_id: int | None = None, name: str | None = None,
                        step: str | None = None, reason: str | None = None, failures: int | None = None,
                        wait_seconds: int | None = None) -> None:
    """A security key (WebAuthn, trading.security_keys) registered (account.security_key_added: the device and
    the name its owner gave it), removed (…_removed), or refused at registration or sign-in
    (account.security_key_refused: the step, the reason code — unknown_key, challenge_missing,
    challenge_expired, sign_count, invalid, already_registered — the key, when the answer named one of the
    account's, the refusals in a row at that step (`failures`) and the delay they impose on the next answer
    (`wait_seconds`); or reason `throttled`: an attempt refused unread while the step waits, with the wait left).
    Never a challenge, signature or public key."""
    if action not in SECURITY_KEY_ACTIONS:
        raise ValueError(f"not a security-key event: {action!r}")
    if step is not None and step not in SECURITY_KEY_STEPS:
        raise ValueError(f"unknown step {step!r}")
    payload: dict = {"kind": "security_key"}
    for key, value in (("device", device_id), ("name", name), ("step", step), ("reason", reason),
                       ("failures", failures), ("wait_seconds", wait_seconds)):
        if value is not None:
            payload[key] = value
    _account_event(action=action, user=user, payload=payload)


SECOND_FACTOR_CODE_KINDS = ("totp", "recovery_code", "code")
SECOND_FACTOR_REFUSALS = ("wrong_code", "throttled")


def record_second_factor_refused(*, user: User, kind: str, reason: str, failures: int,
                                 wait_seconds: int, device_id: int | None = None) -> None:
    """A code refused at the second step (trading.second_factor.verify: the page or an API token),
    account.second_factor_refused: the kind of code it was meant for by its shape (`totp`, `recovery_code`, or
    `code` when that cannot be told), the device when one device of the account was meant, the reason —
    `wrong_code` (counted by django-otp's throttle) or `throttled` (refused unchecked while the device waits) —,
    the refusals in a row on that device (`failures`) and the delay django-otp now imposes on its next code
    (`wait_seconds`: after a wrong code the new delay, for a throttled attempt the wait left). Never the code."""
    if kind not in SECOND_FACTOR_CODE_KINDS:
        raise ValueError(f"unknown kind of code {kind!r}")
    if reason not in SECOND_FACTOR_REFUSALS:
        raise ValueError(f"unknown refusal {reason!r}")
    payload: dict = {"kind": kind, "reason": reason, "failures": failures, "wait_seconds": wait_seconds}
    if device_id is not None:
        payload["device"] = device_id
    _account_event(action="account.second_factor_refused", user=user, payload=payload)


def record_sign_in_refused(*, username: str | None, reason: str, wait_seconds: int) -> None:
    """A sign-in refused by the login throttle (django-axes): the account, if one has that name (a name that
    is no account's is not kept: it may be a mistyped password), and how long the caller must wait."""
    user = User.objects.filter(username__iexact=username).first() if username else None
    _account_event(action="account.sign_in_refused", user=None, account=user,
                   payload={"reason": reason, "wait_seconds": wait_seconds})


def create_user(*, actor: User | None, username: str, password: str, role: str, organisation: Organisation | None,
                email: str = "", display_name: str = "", superuser: bool = False, active: bool = True) -> User:
    """A user account. ``actor`` None is the operator at the command line (manage.py create_user,
    createsuperuser) or the system (bidder self-registration)."""
    if actor is not None:
        require_role(actor, "admin")
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise Invalid(_("a user name has 1 to 150 characters"), field="username")
    if superuser and role != "admin":
        raise Invalid(_("only an admin account can be a superuser"), field="role")
    if role not in User.Role.values:
        raise Invalid(_("unknown role %(role)r"), role=role, field="role")
    if role != "admin" and organisation is None:
        raise Invalid(_("every user except admins belongs to an organisation"), field="organisation")
    expected = {"bidder": "bidder", "staff": "centre", "supervisor": "supervisor"}.get(role)
    if expected:
        assert organisation is not None, "checked above: only an admin belongs to no organisation"
        if organisation.kind != expected:
            raise Invalid(_("a %(role)s account must belong to a %(expected)s organisation"), role=role, expected=expected, field="organisation")
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict(_("user name %(username)r is taken"), username=username, field="username")
        user = User.objects.model(username=username, email=email, role=role, organisation=organisation,
                                  first_name=display_name, is_active=active, is_staff=superuser,
                                  is_superuser=superuser)
        user.set_password(password)
        user.save(force_insert=True)
        audit.record(action="user.create", subject=f"user:{user.pk}", actor=actor, visibility="supervisors",
                     payload={"id": user.pk, "username": username, "role": role,
                              "organisation": organisation.pk if organisation else None,
                              "active": active, "superuser": superuser})
    return user


# --- bidder self-registration with e-mail confirmation ----------------------------------------------

SIGNUP_SALT = "sunlight.signup"


def signup_token(user: User) -> str:
    """A signed, expiring confirmation token for ``user`` (no table: the signature is the proof)."""
    from django.core import signing

    return signing.dumps({"u": user.pk, "e": user.email}, salt=SIGNUP_SALT, compress=True)


def register_bidder(*, name: str, credit_code_value: str, username: str, email: str, password: str,
                    region: str = "", contact: str = "", confirm_url: str) -> User:
    """A bidding company registers itself and its first user, who stays inactive until the e-mail
    address is confirmed. ``confirm_url`` has ``{token}`` where the token goes; the mail leaves on commit."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.core.mail import send_mail
    from django.core.validators import validate_email

    try:
        validate_email(email)
    except ValidationError:
        raise Invalid(_("a valid e-mail address is needed to confirm the account"), field="email") from None
    try:
        validate_password(password, user=User(username=username, email=email))
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages), field="password") from None
    with transaction.atomic():
        code = (credit_code_value or "").strip().upper()
        if Organisation.objects.filter(credit_code=code).exists():
            raise Conflict(_("this organisation is already registered; its existing users can sign in, or the centre's administrator adds a user to it"), field="credit_code")
        org = create_organisation(actor=None, name=name, credit_code_value=code, kind="bidder", region=region,
                                  contact=contact)
        user = create_user(actor=None, username=username, password=password, role="bidder", organisation=org,
                           email=email, active=False)
        link = confirm_url.format(token=signup_token(user))
        transaction.on_commit(lambda: send_mail(
            subject="Sunlight: confirm your e-mail address / 确认电子邮箱",
            message=f"Open this link to activate the account {user.username} / 打开链接以激活账户:\n\n{link}\n",
            from_email=None, recipient_list=[email]))
    return user


def confirm_bidder(*, token: str) -> User:
    """Activate the account a confirmation token names; confirming twice is harmless."""
    from django.core import signing

    try:
        data = signing.loads(token, salt=SIGNUP_SALT, max_age=settings.SUNLIGHT_SIGNUP_MAX_AGE)
    except signing.SignatureExpired:
        raise Invalid(_("this confirmation link has expired; register again"), field="token") from None
    except signing.BadSignature:
        raise Invalid(_("this confirmation link is not valid"), field="token") from None
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=data.get("u"), email=data.get("e")).first()
        if user is None:
            raise Invalid(_("this confirmation link is not valid"), field="token")
        if not user.is_active:
            user.is_active = True
            user.save(update_fields=["is_active"])
            audit.record(action="user.confirm", subject=f"user:{user.pk}", actor=user, visibility="supervisors",
                         payload={"id": user.pk})
    return user


# --- projects and lots -----------------------------------------------------------------------


@dataclass
class LotSpec:
    title: str
    estimate_fen: int
    bid_deadline: dt.datetime
    security_fen: int = 0
    doc_start: dt.datetime | None = None
    doc_end: dt.datetime | None = None
    objection_deadline: dt.datetime | None = None
    auction_start: dt.datetime | None = None
    listing_start: dt.datetime | None = None
    listing_end: dt.datetime | None = None
    increment_fen: int = 0
    closing_rule: str = ""
    evaluation_method: str = ""
    tie_break: str = "lower_price_then_earlier"
    eligibility: list[str] = field(default_factory=list)


SCHEDULE_FIELDS = ("doc_start", "doc_end", "objection_deadline", "bid_deadline", "auction_start", "listing_start", "listing_end")
TIE_BREAKS = ("lower_price_then_earlier", "earlier_submission", "higher_technical_score", "public_draw")


def schedule_of(lot, *, notice_at: dt.datetime) -> periods.Schedule:
    return periods.Schedule(notice_at=notice_at, **{f: getattr(lot, f) for f in SCHEDULE_FIELDS})


def _validate_lot_spec(rule, spec: LotSpec, index: int, *, notice_at: dt.datetime) -> None:
    if not spec.title.strip():
        raise Invalid(_("lot %(index)s: the lot needs a title"), field="title", index=index)
    if spec.estimate_fen < 0 or spec.security_fen < 0 or spec.increment_fen < 0:
        raise Invalid(_("lot %(index)s: amounts must not be negative"), field="estimate", index=index)
    cap = security_cap_fen(rule, spec.estimate_fen)
    if spec.security_fen > cap:
        raise Invalid(
            _("lot %(index)s: the bid security %(security)s exceeds the cap %(cap)s — %(basis)s"), field="security",
            index=index, security=format_fen(spec.security_fen), cap=format_fen(cap),
            basis=rule.basis.get("security_cap_bp", ""),
        )
    if rule.path in ("auction", "listing"):
        if spec.increment_fen <= 0:
            raise Invalid(_("lot %(index)s: an auction or listing needs an increment (加价幅度) greater than zero"),
                          field="increment", index=index)
        if spec.closing_rule not in rule.auction_closing_rules:
            raise Invalid(_("lot %(index)s: closing rule must be one of %(choices)s"), field="closing_rule",
                          index=index, choices=", ".join(rule.auction_closing_rules))
        if spec.evaluation_method:
            raise Invalid(_("lot %(index)s: an auction or listing has no evaluation method: the highest bid decides"),
                          field="evaluation_method", index=index)
    else:
        if spec.evaluation_method not in rule.evaluation_methods:
            raise Invalid(_("lot %(index)s: evaluation method must be one of %(choices)s"), field="evaluation_method",
                          index=index, choices=", ".join(rule.evaluation_methods))
        if spec.closing_rule:
            raise Invalid(_("lot %(index)s: a closing rule applies to auctions and listings only"), field="closing_rule", index=index)
    if spec.tie_break not in TIE_BREAKS:
        raise Invalid(_("lot %(index)s: tie-break rule must be one of %(choices)s"), field="tie_break",
                      index=index, choices=", ".join(TIE_BREAKS))
    if rule.objection_days_before_deadline and spec.objection_deadline is None:
        spec.objection_deadline = periods.default_objection_deadline(rule, spec.bid_deadline)
    errors = periods.validate_schedule(rule, schedule_of(spec, notice_at=notice_at))
    if errors:
        key, problem = next(iter(errors.items()))
        raise Invalid(_("lot %(index)s: %(problem)s"), field=key, index=index,
                      problem=translated(Invalid, problem, TM.SCHEDULE))


def lot_payload(lot: Lot) -> dict:
    data = {
        "id": lot.pk, "number": lot.number, "title": lot.title, "estimate_fen": lot.estimate_fen,
        "security_fen": lot.security_fen, "increment_fen": lot.increment_fen, "closing_rule": lot.closing_rule,
        "evaluation_method": lot.evaluation_method, "tie_break": lot.tie_break, "eligibility": lot.eligibility,
        "status": lot.status, "notice_at": iso(lot.notice_at),
    }
    data.update({f: iso(getattr(lot, f)) for f in SCHEDULE_FIELDS})
    return data


def project_payload(project: Project) -> dict:
    return {
        "id": project.pk, "code": project.code, "title": project.title, "kind": project.kind, "method": project.method,
        "owner": project.owner_id, "agent": project.agent_id, "centre": project.centre_id,
        "supervisor": project.supervisor_id, "region": project.region, "budget_fen": project.budget_fen,
        "state_funded": project.state_funded, "description": project.description,
        "lots": [lot_payload(lot) for lot in project.lots.order_by("number")],
    }


KIND_CODES = {"engineering": "GC", "procurement": "CG", "land": "TD", "asset": "ZC"}


def create_project(
    *, actor: User, kind: str, method: str, title: str, owner: Organisation, supervisor: Organisation,
    region: str, budget_fen: int, lots: list[LotSpec], agent: Organisation | None = None,
    state_funded: bool = True, description: str = "",
) -> Project:
    require_role(actor, "staff")
    rule = rule_for(kind, method)
    if not title.strip():
        raise Invalid(_("the project needs a title"), field="title")
    if not region.strip():
        raise Invalid(_("the project needs a region"), field="region")
    if budget_fen < 0:
        raise Invalid(_("the budget must not be negative"), field="budget")
    if owner.kind != "tenderee":
        raise Invalid(_("the owner must be a tenderee / purchaser / transferor organisation"), field="owner")
    if agent is not None and agent.kind != "agent":
        raise Invalid(_("the agent must be an agent organisation"), field="agent")
    if supervisor.kind != "supervisor":
        raise Invalid(_("the supervising department must be a supervisor organisation"), field="supervisor")
    if not lots:
        raise Invalid(_("a project needs at least one lot"), field="lots")
    now = timezone.now()
    for i, spec in enumerate(lots, start=1):
        _validate_lot_spec(rule, spec, i, notice_at=now)
    with transaction.atomic():
        project = Project.objects.create(
            code=f"TMP-{os.urandom(8).hex()}", title=title.strip(), kind=kind, method=method, owner=owner, agent=agent,
            centre=actor.member_of, supervisor=supervisor, region=region.strip(), budget_fen=budget_fen,
            state_funded=state_funded, description=description, created_by=actor, created_at=now,
        )
        project.code = f"SL-{now:%Y}-{KIND_CODES[kind]}-{project.pk:05d}"
        project.save(update_fields=["code"])
        for number, spec in enumerate(lots, start=1):
            Lot.objects.create(project=project, number=number, status=LotStatus.DRAFT, **asdict(spec))
        audit.record(action="project.create", subject=f"project:{project.pk}", actor=actor, project_id=project.pk,
                     visibility="supervisors", payload=project_payload(project))
    return project


def _locked_lot(lot: Lot | int) -> Lot:
    lot_id = lot.pk if isinstance(lot, Lot) else lot
    try:
        return Lot.objects.select_for_update().select_related("project").get(pk=lot_id)
    except Lot.DoesNotExist:
        raise NotFound(_("no such lot")) from None


@cache
def _hooks(action: str) -> tuple:
    return tuple(import_string(path) for path in settings.SUNLIGHT_LIFECYCLE_HOOKS.get(action, ()))


def _check_guard(guard: str | None, lot: Lot, now: dt.datetime) -> None:
    if guard is None:
        return
    if guard == "schedule_valid":
        errors = periods.validate_schedule(lot.rule, schedule_of(lot, notice_at=now))
        if errors:
            raise Invalid(_("lot %(index)s: %(problem)s"), field=next(iter(errors)), index=lot.number,
                          problem=translated(Invalid, next(iter(errors.values())), TM.SCHEDULE))
        return
    moments = {
        "bid_deadline_passed": lot.bid_deadline, "auction_start_passed": lot.auction_start,
        "listing_start_passed": lot.listing_start, "listing_end_passed": lot.listing_end,
    }
    moment = moments[guard]
    if moment is None or now < moment:
        when = timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else "unset"
        raise Conflict(_("too early: lot %(number)s cannot do this before %(when)s"), number=lot.number, when=when)


def transition_lot(*, lot: Lot | int, action: str, actor: User | None = None, reason: str = "",
                   payload: dict | None = None) -> Lot:
    """Apply one lifecycle transition: the only way a lot's status changes."""
    with transaction.atomic():
        lot = _locked_lot(lot)
        now = timezone.now()
        t = lifecycle.find_transition(path=lot.path, status=lot.status, action=action)
        lifecycle.check_role(t, "system" if actor is None else role_of(actor))
        if actor is not None:
            require_staff_of(actor, lot.project)
        from trading.challenges.services import check_lot_may_move

        check_lot_may_move(lot=lot, action=action)  # a suspended project, or a step an open objection holds
        if t.needs_reason and not reason.strip():
            raise Invalid(_("a reason is required to %(value)s a lot"), value=action.replace('_', ' '), field="reason")
        _check_guard(t.guard, lot, now)
        source = lot.status
        lot.status = t.target
        if action == "publish":
            lot.notice_at = now
        lot.save(update_fields=["status", "notice_at"])
        event = audit.record(
            action="lot.transition", subject=f"lot:{lot.pk}", actor=actor, project_id=lot.project_id,
            # the caller's extra payload can add facts but never overwrite what replay relies on
            payload={**(payload or {}), "lot": lot.pk, "number": lot.number, "from": source, "action": action,
                     "to": t.target, "reason": reason, "at": iso(now)},
        )
        LotTransition.objects.create(lot=lot, source=source, action=action, target=t.target, actor=actor,
                                     reason=reason, at=now, event_id=event.pk)
        for hook in _hooks(action):
            hook(lot=lot, action=action, actor=actor, now=now)
    return lot


def shift_lot_schedule(*, lot: Lot, after: dt.datetime, delta: dt.timedelta, reason: str) -> Lot:
    """Move every schedule moment of the lot still to come at `after` by `delta` (a suspension's length):
    the lot's clocks stopped while its project was suspended. Called inside the caller's transaction."""
    changed = {}
    for f in SCHEDULE_FIELDS:
        value = getattr(lot, f)
        if value is not None and value > after:
            setattr(lot, f, value + delta)
            changed[f] = iso(value + delta)
    if changed:
        lot.save(update_fields=list(changed))
        audit.record(action="lot.schedule_shift", subject=f"lot:{lot.pk}", project_id=lot.project_id,
                     payload={"lot": lot.pk, "number": lot.number, "reason": reason,
                              "shift_seconds": int(delta.total_seconds()), **changed})
    return lot


# --- notices -----------------------------------------------------------------------------------

NOTICE_CODES = {"tender": "ZB", "amendment": "BG", "clarification": "CQ", "opening_record": "KB",
                "candidates": "GS", "result": "JG", "termination": "ZZ"}


def publish_notice(*, actor: User | None, project: Project, kind: str, title: str, body: str,
                   lot: Lot | None = None, amends: Notice | None = None, data: dict | None = None) -> Notice:
    """Publish a notice (never edited afterwards). actor=None: published by the system."""
    if kind not in NOTICE_CODES:
        raise Invalid(_("unknown notice kind %(kind)r"), kind=kind, field="kind")
    if actor is not None:
        require_staff_of(actor, project)
    if not title.strip() or not body.strip():
        raise Invalid(_("a notice needs a title and a body"), field="title")
    if lot is not None and lot.project_id != project.pk:
        raise Invalid(_("that lot belongs to another project"), field="lot")
    if amends is not None and amends.project_id != project.pk:
        raise Invalid(_("an amendment must amend a notice of the same project"), field="amends")
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        now = timezone.now()
        seq = Notice.objects.filter(project=project).count() + 1
        number = f"{project.code}-{NOTICE_CODES[kind]}{seq:02d}"
        payload = {"number": number, "kind": kind, "title": title, "body": body, "lot": lot.pk if lot else None,
                   "amends": amends.pk if amends else None, "data": data or {}, "published_at": iso(now)}
        event = audit.record(action="notice.publish", subject=f"project:{project.pk}", actor=actor,
                             project_id=project.pk, payload=payload)
        notice = Notice.objects.create(project=project, lot=lot, kind=kind, number=number, title=title, body=body,
                                       data=data or {}, amends=amends, published_at=now, published_by=actor,
                                       event_id=event.pk)
    return notice


def publish_project(*, actor: User, project: Project, title: str = "", body: str = "") -> Notice:
    """Publish the tender / transfer notice and open every lot (draft → published)."""
    require_staff_of(actor, project)
    with transaction.atomic():
        lots = list(Lot.objects.select_for_update().filter(project=project).order_by("number"))
        if not lots or any(lot.status != LotStatus.DRAFT for lot in lots):
            raise Conflict(_("project %(code)s is already published"), code=project.code)
        for lot in lots:
            transition_lot(lot=lot, action="publish", actor=actor)
        audit.record(action="project.publish", subject=f"project:{project.pk}", actor=actor, project_id=project.pk,
                     payload=project_payload(project))
        notice = publish_notice(
            actor=actor, project=project, kind="tender", title=title or f"{project.title} {project.rule.label}公告",
            body=body or project.description or project.title,
            data={"lots": [lot_payload(lot) for lot in project.lots.order_by("number")]},
        )
    return notice


def publish_amendment(*, actor: User, notice: Notice, title: str, body: str, kind: str = "amendment",
                      new_bid_deadline: dt.datetime | None = None) -> Notice:
    """An amendment / clarification. Less than the rule's days before the deadline pushes the deadline out."""
    if kind not in ("amendment", "clarification"):
        raise Invalid(_("an amendment notice is of kind amendment or clarification"), field="kind")
    project = notice.project
    require_staff_of(actor, project)
    with transaction.atomic():
        now = timezone.now()
        open_lots = Lot.objects.select_for_update().filter(project=project, status=LotStatus.PUBLISHED).order_by("number")
        if notice.lot_id:
            open_lots = open_lots.filter(pk=notice.lot_id)
        lots = list(open_lots)
        if not lots:
            raise Conflict(_("no lot of this notice is still open for bids: it can no longer be amended"))
        changes = []
        for lot in lots:
            old = lot.bid_deadline
            wanted = new_bid_deadline or old
            if wanted < old:
                raise Invalid(_("an amendment cannot bring the bid deadline forward"), field="new_bid_deadline")
            new = periods.deadline_after_amendment(lot.rule, amended_at=now, bid_deadline=wanted)
            if new != old:
                shift = new - old
                lot.bid_deadline = new
                for f in ("auction_start", "listing_start", "listing_end"):
                    if getattr(lot, f) is not None:
                        setattr(lot, f, getattr(lot, f) + shift)
                if lot.objection_deadline and lot.rule.objection_days_before_deadline:
                    lot.objection_deadline = periods.default_objection_deadline(lot.rule, new)
                lot.save()
                changes.append({"lot": lot.pk, "old_bid_deadline": iso(old), "new_bid_deadline": iso(new),
                                **{f: iso(getattr(lot, f)) for f in SCHEDULE_FIELDS}})
        amendment = publish_notice(actor=actor, project=project, kind=kind, title=title, body=body,
                                   lot=notice.lot, amends=notice, data={"schedule_changes": changes})
    return amendment


def terminate_project(*, actor: User, project: Project, reason: str) -> Notice:
    require_staff_of(actor, project)
    if not reason.strip():
        raise Invalid(_("a reason is required to terminate a project"), field="reason")
    with transaction.atomic():
        lots = list(Lot.objects.select_for_update().filter(project=project).exclude(status__in=lifecycle.FINAL))
        if not lots or any(lot.status == LotStatus.DRAFT for lot in lots):
            raise Conflict(_("project %(code)s has nothing published to terminate"), code=project.code)
        for lot in lots:
            transition_lot(lot=lot, action="terminate", actor=actor, reason=reason)
        notice = publish_notice(actor=actor, project=project, kind="termination",
                                title=f"{project.title} 终止公告", body=reason)
        close_project(project=project)
    return notice


def close_project(*, project: Project | int) -> bool:
    """Close a project whose every lot is final (complete, failed, terminated): its closing audit event
    commits to the project's final event count. Once; the clock closes the others (trading.clock)."""
    project_id = project if isinstance(project, int) else project.pk
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project_id).first()
        lots = dict(Lot.objects.filter(project_id=project_id).values_list("id", "status"))
        if not lots or any(status not in lifecycle.FINAL for status in lots.values()):
            return False
        return audit.close_project(project_id=project_id, lots={str(k): v for k, v in sorted(lots.items())}) is not None


# --- documents ---------------------------------------------------------------------------------


def attach_document(*, actor: User, notice: Notice, name: str, content: bytes, content_type: str = "application/octet-stream",
                    access: str = "public") -> Document:
    require_staff_of(actor, notice.project)
    ext = os.path.splitext(name)[1].lower()
    if ext not in settings.SUNLIGHT_DOCUMENT_TYPES:
        raise Invalid(_("file type %(value)s is not accepted; allowed: %(SUNLIGHT_DOCUMENT_TYPES)s"), value=ext or '(none)', SUNLIGHT_DOCUMENT_TYPES=', '.join(settings.SUNLIGHT_DOCUMENT_TYPES), field="file")
    if len(content) == 0:
        raise Invalid(_("the file is empty"), field="file")
    if len(content) > settings.SUNLIGHT_DOCUMENT_MAX_BYTES:
        raise Invalid(_("the file is larger than the limit of %(SUNLIGHT_DOCUMENT_MAX_BYTES)s bytes"), SUNLIGHT_DOCUMENT_MAX_BYTES=settings.SUNLIGHT_DOCUMENT_MAX_BYTES, field="file")
    if access not in Document.Access.values:
        raise Invalid(_("access must be one of %(values)s"), values=', '.join(Document.Access.values), field="access")
    digest = hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        now = timezone.now()
        doc = Document(notice=notice, name=os.path.basename(name)[:200], content_type=content_type[:100],
                       size=len(content), sha256=digest, access=access, uploaded_by=actor, uploaded_at=now)
        doc.file.save(f"{digest}{ext}", ContentFile(content), save=False)
        try:
            doc.save()
        except IntegrityError as exc:  # the answer names the database rule, not the database's English
            rule = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) or "?"
            raise Invalid(_("document refused (database rule %(rule)s)"), rule=rule) from None
        audit.record(action="document.attach", subject=f"document:{doc.pk}", actor=actor, project_id=notice.project_id,
                     payload={"document": doc.pk, "notice": notice.pk, "name": doc.name, "sha256": digest,
                              "size": doc.size, "access": access})
    return doc


# --- the official calendar ----------------------------------------------------------------------


def load_calendar_year(*, actor: User | None, year: int, days: dict[dt.date, tuple[bool, str]], source: str) -> CalendarYear:
    """Load (or replace) one year of the official calendar: its public holidays (False) and make-up working
    days (True). actor=None: an administrator at the command line. Checked: every day lies in that year and
    a make-up working day falls on a weekend."""
    if actor is not None:
        require_role(actor, "admin")
    if not (2000 <= year <= 2200):
        raise Invalid(_("year %(year)s is out of range"), year=year, field="year")
    if not source.strip():
        raise Invalid(_("say which notice the calendar comes from (e.g. 国办发明电〔2026〕N号)"), field="source")
    if not days:
        raise Invalid(_("a year's arrangement lists at least its public holidays"), field="days")
    for d, (working, _name) in days.items():
        if d.year != year:
            raise Invalid(_("%(d)s is not in %(year)s"), d=d.isoformat(), year=year, field="days")
        if working and d.weekday() < 5:
            raise Invalid(_("%(d)s is a weekday: only a weekend day can be a make-up working day"), d=d.isoformat(), field="days")
    with transaction.atomic():
        now = timezone.now()
        CalendarYear.objects.filter(year=year).delete()
        cal = CalendarYear.objects.create(year=year, source=source.strip(), loaded_at=now, loaded_by=actor)
        CalendarDay.objects.bulk_create(
            CalendarDay(calendar=cal, date=d, working=w, name=name[:60]) for d, (w, name) in sorted(days.items()))
        audit.record(action="calendar.load", subject=f"calendar:{year}", actor=actor,
                     payload={"year": year, "source": cal.source,
                              "holidays": sorted(d.isoformat() for d, (w, _) in days.items() if not w),
                              "workdays": sorted(d.isoformat() for d, (w, _) in days.items() if w)})
    return cal
