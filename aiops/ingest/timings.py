"""Timing uploads: an export → one read that types and checks it → preview (its accepted rows
written as a pending batch no read sees) → Confirm (the batch made visible, its workflows
re-estimated) → one committed batch.

A mapping says where each canonical field comes from: the workflow (a column or one for the whole
file), the loop duration (a column with its unit, start and end timestamps, or an event log's
first and last event per case), the phase (a column or a go-live date), and optionally loops per
row, rework minutes and when the loop was measured. Every record ends up accepted or rejected with
its line, column and reason: accepted + rejected = records in the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from aiops import governance
from aiops.auth import Actor
from aiops.errors import AiopsError, Conflict, IngestError, NotFound
from aiops.ingest.checks import Check
from aiops.ingest.events import check_events
from aiops.ingest.failures import read_failure
from aiops.ingest.foresight import foresee
from aiops.ingest.guards import check_roles, check_workflow_column, refuse_workflows_sheet
from aiops.ingest.mapping import TimingMapping, with_options
from aiops.ingest.measurement import long_loop_warning, phase_problems
from aiops.ingest.presets import PresetTarget, check_preset_target, save_preset
from aiops.ingest.reader import Staged, drop_staged, stage_csv
from aiops.ingest.recognise import canonical_mapping, mapping_for
from aiops.ingest.replacing import (
    NothingNew,
    PulledRecords,
    changed_count,
    insert_changed,
    replace_earlier,
)
from aiops.ingest.sniff import open_source
from aiops.ingest.timing_pass import read_checked
from aiops.ingest.timing_report import TimingReport, build_report
from aiops.ingest.timing_sql import NULL_MARKERS, Plan, make_plan, mapped_columns, row_projection
from aiops.store import Cursor, Store, Tx, pending

__all__ = [
    "TimingImport",
    "TimingMapping",
    "TimingReport",
    "canonical_mapping",
    "confirm_upload",
    "discard_upload",
    "import_timings",
    "open_timing_import",
]

# -- the import -----------------------------------------------------------------------------------


@dataclass
class TimingImport:
    """An upload read and checked into temporary tables on its own cursor, ready to preview/commit."""

    store: Store
    staged: Staged
    plan: Plan
    accepted_table: str
    report: TimingReport
    pulled: PulledRecords | None = None

    def commit(self, actor: Actor, save_preset_as: PresetTarget | str | None = None) -> TimingReport:
        """Preview and Confirm in one go (the command line): ``stage`` the accepted rows, then
        ``confirm_upload``; a confirm that is refused leaves nothing behind. A pull commits at once."""
        if self.pulled is not None:
            return self._commit_pull(actor, save_preset_as)
        if save_preset_as is not None:
            # a preset that cannot be saved (name, scope, taken) stops the upload before it starts
            check_preset_target(self.store, actor, save_preset_as)
        self.stage(actor)
        try:
            return confirm_upload(self.store, actor, self.report, save_preset_as)
        except BaseException:
            discard_upload(self.store, actor, self.report)
            raise

    def _commit_pull(self, actor: Actor, save_preset_as: PresetTarget | str | None) -> TimingReport:
        """A pull is written in one transaction, never held as pending: its new and changed records
        replace their earlier samples, then its workflows are re-estimated and its cursor moves."""
        if save_preset_as is not None:
            check_preset_target(self.store, actor, save_preset_as)
        refusal = _refusal(self.report)
        if refusal is not None:
            raise refusal
        self.report.batch_id = self.store.write(
            actor, lambda tx: self._write_pull(tx, save_preset_as), cursor=self.staged.cursor
        )
        return self.report

    def _write_pull(self, tx: Tx, save_preset_as: PresetTarget | str | None) -> int:
        assert self.pulled is not None
        _require_write(tx, self.report)
        accepted, pulled, kind = self.accepted_table, self.pulled, self.report.mapping.kind
        written = changed_count(tx, accepted, pulled, kind)
        if not written:
            raise NothingNew(self.report.accepted)
        batch_id = tx.next_id("batch_seq")  # PostgreSQL's attached tables take no RETURNING
        _record(tx, self.report, batch_id)
        self.report.replaced = replace_earlier(tx, accepted, pulled, kind, batch_id)
        insert_changed(tx, accepted, pulled, kind, batch_id)
        governance.reclassify(tx, self.report.workflow_ids)
        if save_preset_as is not None:
            save_preset(tx, save_preset_as, self.report.mapping)
        self.pulled.after_commit(tx, batch_id, written, self.report.replaced)
        return batch_id

    @property
    def committable(self) -> bool:
        return _refusal(self.report) is None

    def stage(self, actor: Actor) -> int:
        """Write the accepted rows now, as a pending batch no read sees (see ``aiops.store.pending``):
        Confirm then flips it instead of copying every row. Refused as a commit would be."""
        refusal = _refusal(self.report)
        if refusal is not None:
            raise refusal
        batch_id = self.store.write(actor, self._write_pending, cursor=self.staged.cursor)
        self.report.pending_batch = batch_id
        return batch_id

    def _write_pending(self, tx: Tx) -> int:
        _require_write(tx, self.report)
        batch_id = tx.next_id("batch_seq")  # PostgreSQL's attached tables take no RETURNING
        pending.hold(tx, batch_id)
        tx.execute(
            "INSERT INTO timing_samples (batch_id, workflow_id, phase, measured_at,"
            " duration_minutes, loops, rework_minutes, time_kind, ai_assisted, segment)"
            " SELECT ?, workflow_id, phase, measured_at, duration_minutes,"
            f" loops, rework_minutes, ?, ai_assisted, segment FROM {self.accepted_table}",
            [batch_id, self.report.mapping.kind],
        )
        return batch_id


def _refusal(report: TimingReport) -> AiopsError | None:
    """Why an upload cannot be committed as previewed, if it cannot."""
    if report.rows == 0:
        return Conflict(
            "the file has a header but no records: nothing to commit",
            "export again with the rows included",
        )
    if report.accepted == 0:
        return Conflict(
            "no row was accepted: nothing to commit",
            "fix the mapping or the file (see the rejected lines)",
        )
    if report.duplicate_of is not None:
        return Conflict(*_duplicate_message(report, report.duplicate_of))
    if report.problems:
        return IngestError(
            report.problems[0], "fix the mapping or the file (see the preview); nothing was written"
        )
    return None


def _require_write(tx: Tx, report: TimingReport) -> None:
    for (department,) in tx.query(_DEPARTMENTS, {"ids": report.workflow_ids}):
        tx.actor.require_write(department, "upload timings")


def confirm_upload(
    store: Store, actor: Actor, report: TimingReport, save_preset_as: PresetTarget | str | None = None
) -> TimingReport:
    """Confirm a staged upload: in one transaction its pending batch becomes visible and is recorded
    as an upload (refused if the same file was committed meanwhile), and only its workflows (and
    those comparing against them) are re-estimated. With ``save_preset_as``, the mapping is saved
    as a preset in that same transaction."""
    if save_preset_as is not None:
        check_preset_target(store, actor, save_preset_as)
    batch_id = report.pending_batch
    if batch_id is None:
        raise Conflict("this upload was not previewed", "preview it first")

    def confirm(tx: Tx) -> None:
        _require_write(tx, report)
        existing = duplicate_batch(tx, report.sha256, report.workflow_ids)
        if existing is not None:
            report.duplicate_of = existing
            raise Conflict(*_duplicate_message(report, existing))
        if not pending.release(tx, batch_id):
            raise Conflict(
                "this preview is no longer held (the dashboard restarted, or it was cancelled)",
                "preview the file again; nothing was written",
            )
        _record(tx, report, batch_id)
        governance.reclassify(tx, report.workflow_ids)
        if save_preset_as is not None:
            save_preset(tx, save_preset_as, report.mapping)

    store.write(actor, confirm)
    report.batch_id, report.pending_batch = batch_id, None
    return report


def discard_upload(store: Store, actor: Actor, report: TimingReport) -> None:
    """Cancel a staged upload: its pending batch and rows go (a confirmed batch is never touched)."""
    batch_id = report.pending_batch
    if batch_id is not None:
        store.write(actor, lambda tx: pending.discard(tx, [batch_id]))
        report.pending_batch = None


def _record(tx: Tx, report: TimingReport, batch_id: int) -> None:
    """The upload's batch row and its audit row."""
    tx.execute(
        "INSERT INTO upload_batches (batch_id, uploaded_at, actor, file_name, file_sha256,"
        " workflow_ids, mapping, rows_total, accepted, rejected, time_kind, phase_only)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            batch_id,
            tx.now,
            tx.actor.name,
            report.file_name,
            report.sha256,
            report.workflow_ids,
            report.mapping.model_dump_json(),
            report.rows,
            report.accepted,
            report.rejected,
            report.mapping.kind,
            report.mapping.phase_only,
        ],
    )
    tx.audit(
        "upload.committed",
        "batch",
        str(batch_id),
        {
            "file_name": report.file_name,
            "sha256": report.sha256,
            "rows": report.rows,
            "accepted": report.accepted,
            "rejected": report.rejected,
            "workflow_ids": report.workflow_ids,
            "mapping": report.mapping.model_dump(mode="json"),
        },
    )


def duplicate_batch(db: Tx | Store, sha256: str, workflow_ids: list[str]) -> int | None:
    row = db.query_one(
        "SELECT min(batch_id) FROM upload_batches WHERE file_sha256 = ? AND undone_at IS NULL "
        "AND len(list_intersect(workflow_ids, ?::VARCHAR[])) > 0",
        [sha256, workflow_ids],
    )
    return row[0] if row else None


@contextmanager
def open_timing_import(
    store: Store,
    path: str | Path,
    mapping: TimingMapping | None = None,
    name: str | None = None,
    preview: bool = False,
    preset: str | None = None,
    loop: str | None = None,
    answers: dict[str, object] | None = None,
    options: dict[str, object] | None = None,
    actor: Actor | None = None,
    pulled: PulledRecords | None = None,
) -> Iterator[TimingImport]:
    """Read and check an export; yield the import for preview and commit; drop its tables after.

    The mapping is given, or a ``preset`` (a name, or ``auto``: recognised as the upload page does)
    is applied with the user's ``answers`` (workflow, go-live...), or the file is in the canonical
    format (see ``recognise.mapping_for``).
    ``options`` (``time_kind``, ``phase_only``...) apply to whichever mapping that is.
    Saved presets are those ``actor`` can see (without one: only the company's).
    ``preview`` adds a sample of minutes per loop for the before/after chart. ``pulled``: the
    records come from a source's pull (see ``replacing``); a pull's window may lie on one side of
    the go-live."""
    with open_source(path, name, max_bytes=store.max_upload_bytes) as source:
        refuse_workflows_sheet(source)
        notes = []
        given = {k: v for k, v in (options or {}).items() if v is not None}
        if mapping is None:
            mapping, why = mapping_for(store, source, actor, preset, loop, answers or {}, given)
            notes += [why[:1].upper() + why[1:] + "."] if why else []
        mapping = with_options(mapping, given)
        columns = mapped_columns(source, mapping)
        check_roles(columns)
        if mapping.workflow and store.query_one(_KNOWN, [mapping.workflow]) is None:
            raise NotFound(f"no workflow '{mapping.workflow}'", "register it first, or pick another")
        cursor = store.new_cursor()
        staged: Staged | None = None
        try:
            if mapping.mode == "events":
                staged = stage_csv(cursor, source, NULL_MARKERS)
                if "workflow" in columns:
                    check_workflow_column(cursor, staged.table, columns["workflow"], columns["workflow"])
                plan = make_plan(staged, mapping, columns)
                checked, accepted = _check_events(store, staged, plan)
                checks = None
            else:
                limit = store.policy.evidence.max_loop_minutes
                staged, plan, accepted, checks = read_checked(
                    cursor, source, mapping, columns, limit, record_ids=pulled is not None
                )
                checked = staged.table
            upload = _report(store, staged, plan, (checked, accepted, checks), preview, pulled)
        except duckdb.Error as e:
            _close(staged, cursor)
            raise _unreadable(e) from e
        except BaseException:
            _close(staged, cursor)
            raise
        try:
            upload.report.notes[:0] = notes
            yield upload
        except duckdb.Error as e:
            raise _unreadable(e) from e
        finally:
            _close(staged, cursor)


_KNOWN = "SELECT 1 FROM workflows WHERE identity_key(workflow_id) = identity_key(?)"
# The departments of the accepted rows: those of the stored workflows they were matched to.
_DEPARTMENTS = (
    "SELECT DISTINCT department FROM workflows WHERE workflow_id IN (SELECT unnest($ids::VARCHAR[]))"
)


def _close(staged: Staged | None, cursor: Cursor) -> None:
    if staged is not None:
        drop_staged(staged)
    cursor.close()


def _unreadable(error: duckdb.Error) -> IngestError:
    """No database text reaches a user: the failure is named in the upload's own words."""
    return read_failure(
        error,
        "the mapping does not fit this file: a mapped column holds values of another kind",
        "check that each column holds what its role says (timestamps, numbers, workflow ids) and the unit; "
        "nothing was written",
    )


def _check_events(store: Store, staged: Staged, plan: Plan) -> tuple[str, str]:
    """An event log's checked and accepted tables (its loops span records: see ``events``)."""
    projection, checks = row_projection(plan, store.policy.evidence.max_loop_minutes)
    checked = f"{staged.table}_checked"
    accepted = f"{staged.table}_accepted"
    max_minutes = store.policy.evidence.max_loop_minutes
    check_events(staged.cursor, staged, plan, projection, checks, checked, accepted, max_minutes)
    return checked, accepted


def _report(
    store: Store,
    staged: Staged,
    plan: Plan,
    tables: tuple[str, str, list[Check] | None],
    preview: bool,
    pulled: PulledRecords | None = None,
) -> TimingImport:
    """``tables``: the checked table, the accepted rows, and the checks when the checked table
    keeps them by number (one pass: ``timing_pass``)."""
    checked, accepted, checks = tables
    mapping = plan.mapping
    rules = store.policy.evidence
    long_minutes = rules.long_loop_hours * 60
    report, figures = build_report(staged, plan, checked, accepted, preview, long_minutes, checks)
    if pulled is None:  # a pull may fetch what an earlier one did (unchanged records are skipped),
        existing = duplicate_batch(store, report.sha256, report.workflow_ids)
        if existing is not None:
            report.duplicate_of = existing
            report.problems.insert(0, _duplicate_message(report, existing)[0])
        report.problems += phase_problems(figures, mapping)  # and its window is part of the history
    report.warnings += long_loop_warning(figures, mapping, rules)
    if preview and report.accepted:  # a preview (the page's, or a dry run) says what the estimate will do
        notes, warnings = foresee(staged.cursor, store.postgres, accepted, report.workflow_ids, rules)
        report.notes += notes
        report.warnings += warnings
    return TimingImport(store, staged, plan, accepted, report, pulled)


def _duplicate_message(report: TimingReport, existing: int) -> tuple[str, str]:
    return (
        f"this file was already uploaded for {', '.join(report.workflow_ids)} (batch {existing})",
        f"undo batch {existing} first if you mean to replace it",
    )


def import_timings(
    store: Store,
    actor: Actor,
    path: str | Path,
    mapping: TimingMapping | None = None,
    *,
    dry_run: bool = False,
    name: str | None = None,
    preset: str | None = None,
    loop: str | None = None,
    answers: dict[str, object] | None = None,
    options: dict[str, object] | None = None,
) -> TimingReport:
    """Check an export and, unless ``dry_run``, commit its accepted rows as one batch. A dry run is
    a preview: it also says what the estimates will set aside and where the times change most."""
    with open_timing_import(
        store,
        path,
        mapping,
        name,
        preview=dry_run,
        preset=preset,
        loop=loop,
        answers=answers,
        options=options,
        actor=actor,
    ) as upload:
        if dry_run:
            return upload.report
        return upload.commit(actor)
