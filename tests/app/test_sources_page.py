"""The Sources page by role: leads see and add sources for their departments' workflows, admins for
all, viewers do not get the page (the domain refuses them anyway: tests/unit/test_sources.py)."""

from __future__ import annotations

from aiops.sources.model import add_source, spec_from
from aiops.store import Store
from tests.app.test_roles import can_open, signed_in  # noqa: F401 - the fixture, shared
from tests.conftest import ADMIN


def add_sources(db) -> None:
    with Store(db) as store:
        for name, workflow in (("support-desk", "sup-ticket-triage"), ("eng-prs", "eng-pr-review-prep")):
            values = dict(name=name, tool="github_pulls", query="octo/repo", workflow_id=workflow)
            add_source(store, ADMIN, spec_from(values | {"go_live": "2025-01-01", "token_ref": "env:T"}))


def listed(at) -> list[str]:
    return [
        m.value.split("**")[1] for m in at.markdown if m.value.startswith("**") and "token from" in m.value
    ]


def test_viewer_has_no_sources_page(signed_in):  # noqa: F811
    assert not can_open(signed_in("someone@northwind.example"), "sources")


def test_lead_sees_and_adds_sources_of_their_department_only(signed_in, demo_path):  # noqa: F811
    add_sources(demo_path)
    at = signed_in("dana.lee@northwind.example")
    assert can_open(at, "sources")
    assert listed(at) == ["support\\-desk"]
    workflows = next(s for s in at.selectbox if s.label == "Workflow it feeds").options
    assert workflows and all(option.startswith("Support · ") for option in workflows)


def test_admin_sees_every_source(signed_in, demo_path):  # noqa: F811
    add_sources(demo_path)
    at = signed_in("cto@northwind.example")
    assert can_open(at, "sources")
    assert sorted(listed(at)) == ["eng\\-prs", "support\\-desk"]
