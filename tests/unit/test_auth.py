"""Identity from OIDC claims (issue 14, finding 2): only a verified email, or a configured claim from
the configured provider, says who a user is; the audit log names that identity."""

from __future__ import annotations

import pytest

from aiops.auth import IdentityClaim, RoleGrant, Roles, SignInRefused
from aiops.inventory import sign_off
from aiops.store import Store

ROLES = Roles(grants=[RoleGrant(email="Admin@Example.com", role="admin")])


def test_the_name_claim_never_becomes_the_identity():
    with pytest.raises(SignInRefused, match="verified email"):
        ROLES.actor_for_claims({"name": "admin@example.com", "sub": "123"})


@pytest.mark.parametrize("verified", [False, None, "false", "no"])
def test_an_unverified_email_is_refused(verified):
    claims = {"email": "ADMIN@EXAMPLE.COM", "email_verified": verified}
    with pytest.raises(SignInRefused):
        ROLES.actor_for_claims(claims)


def test_a_verified_email_matches_its_grant_case_insensitively():
    actor = ROLES.actor_for_claims({"email": "ADMIN@example.COM", "email_verified": True, "name": "x"})
    assert (actor.name, actor.role) == ("admin@example.com", "admin")
    assert ROLES.actor_for_claims({"email": "a@b.c", "email_verified": "true"}).role == "viewer"


def test_a_configured_claim_counts_only_from_the_named_provider():
    roles = Roles(
        grants=[RoleGrant(email="dana", role="lead", departments=("Support",))],
        identity=IdentityClaim(claim="preferred_username", provider="https://idp.example/realms/co"),
    )
    actor = roles.actor_for_claims({"iss": "https://idp.example/realms/co/", "preferred_username": "Dana"})
    assert (actor.name, actor.role, actor.departments) == ("dana", "lead", ("Support",))
    with pytest.raises(SignInRefused, match="preferred_username"):
        roles.actor_for_claims({"iss": "https://other.example", "preferred_username": "dana"})


def test_the_audit_actor_is_the_verified_identity(demo: Store):
    actor = ROLES.actor_for_claims({"email": "Admin@Example.COM", "email_verified": True, "name": "Eve"})
    workflow_id = demo.query_one("SELECT workflow_id FROM workflows LIMIT 1")[0]
    sign_off(demo, actor, workflow_id, "Approver")
    last = demo.query_one("SELECT actor FROM audit_log ORDER BY audit_id DESC LIMIT 1")
    assert last == ("admin@example.com",)
