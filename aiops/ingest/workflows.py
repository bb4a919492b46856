"""Import a workflows spreadsheet: map columns, check rows in SQL, upsert by workflow_id.

Nothing is written unless every row is valid, or ``skip_invalid`` is set (every skipped row is
still reported). Without an id column, an id is derived from department and name; a name that
repeats within one department gets `-2`, `-3`... in file order, so re-importing the same file
updates the same workflows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from aiops.auth import Actor
from aiops.errors import MappingError
from aiops.ingest.checks import Check, all_rejects, reject_columns, reject_values
from aiops.ingest.mapping import find_column, header_key, require_column
from aiops.ingest.reader import absorbed_lines_notes, drop_staged, source_notes, stage_csv
from aiops.ingest.sniff import SourceFile, open_source
from aiops.inventory import SaveResult, save_workflows
from aiops.sql import quote_ident
from aiops.store import Store
from aiops.workflow import DERIVED_ID_SQL, FIELDS, ID_PATTERN, Workflow, length_limit

SYNONYMS: dict[str, tuple[str, ...]] = {
    "workflow_id": ("id", "workflow id", "slug", "use case id"),
    "name": ("workflow", "workflow name", "title", "use case", "use case name"),
    "department": ("dept", "team", "business unit", "function", "agency"),
    "manual_process": ("current manual process", "manual process", "current process", "process"),
    "data_touched": ("data", "data touched", "data used", "data sources"),
    "changes": ("actions", "writes", "what it changes"),
    "customer_impact": ("impact", "user impact", "user or customer impact", "audience"),
    "expected_output": ("output", "outputs", "expected output"),
    "owner": ("human owner", "workflow owner", "owner email"),
    "reviewer": ("reviewed by", "approver"),
    "review_requirement": ("review", "review type", "review requirement"),
    "success_metric": ("metric", "success measure", "kpi"),
    "trigger": ("input", "trigger input", "what starts it"),
    "acceptable_output": ("acceptance criteria", "acceptable output"),
    "failure_plan": ("on failure", "failure handling", "fallback"),
    "failure_detection": ("how failure is noticed", "monitoring", "failure detection"),
    "checkpoints": ("human checkpoints", "controls"),
    "signed_off_by": ("sign off", "signed off by", "sign-off"),
    "ai_monthly_cost": ("ai cost", "ai cost per month", "monthly ai cost", "ai monthly cost"),
    "comparison_workflow_id": (
        "comparison workflow",
        "comparison workflow id",
        "comparison",
        "control workflow",
    ),
}


@dataclass
class WorkflowImportReport:
    file_name: str
    encoding: str
    dialect: str
    mapping: dict[str, str]
    rows: int
    accepted: int
    rejects: pd.DataFrame
    unknown_values: dict[str, dict[str, int]]
    notes: list[str] = field(default_factory=list)  # what the reader did that the user should know
    committed: bool = False
    saved: SaveResult = field(default_factory=SaveResult)
    workflows: list[Workflow] = field(default_factory=list, repr=False)

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "committed": self.committed,
            "created": len(self.saved.created),
            "updated": len(self.saved.updated),
            "unchanged": len(self.saved.unchanged),
            "encoding": self.encoding,
            "dialect": self.dialect,
            "mapping": self.mapping,
            "unknown_values": self.unknown_values,
            "notes": self.notes,
            "rejects": self.rejects.to_dict("records"),
        }


def resolve_mapping(source: SourceFile, explicit: dict[str, str]) -> dict[str, str]:
    """field -> the file's header: explicit ``--map`` first, then field names and synonyms."""
    unknown = sorted(set(explicit) - set(FIELDS))
    if unknown:
        raise MappingError(f"unknown field(s) {unknown} in --map", f"fields are: {', '.join(FIELDS)}")
    mapping: dict[str, str] = {}
    for name in FIELDS:
        column: str | None
        if name in explicit:
            column = require_column(source, explicit[name], name)
        else:
            column = next(filter(None, (find_column(source, c) for c in (name, *SYNONYMS[name]))), None)
        if column is not None:
            mapping[name] = column
    for required in ("name", "department"):
        if required not in mapping:
            raise MappingError(
                f"no column for '{required}' in {source.name}", f"map one: --map {required}=COLUMN"
            )
    taken = Counter(mapping.values())
    clashes = [c for c, n in taken.items() if n > 1 and header_key(c)]
    if clashes and not explicit:
        raise MappingError(f"column(s) {clashes} match more than one field", "map them with --map")
    return mapping


def _text(mapping: dict[str, str], name: str) -> str:
    column = mapping.get(name)
    return f"trim(coalesce({quote_ident(column)}, ''))" if column else "''"


def _parsed_sql(table: str, mapping: dict[str, str]) -> tuple[str, dict[str, object]]:
    has_id = "workflow_id" in mapping
    texts = ",\n       ".join(
        f"{_text(mapping, n)} AS {quote_ident(n)}" for n in FIELDS if n != "workflow_id"
    )
    base_id = (
        _text(mapping, "workflow_id")
        if has_id
        else DERIVED_ID_SQL.format(department=_text(mapping, "department"), name=_text(mapping, "name"))
    )
    workflow_id = (
        "base_id"
        if has_id
        else "CASE WHEN occurrence > 1 THEN left(base_id, 120) || '-' || occurrence ELSE base_id END"
    )
    checks = [
        Check("base_id = ''", mapping.get("workflow_id", ""), "missing value") if has_id else None,
        Check("name = ''", mapping["name"], "missing value"),
        Check("department = ''", mapping["department"], "missing value"),
        Check(
            f"NOT regexp_full_match({workflow_id}, '{ID_PATTERN[1:-1]}')",
            mapping.get("workflow_id", mapping["name"]),
            "invalid workflow_id (letters, digits, '-', '_' and '.'; at most 128)",
        ),
        Check(
            "occurrence > 1",
            mapping.get("workflow_id", ""),
            "workflow_id repeated: an earlier line has the same id",
        )
        if has_id
        else None,
        *_comparison_checks(mapping),
        Check(
            "ai_monthly_cost <> '' AND coalesce(TRY_CAST(replace(ai_monthly_cost, ',', '') AS DOUBLE) < 0"
            " OR TRY_CAST(replace(ai_monthly_cost, ',', '') AS DOUBLE) > 1e9, TRUE)",
            mapping.get("ai_monthly_cost", ""),
            "ai_monthly_cost is not an amount per month (a finite number from 0 to 1e9, e.g. 1200)",
        )
        if "ai_monthly_cost" in mapping
        else None,
        *(
            Check(
                f"length({quote_ident(n)}) > {length_limit(n)}",
                mapping[n],
                f"longer than {length_limit(n):,} characters (the limit for {n})",
            )
            for n in FIELDS
            if n != "workflow_id" and n in mapping
        ),
    ]
    kept = [c for c in checks if c]
    return (
        f"""
        WITH base AS (SELECT rowid AS rid, {base_id} AS base_id,
                             {texts}
                      FROM {table}),
        numbered AS (SELECT *,
                            row_number() OVER (PARTITION BY identity_key(base_id) ORDER BY rid) AS occurrence
                     FROM base),
        identified AS (SELECT *, {workflow_id} AS workflow_id FROM numbered),
        referenced AS (SELECT *, identity_key(comparison_workflow_id) IN (
                           SELECT identity_key(workflow_id) FROM identified
                           UNION ALL SELECT identity_key(workflow_id) FROM {KNOWN_IDS}) AS comparison_known
                       FROM identified)
        SELECT *, {reject_columns(kept)}
        FROM referenced""",
        reject_values(kept),
    )


KNOWN_IDS = "known_workflow_ids"  # a registered frame: the ids already in the inventory


def _comparison_checks(mapping: dict[str, str]) -> list[Check]:
    """The comparison workflow must be another workflow, in the inventory or in this file."""
    column = mapping.get("comparison_workflow_id")
    if not column:
        return []
    named = "comparison_workflow_id <> ''"
    return [
        Check(
            f"{named} AND NOT regexp_full_match(comparison_workflow_id, '{ID_PATTERN[1:-1]}')",
            column,
            "invalid comparison_workflow_id (letters, digits, '-', '_' and '.'; at most 128)",
        ),
        Check(
            f"{named} AND identity_key(comparison_workflow_id) = identity_key(workflow_id)",
            column,
            "comparison_workflow_id names the workflow itself: name another workflow that did not adopt AI",
        ),
        Check(
            f"{named} AND NOT comparison_known",
            column,
            "comparison_workflow_id names no workflow in the inventory or in this file",
        ),
    ]


def read_workflows(
    store: Store, path: str | Path, explicit: dict[str, str] | None = None, name: str | None = None
) -> WorkflowImportReport:
    """Parse and check a workflows file; nothing is written."""
    with open_source(path, name, max_bytes=store.max_upload_bytes) as source:
        mapping = resolve_mapping(source, explicit or {})  # before reading: fail fast on a bad map
        ids = [r[0] for r in store.query("SELECT workflow_id FROM workflows")]
        known = pd.DataFrame({"workflow_id": pd.Series(ids, dtype="object")}).astype(
            {"workflow_id": "string"}
        )
        cursor = store.new_cursor()
        staged = stage_csv(cursor, source)
        cursor.register(KNOWN_IDS, known)
        try:
            checked = f"{staged.table}_checked"
            parsed, values = _parsed_sql(staged.table, mapping)
            cursor.execute(f"CREATE TEMP TABLE {checked} AS {parsed}", values)
            rows = cursor.execute(
                f"SELECT {', '.join(quote_ident(n) for n in FIELDS)} FROM {checked} "
                f"WHERE reject_reason IS NULL ORDER BY rid"
            ).df()
            rejects = all_rejects(staged, checked)
            notes = source_notes(source) + absorbed_lines_notes(staged, rejects)
            cursor.execute(f"DROP TABLE {checked}")
        finally:
            cursor.unregister(KNOWN_IDS)
            drop_staged(staged)
            cursor.close()
        workflows = [Workflow.model_validate(r) for r in rows.to_dict("records")]
        return WorkflowImportReport(
            file_name=source.name,
            encoding=source.encoding,
            dialect=source.dialect.describe(),
            mapping={k: source.header[source.columns.index(v)] for k, v in mapping.items()},
            rows=staged.records,
            accepted=len(workflows),
            rejects=rejects,
            unknown_values=_unknown_values(workflows),
            notes=notes,
            workflows=workflows,
        )


def _unknown_values(workflows: list[Workflow]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = {}
    for workflow in workflows:
        for name, values in workflow.unknown_values().items():
            counts.setdefault(name, Counter()).update(values)
    return {name: dict(c.most_common()) for name, c in counts.items()}


def import_workflows(
    store: Store,
    actor: Actor,
    path: str | Path,
    explicit: dict[str, str] | None = None,
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    name: str | None = None,
) -> WorkflowImportReport:
    """Read, check and (unless ``dry_run`` or rows were rejected) upsert the workflows."""
    report = read_workflows(store, path, explicit, name)
    if dry_run or (report.rejected and not skip_invalid) or not report.workflows:
        return report
    report.saved = store.write(
        actor, lambda tx: save_workflows(tx, report.workflows, f"import {report.file_name}")
    )
    report.committed = True
    return report
