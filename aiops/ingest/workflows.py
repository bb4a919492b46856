"""Import a workflows spreadsheet: map columns, check rows in SQL, upsert by workflow_id.

Nothing is written unless every row is valid, or ``skip_invalid`` is set (every skipped row is
still reported). A sheet updates what it names: a field without a column keeps its stored value,
and an empty cell clears a stored answer only when the import is told to (``clear_empty``); the
preview lists every answer an empty cell would clear. Without an id column, an id is derived
from department and name; a name that repeats within one department gets `-2`, `-3`... in file
order, so re-importing the same file updates the same workflows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from aiops.auth import Actor
from aiops.errors import MappingError
from aiops.identity import identity_key
from aiops.ingest.checks import Check, all_rejects, evidence_note, reject_columns, reject_values
from aiops.ingest.mapping import find_column, header_key, require_column
from aiops.ingest.reader import absorbed_lines_notes, drop_staged, source_notes, stage_csv
from aiops.ingest.sniff import SourceFile, open_source
from aiops.inventory import SaveResult, diff_fields, save_workflows
from aiops.sql import quote_ident
from aiops.store import Reader, Store, Tx
from aiops.workflow import FIELDS, ID_PATTERN, Workflow, length_limit
from aiops.workflow_reads import load_workflows

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


@dataclass(frozen=True)
class Clearing:
    """A stored answer that an empty cell of the sheet would clear."""

    workflow_id: str
    field: str
    stored: object

    def stored_text(self, limit: int = 40) -> str:
        value = self.stored
        text = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
        return text if len(text) <= limit else text[: limit - 1] + "…"


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
    workflows: list[Workflow] = field(default_factory=list, repr=False)  # fitted to the stored ones
    parsed: list[Workflow] = field(default_factory=list, repr=False)  # as the sheet has them
    # Stored answers the sheet's empty cells would clear; cleared only when ``clear_empty``.
    clearings: list[Clearing] = field(default_factory=list)
    clear_empty: bool = False
    # Preview: existing id -> the fields this sheet would change (after ``clearings`` are applied or not).
    changes: dict[str, list[str]] = field(default_factory=dict)

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
            "clear_empty": self.clear_empty,
            "clearings": [
                {"workflow_id": c.workflow_id, "field": c.field, "stored": c.stored} for c in self.clearings
            ],
            "changes": self.saved.changed if self.committed else self.changes,
            "status_moves": {k: list(v) for k, v in self.saved.status_moves().items()},
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
        else f"derive_workflow_id({_text(mapping, 'name')}, {_text(mapping, 'department')})"
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


def _empty(value: object) -> bool:
    return value is None or value == "" or value == []


def fit_to_stored(
    incoming: list[Workflow], stored: list[Workflow], named: set[str], clear_empty: bool
) -> tuple[list[Workflow], list[Clearing]]:
    """Each row of a sheet over its stored workflow (ids matched ignoring case and spacing): a
    field the sheet has no column for keeps its stored value; an empty cell over a stored answer is
    listed, and clears it only with ``clear_empty``. A partial sheet must never erase answers."""
    by_key = {identity_key(w.workflow_id): w for w in stored}
    fitted, clearings = [], []
    for workflow in incoming:
        before = by_key.get(identity_key(workflow.workflow_id))
        if before is None:
            fitted.append(workflow)
            continue
        # the id as first stored (`SUP-TRIAGE` updates `sup-triage`); unnamed fields as stored
        kept = {f: getattr(before, f) for f in FIELDS if f not in named or f == "workflow_id"}
        emptied = [
            f
            for f in FIELDS
            if f in named
            and f != "workflow_id"
            and _empty(getattr(workflow, f))
            and not _empty(getattr(before, f))
        ]
        clearings += [Clearing(before.workflow_id, f, getattr(before, f)) for f in emptied]
        if not clear_empty:
            kept |= {f: getattr(before, f) for f in emptied}
        fitted.append(workflow.model_copy(update=kept) if kept else workflow)
    return fitted, clearings


def _fit(db: Reader, report: WorkflowImportReport) -> dict[str, Workflow]:
    """Fit the sheet's rows to what ``db`` stores now (see ``fit_to_stored``); the stored by key."""
    stored = load_workflows(db)
    report.workflows, report.clearings = fit_to_stored(
        report.parsed, stored, set(report.mapping), report.clear_empty
    )
    return {identity_key(w.workflow_id): w for w in stored}


def read_workflows(
    store: Store,
    path: str | Path,
    explicit: dict[str, str] | None = None,
    name: str | None = None,
    *,
    clear_empty: bool = False,
) -> WorkflowImportReport:
    """Parse and check a workflows file, and list what it would change; nothing is written."""
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
            notes = source_notes(source) + absorbed_lines_notes(staged, rejects) + evidence_note(len(rejects))
            cursor.execute(f"DROP TABLE {checked}")
        finally:
            cursor.unregister(KNOWN_IDS)
            drop_staged(staged)
            cursor.close()
        workflows = [Workflow.model_validate(r) for r in rows.to_dict("records")]
        report = WorkflowImportReport(
            file_name=source.name,
            encoding=source.encoding,
            dialect=source.dialect.describe(),
            mapping={k: source.header[source.columns.index(v)] for k, v in mapping.items()},
            rows=staged.records,
            accepted=len(workflows),
            rejects=rejects,
            unknown_values=_unknown_values(workflows),
            notes=notes,
            clear_empty=clear_empty,
            parsed=workflows,
        )
    stored = _fit(store, report)
    report.changes = {
        before.workflow_id: changed
        for w in report.workflows
        if (before := stored.get(identity_key(w.workflow_id))) and (changed := list(diff_fields(before, w)))
    }
    return report


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
    clear_empty: bool = False,
    name: str | None = None,
) -> WorkflowImportReport:
    """Read, check and (unless ``dry_run`` or rows were rejected) upsert the workflows, each fitted
    to its stored values inside the write (see ``fit_to_stored``)."""
    report = read_workflows(store, path, explicit, name, clear_empty=clear_empty)
    if dry_run or (report.rejected and not skip_invalid) or not report.workflows:
        return report

    def write(tx: Tx) -> SaveResult:
        _fit(tx, report)  # again under the lock: what is stored now is what is kept
        return save_workflows(tx, report.workflows, f"import {report.file_name}")

    report.saved = store.write(actor, write)
    report.committed = True
    return report


def sheet_scope(mapping: dict[str, str]) -> str:
    """What a sheet with these columns changes, and what it never changes."""
    named = [f for f in FIELDS if f in mapping and f != "workflow_id"]
    kept = len(FIELDS) - 1 - len(named)
    others = f"; the other {kept} fields have no column and keep their stored values" if kept else ""
    return f"The sheet sets {', '.join(named)}{others}."


def clearing_lines(
    report: WorkflowImportReport, confirm: str = "pass --clear-empty to clear them"
) -> list[str]:
    """The stored answers the sheet's empty cells clear (or would, once confirmed), one a line."""
    if not report.clearings:
        return []
    n = len(report.clearings)
    answers = f"{n} answer{'s' if n != 1 else ''}"
    if not report.clear_empty:
        head = f"{answers} would be cleared by empty cells; they keep their stored values — {confirm}:"
    elif report.committed:
        head = f"{answers} cleared by empty cells:"
    else:
        head = f"{answers} will be cleared:"
    return [head] + [f"  {c.workflow_id}: {c.field} (stored '{c.stored_text()}')" for c in report.clearings]


def change_lines(report: WorkflowImportReport) -> list[str]:
    """What changed per workflow and which statuses moved (a preview: what would change)."""
    changes = report.saved.changed if report.committed else report.changes
    verb = "updated" if report.committed else "would update"
    lines = [f"{verb} {workflow_id}: {', '.join(fields)}" for workflow_id, fields in changes.items()]
    lines += [
        f"status of {workflow_id}: {before or 'new'} → {after}"
        for workflow_id, (before, after) in report.saved.status_moves().items()
    ]
    return lines
