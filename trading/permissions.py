"""The one small set of permission functions. Services call them (views call them too, for 404s).

管办分离: staff act only on their own centre's projects; supervisors read everything and change
nothing (except their own remarks, countersignatures and custody shares); bidders see only their own.
"""
from __future__ import annotations

from trading.errors import Forbidden, NotAuthenticated
from trading.lifecycle import LotStatus
from django.utils.translation import gettext_lazy as _

PUBLIC = "public"


def role_of(user) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return PUBLIC
    return user.role


def require_login(user) -> None:
    if role_of(user) == PUBLIC:
        raise NotAuthenticated(_("please log in first"))


def require_role(user, *roles: str) -> None:
    role = role_of(user)
    if role == PUBLIC:
        raise NotAuthenticated(_("please log in first (this action is for %(roles)s accounts)"), roles=' or '.join(roles))
    if role not in roles:
        wanted = " or ".join(roles)
        raise Forbidden(_("this action is for %(wanted)s accounts; you are signed in as %(role)s"), wanted=wanted, role=role)


def require_bidder(user) -> None:
    require_role(user, "bidder")


def is_supervisor(user) -> bool:
    return role_of(user) == "supervisor"


def is_staff_of(user, project) -> bool:
    return role_of(user) == "staff" and user.organisation_id == project.centre_id


def require_staff_of(user, project) -> None:
    require_role(user, "staff")
    if user.organisation_id != project.centre_id:
        raise Forbidden(_("project %(code)s belongs to another trading centre; you cannot act on it"), code=project.code)


def can_read_project(user, project) -> bool:
    """Published projects are public; drafts only for their centre's staff and supervisors."""
    if is_staff_of(user, project) or is_supervisor(user) or role_of(user) == "admin":
        return True
    return project.lots.exclude(status=LotStatus.DRAFT).exists()


def require_read_project(user, project) -> None:
    from trading.errors import NotFound

    if not can_read_project(user, project):
        raise NotFound(_("no such project"))


def require_own_organisation(user, organisation_id: int) -> None:
    if getattr(user, "organisation_id", None) != organisation_id:
        raise Forbidden(_("this belongs to another organisation"))
