"""Migration 012: source and preset names stored before issue 23 (keyed by ``lower(name)``) are keyed
by ``identity_key``, so they are found whatever their case, width and spacing; two names that were
one all along stay reachable, the later one renamed (audited)."""

from __future__ import annotations

import json

import pytest

from aiops.auth import Actor
from aiops.identity import identity_key
from aiops.ingest.presets import AUTO, builtin_presets, find_preset
from aiops.inventory import save_workflow
from aiops.sources.model import find_source, list_sources
from aiops.store import Store
from aiops.store.name_keys import reserved_preset_keys
from tests.conftest import answered_workflow

pytestmark = pytest.mark.both_stores

LEAD = Actor(name="dana@x.example", role="lead", departments=("Support",))
SOURCE = (
    "INSERT INTO sources (source_id, name, name_key, tool, base_url, query, workflow_id, loop, time_kind,"
    " go_live, token_ref, created_at, created_by) VALUES (?, ?, lower(?), 'jira', 'https://x.example',"
    " 'project = A', 'sup-triage', 'resolution', 'elapsed', '2025-01-01', 'env:T', now(), 'admin')"
)
PRESET = (
    "INSERT INTO mapping_presets (name, name_key, scope, scope_key, mapping, created_by, created_at)"
    " VALUES (?, lower(?), ?, ?, '{\"start_column\": \"Opened\"}', 'admin',"
    " TIMESTAMP '2026-01-01' + to_days(?))"
)


def _as_before_012(store: Store) -> None:
    """Sources and presets written as the release before 012 wrote them, and 012 not applied."""

    def write(tx):
        tx.execute("DELETE FROM schema_version WHERE version = 12")
        for source_id, name in [(1, "PR  Review"), (2, "ＪＩＲＡ"), (3, "jira")]:
            tx.execute(SOURCE, [source_id, name, name])
        presets = [
            ("Ticket  Tracker", "personal", "dana@x.example"),
            ("ticket tracker", "personal", "dana@x.example"),
            ("Ops", "department", "SUPPORT"),
            ("Ops", "company", ""),
        ]
        for day, (name, scope, scope_key) in enumerate(presets):
            tx.execute(PRESET, [name, name, scope, scope_key, day])

    store.write(Actor(name="admin", role="admin"), write)


def test_names_stored_before_are_found_ignoring_width_case_and_spacing_and_twins_renamed(store, admin):
    save_workflow(store, admin, answered_workflow(workflow_id="sup-triage", department="Support"))
    _as_before_012(store)
    with Store(store.location) as migrated:
        assert find_source(migrated, "pr review").name == "PR  Review"
        assert [s.name for s in list_sources(migrated)] == ["ＪＩＲＡ", "jira (2)", "PR  Review"]
        assert find_source(migrated, "Jira").name == "ＪＩＲＡ"  # the older of the two keeps its name
        assert find_source(migrated, "jira (2)").source_id == 3
        assert find_preset(migrated, "TICKET TRACKER", LEAD).name == "Ticket  Tracker"
        assert find_preset(migrated, "ticket tracker (2)", LEAD).name == "ticket tracker (2)"
        department = migrated.query("SELECT scope_key FROM mapping_presets WHERE scope = 'department'")
        assert department == [("support",)]
        renames = migrated.query(
            "SELECT action, detail FROM audit_log WHERE action LIKE '%.renamed' ORDER BY audit_id"
        )
        assert [(a, json.loads(d)["from"], json.loads(d)["to"]) for a, d in renames] == [
            ("source.renamed", "jira", "jira (2)"),
            ("preset.renamed", "ticket tracker", "ticket tracker (2)"),
        ]
        assert migrated.query_value("SELECT max(version) FROM schema_version") >= 12


def test_a_preset_named_like_a_built_in_one_or_auto_is_renamed_and_stays_reachable(store, admin):
    """A company preset saved as "ＪＩＲＡ" or "ａｕｔｏ" before 012 (the old rule compared
    ``lower(name)``) would be hidden by the built-in ``jira`` and by ``--preset auto``: renamed."""

    def write(tx):
        tx.execute("DELETE FROM schema_version WHERE version = 12")
        for day, name in enumerate(["ＪＩＲＡ", "ａｕｔｏ"]):
            tx.execute(PRESET, [name, name, "company", "", day])

    store.write(admin, write)
    with Store(store.location) as migrated:
        assert find_preset(migrated, "ＪＩＲＡ (2)", admin).name == "ＪＩＲＡ (2)"
        assert find_preset(migrated, "ａｕｔｏ (2)", admin).name == "ａｕｔｏ (2)"
        renamed = migrated.query("SELECT entity_id FROM audit_log WHERE action = 'preset.renamed'")
        assert sorted(r[0] for r in renamed) == ["ＪＩＲＡ (2)", "ａｕｔｏ (2)"]


def test_the_reserved_preset_names_are_the_importers_own():
    assert reserved_preset_keys() == {identity_key(p.name) for p in builtin_presets()} | {identity_key(AUTO)}
