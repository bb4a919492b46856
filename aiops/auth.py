"""Who is acting: a name and a role. Permissions are checked here, in the domain's write path."""

from __future__ import annotations

import getpass
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aiops.errors import AiopsError, PermissionDenied

Role = Literal["admin", "lead", "viewer"]


class Actor(BaseModel):
    """The acting user. A lead may write only for their departments; a viewer never writes."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    role: Role = "viewer"
    departments: tuple[str, ...] = ()

    def can_write(self, department: str | None = None) -> bool:
        if self.role == "admin":
            return True
        if self.role != "lead":
            return False
        if department is None:
            return bool(self.departments)
        return department.casefold() in {d.casefold() for d in self.departments}

    def require_write(self, department: str | None = None, what: str = "change data") -> None:
        if not self.can_write(department):
            where = f" for {department}" if department else ""
            raise PermissionDenied(
                f"{self.name} ({self.role}) may not {what}{where}",
                "ask an admin for the lead role of that department",
            )

    def require_admin(self, what: str) -> None:
        if self.role != "admin":
            raise PermissionDenied(f"{self.name} ({self.role}) may not {what}", "ask an admin")


def local_admin(name: str | None = None) -> Actor:
    """The CLI and the dashboard's local mode act as one admin, named after the OS user."""
    return Actor(name=name or _os_user(), role="admin")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local-admin"


class RoleGrant(BaseModel):
    """A role for an email address or an identity-provider group."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: str | None = None
    group: str | None = None
    role: Role
    departments: tuple[str, ...] = ()


class Roles(BaseModel):
    """Who may do what once sign-in is on: grants by email or group, and a default role."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_role: Role = "viewer"
    grants: list[RoleGrant] = Field(default_factory=list)

    def actor_for(self, email: str, groups: list[str] | tuple[str, ...] = (), name: str = "") -> Actor:
        """The signed-in user's role: an email grant first, then group grants, then the default.
        A lead's departments are the union of every matching lead grant."""
        email_key = email.strip().casefold()
        matching = [g for g in self.grants if g.email and g.email.casefold() == email_key]
        if not matching:
            wanted = {g.casefold() for g in groups}
            matching = [g for g in self.grants if g.group and g.group.casefold() in wanted]
        if not matching:
            return Actor(name=email or name or "anonymous", role=self.default_role)
        order = {"viewer": 0, "lead": 1, "admin": 2}
        role = max((g.role for g in matching), key=order.__getitem__)
        departments = tuple(dict.fromkeys(d for g in matching if g.role == "lead" for d in g.departments))
        return Actor(name=email or name, role=role, departments=departments if role == "lead" else ())


def load_roles(path: str | Path | None) -> Roles:
    """The roles file (TOML); without one, every signed-in user is a viewer."""
    if path is None:
        return Roles()
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
        return Roles.model_validate(data)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise AiopsError(f"cannot read roles file {path}: {e}", "see README: Sign-in and roles") from e
    except ValidationError as e:
        first = e.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise AiopsError(
            f"roles file {path}: key '{key}': {first['msg']}", "see README: Sign-in and roles"
        ) from e
