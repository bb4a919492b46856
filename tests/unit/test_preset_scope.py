"""Saved presets have an owner and a scope (issue 14, finding 1): recognised only for whoever can
see them, never over a built-in (or the canonical columns) on as many columns, unique per scope,
and saving over a name is asked for and audited."""

from __future__ import annotations

import json

import pytest

from aiops.auth import Actor
from aiops.errors import Conflict, MappingError, NotFound, PermissionDenied
from aiops.ingest.mapping import TimingMapping
from aiops.ingest.presets import (
    PresetTarget,
    best_preset,
    builtin_presets,
    find_preset,
    recognize,
    save_preset,
)
from aiops.store import Store

ADMIN = Actor(name="admin@northwind.example", role="admin")
SUPPORT_LEAD = Actor(name="dana@northwind.example", role="lead", departments=("Support",))
SALES_LEAD = Actor(name="ana@northwind.example", role="lead", departments=("Sales",))
# The shape of a lead's Jira mapping from the adversarial pass: created → updated.
JIRA_HEADERS = ["Issue key", "Summary", "Created", "Updated", "Resolved"]
CREATED_UPDATED = TimingMapping(
    workflow="w", go_live="2024-01-01", start_column="Created", end_column="Updated",
    timezone="Pacific/Kiritimati",
)  # fmt: skip
TRACKER = ["Logged", "Fixed", "Ticket"]
LOGGED_FIXED = TimingMapping(workflow="w", go_live="2024-01-01", start_column="Logged", end_column="Fixed")


def save(store: Store, actor: Actor, target: PresetTarget | str, mapping: TimingMapping = LOGGED_FIXED):
    store.write(actor, lambda tx: save_preset(tx, target, mapping))


def test_a_personal_preset_is_recognised_only_for_its_owner(store):
    save(store, SUPPORT_LEAD, "tracker")
    assert recognize(store, TRACKER, SUPPORT_LEAD).preset.name == "tracker"
    assert recognize(store, TRACKER, ADMIN).preset is None
    assert recognize(store, TRACKER).preset is None
    with pytest.raises(NotFound):
        find_preset(store, "tracker", SALES_LEAD)


def test_a_saved_preset_never_beats_a_builtin_on_as_many_columns(store):
    save(store, ADMIN, PresetTarget("jira support", "company"), CREATED_UPDATED)
    assert recognize(store, JIRA_HEADERS, ADMIN).preset.name == "jira"
    assert recognize(store, JIRA_HEADERS, SUPPORT_LEAD).preset.name == "jira"


def test_a_saved_preset_on_more_columns_than_the_builtin_wins():
    jira = next(p for p in builtin_presets() if p.name == "jira")
    wider = jira.model_copy(update={"name": "mine", "builtin": False, "scope": "personal",
                                    "signature": [*jira.signature, "Summary"]})  # fmt: skip
    assert best_preset([jira, wider], JIRA_HEADERS).name == "mine"
    same = wider.model_copy(update={"signature": jira.signature})
    assert best_preset([same, jira], JIRA_HEADERS).name == "jira"


def test_a_preset_on_the_canonical_columns_does_not_take_over_canonical_files(store):
    canonical = TimingMapping(
        workflow_column="workflow_id", phase_column="phase", measured_at_column="measured_at",
        duration_column="duration_minutes",
    )  # fmt: skip
    save(store, ADMIN, PresetTarget("canon", "company"), canonical)
    headers = ["workflow_id", "phase", "measured_at", "duration_minutes", "loops"]
    assert recognize(store, headers, ADMIN).preset is None  # the canonical format applies


def test_saving_over_a_name_asks_and_is_audited(store):
    save(store, SUPPORT_LEAD, "tracker")
    with pytest.raises(Conflict, match="exists"):
        save(store, SUPPORT_LEAD, "Tracker", CREATED_UPDATED)  # unique whatever its case
    save(store, SUPPORT_LEAD, PresetTarget("Tracker", replace=True), CREATED_UPDATED)
    rows = store.query("SELECT name, mapping FROM mapping_presets")
    assert len(rows) == 1 and json.loads(rows[0][1])["end_column"] == "Updated"
    action, detail = store.query_one(
        "SELECT action, detail FROM audit_log WHERE entity = 'preset' ORDER BY audit_id DESC LIMIT 1"
    )
    assert action == "preset.replaced" and json.loads(detail)["replaced"]["end_column"] == "Fixed"
    save(store, SALES_LEAD, "tracker")  # another person's scope: a name of their own


def test_a_preset_name_is_one_name_whatever_its_width_case_and_spacing(store):
    """Preset names compare by ``identity_key`` (issue 23), not ``lower()``: full-width letters and
    runs of spaces name the same preset, a built-in and ``auto`` alike."""
    save(store, SUPPORT_LEAD, "Ticket  Tracker")
    with pytest.raises(Conflict, match="exists"):
        save(store, SUPPORT_LEAD, "ｔｉｃｋｅｔ tracker", CREATED_UPDATED)
    assert find_preset(store, "TICKET\u3000TRACKER", SUPPORT_LEAD).name == "Ticket  Tracker"
    assert find_preset(store, "ＪＩＲＡ", SUPPORT_LEAD).builtin
    with pytest.raises(MappingError, match="is a built-in preset"):
        save(store, SUPPORT_LEAD, "ＪＩＲＡ")
    with pytest.raises(MappingError, match="cannot name a preset"):
        save(store, SUPPORT_LEAD, "ＡＵＴＯ")


def test_scopes_need_the_right_role(store):
    with pytest.raises(PermissionDenied):
        save(store, SUPPORT_LEAD, PresetTarget("all", "company"))
    with pytest.raises(PermissionDenied):
        save(store, SUPPORT_LEAD, PresetTarget("eng", "department", "Engineering"))
    with pytest.raises(PermissionDenied):
        save(store, Actor(name="v@x", role="viewer"), "mine")
    save(store, SUPPORT_LEAD, PresetTarget("team", "department", "support"))
    assert recognize(store, TRACKER, Actor(name="other@x", role="lead", departments=("SUPPORT",))).preset
    assert recognize(store, TRACKER, SALES_LEAD).preset is None
