"""Who is acting: a name and a role. Permissions are checked here, in the domain's write path."""

from __future__ import annotations

import getpass
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aiops.bounded_input import load_toml
from aiops.errors import AiopsError, PermissionDenied
from aiops.identity import has_lookalikes, identity_key

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
        return self.leads(department)

    def leads(self, department: str) -> bool:
        """Whether ``department`` is one of this person's own (``identity_key``: any case, width or
        spacing); an admin leads only the departments granted, as anyone."""
        return identity_key(department) in {identity_key(d) for d in self.departments}

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

    @field_validator("email")
    @classmethod
    def _plain_email(cls, email: str | None) -> str | None:
        """A grant names an address as sign-in sees it: one with look-alikes would be folded."""
        if email is not None and has_lookalikes(email):
            raise ValueError(f"{email!r} holds look-alike characters; write the address in plain letters")
        return email


class IdentityClaim(BaseModel):
    """A provider whose tokens carry no (verified) email may name its users by another claim, e.g.
    ``preferred_username``; it is trusted only in tokens issued by ``provider`` (the ``iss`` claim)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    claim: str = Field(min_length=1)
    provider: str = Field(min_length=1)


class Roles(BaseModel):
    """Who may do what once sign-in is on: grants by email or group, and a default role."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_role: Role = "viewer"
    grants: list[RoleGrant] = Field(default_factory=list)
    identity: IdentityClaim | None = None

    def identity_for(self, claims: Mapping[str, object]) -> str:
        """Who the signed-in user is: their email when the provider says it is verified, or the
        configured claim from the configured provider. Never the display name (anyone can pick
        one); refused when neither is there. Identities are ``identity_key``s: they compare and
        audit as one person however the provider spells their case and spacing."""
        if self.identity is not None and _same_issuer(claims.get("iss"), self.identity.provider):
            value = claims.get(self.identity.claim)
            if isinstance(value, str) and value.strip():
                return _identity(value)
        email = claims.get("email")
        if isinstance(email, str) and "@" in email and _is_true(claims.get("email_verified")):
            return _identity(email)
        raise SignInRefused(
            "your account did not give a verified email address, so Saved Loops cannot tell who you are",
            "ask your identity provider's admin to verify your email"
            + (f" or to send the '{self.identity.claim}' claim" if self.identity else "")
            + ", then sign in again",
        )

    def actor_for_claims(self, claims: Mapping[str, object]) -> Actor:
        """The signed-in user (from their token's claims) with their role; see ``identity_for``."""
        groups = claims.get("groups") or []
        groups = [str(g) for g in groups] if isinstance(groups, list | tuple) else [str(groups)]
        return self.actor_for(self.identity_for(claims), groups)

    def actor_for(self, identity: str, groups: list[str] | tuple[str, ...] = ()) -> Actor:
        """A verified identity's role: an identity (email) grant first, then group grants, then the
        default. A lead's departments are the union of every matching lead grant."""
        key = _identity(identity)
        if not key:
            raise SignInRefused("a sign-in without an identity", "sign in again")
        matching = [g for g in self.grants if g.email and identity_key(g.email) == key]
        if not matching:
            wanted = {identity_key(g) for g in groups}
            matching = [g for g in self.grants if g.group and identity_key(g.group) in wanted]
        if not matching:
            return Actor(name=key, role=self.default_role)
        order = {"viewer": 0, "lead": 1, "admin": 2}
        role = max((g.role for g in matching), key=order.__getitem__)
        departments = tuple(dict.fromkeys(d for g in matching if g.role == "lead" for d in g.departments))
        return Actor(name=key, role=role, departments=departments if role == "lead" else ())


class SignInRefused(PermissionDenied):
    """The identity provider did not say who the user is in a way Saved Loops can trust."""


def _identity(value: str) -> str:
    """A verified email (or claim) as an identity. One holding look-alike characters is refused, not
    folded: ``staﬀ@x`` (a ligature) is a mailbox of its own, and folding it would hand it the role
    of ``staff@x``."""
    if has_lookalikes(value):
        raise SignInRefused(
            f"the identity {value!r} holds look-alike characters (a ligature, full-width or styled letters,"
            " a long s) that read as another person's address",
            "sign in with an address written in plain letters",
        )
    return identity_key(value)


def _is_true(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _same_issuer(issuer: object, provider: str) -> bool:
    return isinstance(issuer, str) and issuer.rstrip("/") == provider.rstrip("/")


def load_roles(path: str | Path | None) -> Roles:
    """The roles file (TOML); without one, every signed-in user is a viewer."""
    if path is None:
        return Roles()
    try:
        data = load_toml(Path(path).read_text("utf-8"), f"roles file {path}", AiopsError)
        return Roles.model_validate(data)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise AiopsError(f"cannot read roles file {path}: {e}", "see README: Sign-in and roles") from e
    except ValidationError as e:
        first = e.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise AiopsError(
            f"roles file {path}: key '{key}': {first['msg']}", "see README: Sign-in and roles"
        ) from e
