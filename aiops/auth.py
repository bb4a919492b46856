"""Who is acting: a name and a role. Permissions are checked here, in the domain's write path."""

from __future__ import annotations

import getpass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aiops.errors import PermissionDenied

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
