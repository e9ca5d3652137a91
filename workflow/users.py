"""Users, roles and the ``Actor`` every command acts as.

A user has roles and, for district staff, a district. A lane's name is the role whose members may
claim its tasks (``lane_role`` maps it otherwise). District users see and act only within their
own district: a case without a district is municipal, and district users neither start it nor see
or claim its tasks. Users without a district (municipal staff) act in every district. ``流程管理员``
(the process owner) deploys process versions. ``admin`` may do anything; ``auditor`` reads
everything and changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from . import journal
from .errors import InvalidData, NotFound, PermissionDenied
from .store import HumanTask, LaneRole, User, UserRole

ADMIN = "admin"
AUDITOR = "auditor"
PROCESS_OWNER = "流程管理员"  # deploys process versions (with admin)


@dataclass(frozen=True)
class Actor:
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    district: str | None = None

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    def may_act_in(self, district: str | None) -> bool:
        """District users act only in their own district (a case without one is municipal);
        municipal users and admins act everywhere."""
        return self.is_admin or self.district is None or self.district == district

    def may_work_on(self, role: str | None, district: str | None) -> bool:
        """A task without a role (a user task outside every lane, which deploy no longer accepts)
        is for admins only."""
        if self.is_admin:
            return True
        return role is not None and role in self.roles and self.may_act_in(district)

    def describe(self) -> str:
        """"user 'x' (roles A, B; district 310101)", for messages."""
        roles = ", ".join(sorted(self.roles)) or "no roles"
        where = f"district {self.district}" if self.district else "municipal"
        return f"user '{self.name}' (roles {roles}; {where})"

    def require_writer(self) -> None:
        if self.roles and self.roles <= {AUDITOR}:
            raise PermissionDenied(f"User '{self.name}' is an auditor: auditors read cases and change nothing.")


SYSTEM = Actor("system", frozenset({ADMIN}))


def hash_password(password: str) -> str:
    salt = secrets.token_hex(16)
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=2**14, r=8, p=1).hex()
    return f"scrypt${salt}${digest}"


def check_password(stored: str | None, password: str) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt, digest = stored.split("$", 2)
    candidate = hashlib.scrypt(password.encode(), salt=salt.encode(), n=2**14, r=8, p=1).hex()
    return hmac.compare_digest(candidate, digest)


def add_user(session: Session, name: str, roles: list[str], *, district: str | None = None,
             password: str | None = None, display_name: str = "", email: str | None = None,
             now: datetime, by: str = "cli", reason: str | None = None) -> Actor:
    """Create a user, or update the roles, district, e-mail and password of an existing one; the
    system journal records who did it (``by``: the admin, or ``cli`` for the database
    administrator's ``shanyu user add``), never the password."""
    name = name.strip()
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        raise InvalidData("A user name must be 1–100 characters without spaces.")
    if not roles:
        raise InvalidData(f"Give user '{name}' at least one role (--role).")
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        user = User(name=name, created_at=now)
        session.add(user)
    user.district = district
    user.display_name = display_name or user.display_name or name
    if email is not None:  # None leaves it as it is; "" removes it
        email = email.strip()
        if email and (len(email) > 254 or email.count("@") != 1 or any(c.isspace() for c in email)):
            raise InvalidData(f"'{email}' is not an e-mail address like name@example.org.")
        user.email = email or None
    if password is not None:
        if len(password) < 8:
            raise InvalidData("A password must have at least 8 characters.")
        user.password_hash = hash_password(password)
    session.flush()
    session.execute(delete(UserRole).where(UserRole.user_id == user.id))
    for role in sorted(set(roles)):
        session.add(UserRole(user_id=user.id, role=role))
    session.flush()
    journal.record(session, "user_saved", actor=by, at=now, payload={
        "user": name, "roles": sorted(set(roles)), "district": district, "password_set": password is not None,
        **({"reason": reason} if reason else {})})
    return Actor(name, frozenset(roles), district)


def load_actor(session: Session, name: str) -> Actor:
    row = session.execute(select(User.id, User.district, User.disabled).where(User.name == name)).first()
    if row is None:
        raise NotFound(f"There is no user '{name}'. Create one with `shanyu user add {name} --role ROLE`.")
    if row[2]:
        raise PermissionDenied(f"User '{name}' is disabled; an admin can enable the account again.")
    roles = session.execute(select(UserRole.role).where(UserRole.user_id == row[0])).scalars().all()
    return Actor(name, frozenset(roles), row[1])


def map_lane(session: Session, lane: str, role: str, *, by: str = "cli", now: datetime | None = None) -> int:
    """Map ``lane`` to ``role`` for new tasks and re-label its open tasks; returns how many."""
    existing = session.get(LaneRole, lane)
    if existing is None:
        session.add(LaneRole(lane=lane, role=role))
    else:
        existing.role = role
    session.flush()
    result = session.execute(update(HumanTask).where(HumanTask.lane == lane, HumanTask.state == "ready")
                             .values(role=role))
    count = int(result.rowcount)  # type: ignore[attr-defined]
    journal.record(session, "lane_mapped", actor=by, at=now or datetime.now(UTC),
                   payload={"lane": lane, "role": role, "open_tasks": count})
    return count


# The lanes of the programme's diagrams (bpmn/): the roles a fresh database can give its users
# before anything is deployed.
PROGRAMME_ROLES = ("区有关部门", "区委区政府", "市有关部门", "市级审批", "审核专家组")


def known_roles(session: Session) -> set[str]:
    """admin, auditor, 流程管理员, the lane names of every deployed process version and the roles
    of ``lane_role`` mappings; before the first deploy, the programme's lane roles instead of lanes."""
    from .store import Bundle, ProcessVersion
    from .xmlsafe import parse_xml

    lane_tag = "{http://www.omg.org/spec/BPMN/20100524/MODEL}lane"

    roles = {ADMIN, AUDITOR, PROCESS_OWNER}
    roles.update(session.execute(select(LaneRole.role)).scalars())
    hashes = set(session.execute(select(ProcessVersion.bundle_hash).distinct()).scalars())
    if not hashes:
        return roles | set(PROGRAMME_ROLES)
    for files_text in session.execute(select(Bundle.files).where(Bundle.content_hash.in_(hashes))).scalars():
        for name, text in json.loads(files_text):
            if name.lower().endswith(".bpmn"):
                root = parse_xml(text, filename=name)
                roles.update(lane.get("name") for lane in root.iter(lane_tag) if lane.get("name"))
    return roles


def check_user(session: Session, roles: list[str], district: str | None) -> None:
    """Refuse unknown roles and district codes (``shanyu user add``; ``add_user`` itself does not
    check, so tests and tools may create users of their own roles)."""
    from .districts import DISTRICTS

    if district is not None and district not in DISTRICTS:
        known = ", ".join(f"{code} {name}" for code, name in DISTRICTS.items())
        raise InvalidData(f"'{district}' is not a Shanghai district code. Use one of: {known}; "
                          "leave --district out for municipal staff.")
    known_roles_ = known_roles(session)
    unknown = [role for role in roles if role not in known_roles_]
    if unknown:
        raise InvalidData(f"Unknown role {', '.join(repr(r) for r in unknown)}. Known roles: "
                          f"{', '.join(sorted(known_roles_))} (a role is the name of a lane of a deployed process, "
                          f"or one mapped with `shanyu lane map`; before anything is deployed, the programme's "
                          f"lanes {', '.join(PROGRAMME_ROLES)}).")


@dataclass(frozen=True)
class UserView:
    """A user as the admin pages list them (never the password hash)."""

    name: str
    display_name: str
    district: str | None
    roles: tuple[str, ...]
    disabled: bool
    has_password: bool
    created_at: datetime


def list_users(session: Session) -> list[UserView]:
    """Every user with their roles, by name."""
    roles: dict[int, list[str]] = {}
    for user_id, role in session.execute(select(UserRole.user_id, UserRole.role).order_by(UserRole.role)):
        roles.setdefault(user_id, []).append(role)
    return [UserView(u.name, u.display_name or u.name, u.district, tuple(roles.get(u.id, ())), bool(u.disabled),
                     bool(u.password_hash), u.created_at)
            for u in session.execute(select(User).order_by(User.name)).scalars()]


def set_disabled(session: Session, name: str, disabled: bool, *, by: Actor, now: datetime | None = None) -> None:
    """Disable (or enable again) a user: a disabled user cannot sign in, and their sessions end.
    Admins cannot disable themselves (someone must be left to undo it)."""
    if not by.is_admin:
        raise PermissionDenied(f"Only an admin can disable users; {by.describe()} is not one.")
    if disabled and name == by.name:
        raise InvalidData("You cannot disable your own account.")
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"There is no user '{name}'.")
    user.disabled = disabled
    journal.record(session, "user_disabled" if disabled else "user_enabled", actor=by.name,
                   at=now or datetime.now(UTC), payload={"user": name})
