"""Workflows import: mapping, encodings, line-numbered rejects, upsert, export round-trip."""

from __future__ import annotations

import json

import pytest

from aiops.errors import MappingError
from aiops.ingest.workflows import import_workflows, read_workflows
from aiops.report.export import export_workflows
from aiops.workflow_reads import get_workflow, load_workflows
from tests.conftest import DATA, realdata

V2_MAPPING = {
    "name": "Use Case Name",
    "department": "Agency",
    "expected_output": "Describe the AI system’s outputs.",
    "manual_process": "What is the intended purpose and expected benefits of the AI?",
}


@pytest.mark.slow
def test_federal_v2_inventory_windows_1252_imports_all_2133_with_curly_quotes(store, admin):
    report = import_workflows(
        store, admin, realdata("ai_inventory", "2024_consolidated_ai_inventory_raw_v2.csv"), V2_MAPPING
    )
    assert (report.encoding, report.rows, report.accepted, report.rejected) == ("cp1252", 2133, 2133, 0)
    assert report.committed and len(report.saved.created) == 2133
    assert store.query("SELECT count(*) FROM workflows") == [(2133,)]
    names = [r[0] for r in store.query("SELECT name FROM workflows WHERE name LIKE '%’%'")]
    assert "Use of AI tools within the Agency’s instance of ServiceNow" in names
    mojibake = store.query(
        "SELECT count(*) FROM workflows WHERE name LIKE '%â€%' OR "
        "manual_process LIKE '%â€%' OR name LIKE '%\ufffd%'"
    )
    assert mojibake == [(0,)]


@pytest.mark.slow
def test_federal_bom_inventory_imports_all_1757_and_reimport_updates_in_place(store, admin):
    path = realdata("ai_inventory", "2024_consolidated_ai_inventory_raw.csv")
    mapping = {"name": "2_use_case_name", "department": "3_agency", "expected_output": "12_outputs"}
    first = import_workflows(store, admin, path, mapping)
    assert (first.encoding, first.rows, first.accepted, len(first.saved.created)) == (
        "utf-8-sig",
        1757,
        1757,
        1757,
    )
    again = import_workflows(store, admin, path, mapping)
    assert (len(again.saved.created), len(again.saved.updated), len(again.saved.unchanged)) == (0, 0, 1757)
    assert store.query("SELECT count(*) FROM workflows") == [(1757,)]


def test_repeated_names_in_one_department_get_stable_numbered_ids(store, admin):
    path = realdata("ai_inventory", "2024_consolidated_ai_inventory_raw.csv")
    import_workflows(store, admin, path, {"name": "2_use_case_name", "department": "3_agency"})
    ids = {
        r[0]
        for r in store.query("SELECT workflow_id FROM workflows WHERE lower(name) = 'shoreline modeling'")
    }
    assert ids == {
        "department-of-the-interior-shoreline-modeling",
        "department-of-the-interior-shoreline-modeling-2",
    }


@pytest.mark.parametrize(
    "name, encoding",
    [
        ("workflows_cp1252_semicolon.csv", "cp1252"),
        ("workflows_utf16.csv", "utf-16"),
        ("workflows_utf8_bom.csv", "utf-8-sig"),
    ],
)
def test_encodings_and_delimiters_are_detected(store, name, encoding):
    report = read_workflows(store, DATA / name)
    assert report.encoding == encoding
    assert report.accepted == 2 and report.rejected == 0
    assert [w.name for w in report.workflows] == ["Résumé “shortlist” drafts", "Café supplier invoices"]
    assert report.workflows[0].manual_process == "Recruiter reads every application – by hand"
    assert report.workflows[0].workflow_id == "people-resume-shortlist-drafts"


@pytest.mark.both_stores  # the write path on DuckDB and PostgreSQL
def test_bad_rows_are_reported_with_line_column_and_reason_and_nothing_is_written(store, admin):
    report = import_workflows(store, admin, DATA / "workflows_bad_rows.csv")
    assert report.rows == 8 and report.accepted + report.rejected == report.rows
    got = [(r.line, r.column, r.reason) for r in report.rejects.itertuples(index=False)]
    assert got == [
        (3, "workflow_id", "missing value"),
        (4, "workflow_id", "invalid workflow_id (letters, digits, '-', '_' and '.'; at most 128)"),
        (5, "workflow_id", "workflow_id repeated: an earlier line has the same id"),
        (6, "name", "missing value"),
        (7, "department", "missing value"),
        (8, "(whole record)", "wrong field count (too many fields)"),
    ]
    assert not report.committed
    assert store.query("SELECT count(*) FROM workflows") == [(0,)]


@pytest.mark.both_stores  # the write path on DuckDB and PostgreSQL
def test_skip_invalid_imports_the_valid_rows_and_still_reports_every_reject(store, admin):
    report = import_workflows(store, admin, DATA / "workflows_bad_rows.csv", skip_invalid=True)
    assert report.committed and report.rejected == 6
    assert sorted(w.workflow_id for w in load_workflows(store)) == ["ok-1", "ok-5"]


@pytest.mark.both_stores  # the write path on DuckDB and PostgreSQL
def test_dry_run_writes_nothing(store, admin):
    report = import_workflows(store, admin, DATA / "workflows_valid.csv", dry_run=True)
    assert report.accepted == 2 and not report.committed
    assert store.query("SELECT count(*) FROM workflows") == [(0,)]


@pytest.mark.both_stores  # the write path on DuckDB and PostgreSQL
def test_upsert_updates_changed_fields_and_audits_before_and_after(store, admin, tmp_path):
    import_workflows(store, admin, DATA / "workflows_valid.csv")
    changed = tmp_path / "changed.csv"
    changed.write_text((DATA / "workflows_valid.csv").read_text().replace("Dana Lee", "Sam Okafor"))
    report = import_workflows(store, admin, changed)
    assert report.saved.updated == ["sup-triage"] and report.saved.unchanged == ["fin-refunds"]
    assert get_workflow(store, "sup-triage").owner == "Sam Okafor"
    detail = json.loads(store.query("SELECT detail FROM audit_log WHERE action = 'workflow.updated'")[0][0])
    assert detail["changed"] == {"owner": ["Dana Lee", "Sam Okafor"]}


def test_unknown_column_in_map_names_the_columns_of_the_file(store):
    with pytest.raises(MappingError, match="no column 'Nope'.*the file's columns are 'workflow_id'"):
        read_workflows(store, DATA / "workflows_valid.csv", {"name": "Nope"})


def test_unknown_field_in_map_is_a_usage_error(store):
    with pytest.raises(MappingError, match="unknown field"):
        read_workflows(store, DATA / "workflows_valid.csv", {"colour": "name"})


@pytest.mark.both_stores  # the write path on DuckDB and PostgreSQL
@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_export_then_import_round_trips_every_field(store, admin, tmp_path, suffix):
    import_workflows(store, admin, DATA / "workflows_valid.csv")
    before = load_workflows(store)
    out = tmp_path / f"export{suffix}"
    assert export_workflows(store, out) == 2
    if suffix == ".json":
        assert [w["workflow_id"] for w in json.loads(out.read_text())] == ["fin-refunds", "sup-triage"]
        return
    fresh = tmp_path / "fresh.duckdb"
    from aiops.store import Store

    with Store(fresh) as other:
        import_workflows(other, admin, out)
        assert load_workflows(other) == before


def test_export_escapes_formula_cells(store, admin, tmp_path):
    source = tmp_path / "formula.csv"
    source.write_text('name,department,owner\n"=HYPERLINK(""x"")",Ops,+1 555\n')
    import_workflows(store, admin, source)
    out = tmp_path / "out.csv"
    export_workflows(store, out)
    text = out.read_text()
    assert "'=HYPERLINK" in text and "'+1 555" in text


COMPARISON_CSV = (
    "workflow_id,name,department,comparison_workflow_id\n"
    "sup-triage,Support ticket triage,Support,sup-manual\n"
    "sup-manual,Manual triage queue,Support,\n"
)


def test_comparison_workflow_round_trips_through_import_and_export(store, admin, tmp_path):
    source = tmp_path / "comparison.csv"
    source.write_text(COMPARISON_CSV)
    report = import_workflows(store, admin, source)
    assert report.committed and report.mapping["comparison_workflow_id"] == "comparison_workflow_id"
    assert get_workflow(store, "sup-triage").comparison_workflow_id == "sup-manual"
    assert get_workflow(store, "sup-manual").comparison_workflow_id is None
    assert store.query("SELECT count(*) FROM workflows WHERE comparison_workflow_id IS NULL") == [(1,)]
    out = tmp_path / "export.csv"
    export_workflows(store, out)
    assert "comparison_workflow_id" in out.read_text().splitlines()[0]
    from aiops.store import Store

    with Store(tmp_path / "fresh.duckdb") as other:
        import_workflows(other, admin, out)
        assert load_workflows(other) == load_workflows(store)


def test_comparison_workflow_may_name_a_workflow_already_in_the_inventory(store, admin, tmp_path):
    import_workflows(store, admin, DATA / "workflows_valid.csv")
    source = tmp_path / "later.csv"
    source.write_text(
        "workflow_id,name,department,comparison_workflow_id\n"
        "new-1,New,Support,SUP-TRIAGE\n"
        "new-2,Newer,Support,NEW-3\n"
        "new-3,Newest,Support,\n"
    )
    assert import_workflows(store, admin, source).committed
    # Stored in the spelling of the workflow it names (the estimates look it up exactly).
    assert get_workflow(store, "new-1").comparison_workflow_id == "sup-triage"
    assert get_workflow(store, "new-2").comparison_workflow_id == "new-3"


def test_comparison_workflow_naming_itself_or_nothing_is_rejected_with_its_line(store, admin, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text(
        "workflow_id,name,department,comparison_workflow_id\n"
        "a-1,A,Ops,a-1\n"
        "b-1,B,Ops,nowhere\n"
        "c-1,C,Ops,=bad id\n"
        "d-1,D,Ops,a-1\n"
    )
    report = import_workflows(store, admin, source)
    got = [(r.line, r.column, r.reason) for r in report.rejects.itertuples(index=False)]
    assert got == [
        (
            2,
            "comparison_workflow_id",
            "comparison_workflow_id names the workflow itself: name another workflow that did not adopt AI",
        ),
        (
            3,
            "comparison_workflow_id",
            "comparison_workflow_id names no workflow in the inventory or in this file",
        ),
        (
            4,
            "comparison_workflow_id",
            "invalid comparison_workflow_id (letters, digits, '-', '_' and '.'; at most 128)",
        ),
    ]
    assert report.accepted + report.rejected == report.rows == 4
    assert not report.committed and store.query("SELECT count(*) FROM workflows") == [(0,)]


def test_saving_a_workflow_whose_comparison_is_itself_or_missing_is_refused(store, admin):
    from aiops.errors import Conflict
    from aiops.inventory import save_workflow
    from aiops.workflow import Workflow

    with pytest.raises(Conflict, match="'w-1' names itself as its comparison workflow"):
        save_workflow(
            store,
            admin,
            Workflow(workflow_id="w-1", name="W", department="Ops", comparison_workflow_id="W-1"),
        )
    with pytest.raises(Conflict, match="names comparison workflow 'ghost', which does not exist"):
        save_workflow(
            store,
            admin,
            Workflow(workflow_id="w-1", name="W", department="Ops", comparison_workflow_id="ghost"),
        )
    assert store.query("SELECT count(*) FROM workflows") == [(0,)]


def test_ai_monthly_cost_round_trips_and_a_bad_amount_is_rejected_with_its_line(store, admin, tmp_path):
    source = tmp_path / "costs.csv"
    source.write_text(
        'workflow_id,name,department,AI cost per month\nsup-a,A,Support,"1,200"\nsup-b,B,Support,\n'
    )
    report = import_workflows(store, admin, source)
    assert report.committed and report.mapping["ai_monthly_cost"] == "AI cost per month"
    assert get_workflow(store, "sup-a").ai_monthly_cost == 1200.0
    assert get_workflow(store, "sup-b").ai_monthly_cost is None
    assert store.query("SELECT ai_monthly_cost FROM workflows ORDER BY 1 NULLS LAST") == [(1200.0,), (None,)]
    out = tmp_path / "export.csv"
    export_workflows(store, out)
    assert "ai_monthly_cost" in out.read_text().splitlines()[0]
    bad = tmp_path / "bad_costs.csv"
    bad.write_text(
        "workflow_id,name,department,ai_monthly_cost\nc-1,C,Ops,lots\nd-1,D,Ops,-5\ne-1,E,Ops,10\n"
    )
    report = import_workflows(store, admin, bad)
    assert not report.committed and report.rejected == 2
    assert list(report.rejects.line) == [2, 3]
    assert all("ai_monthly_cost" in reason for reason in report.rejects.reason)
