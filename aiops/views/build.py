"""Build the one view every surface renders: the dashboard pages, the board pack and the summary.

``build_view(store, period)`` runs every query once for that period (and its previous period) and
returns a frozen ``View``; on PostgreSQL they all read one copy of the timing rows
(``aiops.views.snapshot``). ``view_for`` caches it per (store, revision, period): any write appends an
audit row and so changes the revision; the view it then builds reuses each period's figures whose
inputs the write did not change (``aiops.views.parts``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from aiops.columns import in_declared_order
from aiops.estimates.codes import EvidenceLabel, WarningCode
from aiops.governance import NEXT_CHECKPOINT
from aiops.lru import Lru
from aiops.metrics import CLASSIFIED, weekly_cells, workflow_metrics
from aiops.metrics import freshness as department_freshness
from aiops.period import DAYS_PER_MONTH, Period, complete_weeks_end, default_period
from aiops.store import Reader, Store, pending, utcnow
from aiops.views.company import CompanySettings
from aiops.views.compare import Comparison
from aiops.views.facts import current_facts
from aiops.views.parts import Inputs, Part, Stored, kept_part, stored_inputs
from aiops.views.rows_state import known_bounds, rows_state, with_facts
from aiops.views.snapshot import on_server, timing_snapshot
from aiops.views.totals import Totals, add_money, totals_for


@dataclass(frozen=True)
class View:
    """Everything a page or report shows for one period. Treat the frames as read-only."""

    period: Period
    complete: bool  # the data reaches the period's last day
    default_reason: str  # which period surfaces open on, and why
    default: Period
    generated_at: datetime
    as_of: datetime
    data_first: datetime | None
    data_through: datetime | None
    run_rate_start: date | None
    run_rate_end: date | None  # exclusive: the Monday after the last complete week of data
    company_settings: CompanySettings
    policy_version: str
    policy_name: str
    policy_sha256: str
    classification_versions: tuple[str, ...]
    human_rules: tuple[tuple[str, str, str], ...]  # (risk level, what stays human, approval checkpoint)
    interval_level: float
    min_samples_per_phase: int
    run_rate_weeks: int
    company: Totals
    departments: tuple[Totals, ...]
    previous: Period | None
    comparison: Comparison | None
    # The period's figures, for its weekly series and stop counts (computed when first read). Not
    # compared: its raw weekly cells come in no set order.
    part: Part = field(repr=False, compare=False)
    department_comparisons: dict[str, Comparison] = field(default_factory=dict)
    no_comparison: str | None = None
    workflows: pd.DataFrame = field(default_factory=pd.DataFrame)
    adoption_weekly: pd.DataFrame = field(default_factory=pd.DataFrame)
    freshness: pd.DataFrame = field(default_factory=pd.DataFrame)
    incidents: pd.DataFrame = field(default_factory=pd.DataFrame)
    material_share: float = 0.1  # the least slowdown (share of the loop) that advice to pause needs
    gate_designs: frozenset[str] = frozenset()  # the policy's designs that may prove (or pause) a workflow

    @property
    def name(self) -> str:
        """`2026 Q3`, or `2026 Q4 to date` when the data does not reach the period's end."""
        return self.period.name + ("" if self.complete or self.period.end is None else " to date")

    @property
    def currency(self) -> str:
        return self.company_settings.currency

    @property
    def period_note(self) -> str | None:
        if self.complete or self.period.end is None:
            return None
        through = f"timings through {self.data_through:%Y-%m-%d}" if self.data_through else "no timings yet"
        note = f"{self.period.name} is not complete ({through}): figures are to date"
        if self.comparison:
            note += f", compared per week with {self.comparison.name}"
        return note + "."

    @property
    def run_rate_label(self) -> str:
        if self.run_rate_end is None:
            return "no complete week of data"
        last = self.run_rate_end - timedelta(days=1)
        return f"last {self.run_rate_weeks} complete weeks of data (to {last:%Y-%m-%d})"

    @property
    def weekly(self) -> pd.DataFrame:
        """``aiops.views.parts.Part.weekly``: per workflow and week, hours returned."""
        return self.part.weekly

    @property
    def stop_counts(self) -> pd.DataFrame:
        """department, code, workflows, names: one row per open stop condition kind and department."""
        return self.part.stop_counts

    @property
    def complete_weeks(self) -> pd.DataFrame:
        """The weekly frame without partial edge weeks (a week cut by the period's start or end, or
        by the end of the data): a trend chart must not show a fake drop in its last week."""
        weeks = self.weekly
        if weeks.empty:
            return weeks
        start = pd.Timestamp(self.period.start) if self.period.start else None
        end = pd.Timestamp(self.run_rate_end) if self.run_rate_end else None
        keep = pd.Series(True, index=weeks.index)
        if start is not None:
            keep &= weeks.week >= start
        if end is not None:
            keep &= weeks.week + pd.Timedelta(days=7) <= end
        return weeks[keep]

    def department(self, name: str) -> Totals | None:
        return next((d for d in self.departments if d.scope == name), None)

    @property
    def banked(self) -> pd.DataFrame:
        return self.workflows[self.workflows.banked]

    @property
    def at_risk(self) -> pd.DataFrame:
        return self.workflows[self.workflows.at_risk]


_BOUNDS = "SELECT min(measured_at), max(measured_at) FROM {rows}"
# Each workflow's labels: what its classification says (``aiops.views.parts``: kept apart).
_LABELS = f"""
SELECT w.workflow_id, {CLASSIFIED}, {NEXT_CHECKPOINT} AS next_checkpoint
FROM workflows w LEFT JOIN classifications c USING (workflow_id)
"""


def data_bounds(db: Reader) -> tuple[datetime | None, datetime | None]:
    """The first and last timing. On a DuckDB file where this process has built a view, from the
    rows' figures the view keeps (``aiops.views.rows_state``: carried to this moment over appended
    batches, which the view's build then finds there; after any other write, read again from every
    row); else from the table's min and max. On a PostgreSQL store the server computes them: two
    values cross the wire, not every timing row."""
    if isinstance(db, Store):
        if db.postgres:
            return _two(db.query_one(on_server(_BOUNDS.format(rows="committed_samples"))))
        with db.snapshot() as reader:
            return known_bounds(db, reader) or data_bounds(reader)
    # A table's own min and max cost a fraction of a scan through ``committed_samples``.
    return _two(db.query_one(_BOUNDS.format(rows=pending.committed_rows(db))))


def _two(row: tuple[Any, ...] | None) -> tuple[datetime | None, datetime | None]:
    return (row[0], row[1]) if row else (None, None)


def revision(store: Store) -> str:
    """The last audit row and its time: every write appends one, so any write (from any session, or
    on PostgreSQL from any process) changes it; the time tells a restore (which rewinds ids) from the
    past."""
    row = store.query_one("SELECT coalesce(max(audit_id), 0), max(recorded_at) FROM audit_log")
    audit_id, latest = row if row is not None else (0, None)
    return f"{audit_id}@{latest}"


_VIEWS: Lru[tuple[Any, ...], View] = Lru(32)


def view_for(store: Store, period: Period | None = None, at_revision: str | None = None) -> View:
    """The view for ``period`` (default: ``default_period``, found in the same read as the view),
    built once per store revision (the dashboard's sessions share it: the same object, never a
    copy; treat it as read-only). ``at_revision``: the revision the caller has just read (saves
    reading it again)."""
    now = revision(store) if at_revision is None else at_revision
    key = (id(store), store.path, now)
    view = _VIEWS.get((*key, period))
    if view is None:
        with timing_snapshot(store) as db:
            # data_bounds(store) in this read (never known on PostgreSQL: read there)
            shown = period or default_period(*(known_bounds(store, db) or data_bounds(db)))[0]
            view = _VIEWS.get((*key, shown)) or _build(store, db, shown, None, None)
        _VIEWS.put((*key, shown), view)
        _VIEWS.put((*key, period), view)
    return view


def _adoption(weeks: pd.DataFrame) -> pd.DataFrame:
    """Per workflow and week after go-live (``weekly_cells``): loops done with AI among loops that
    record it."""
    weeks = weeks[(weeks.phase == "after") & (weeks.adoption_loops > 0)]
    weeks = weeks[["workflow_id", "department", "week", "ai_loops", "adoption_loops"]].copy()
    weeks["share"] = weeks.ai_loops / weeks.adoption_loops
    return weeks.sort_values(["week", "workflow_id"]).reset_index(drop=True)


def _part(db: Reader, inputs: Inputs, stored: Stored | None) -> Part:
    """The period's frame, weekly cells, adoption and totals (with ``stored``, what it reads of the
    store: kept while that and its other inputs are unchanged, or relabelled when only the
    classifications changed, ``aiops.views.parts``)."""

    def compute() -> Part:
        weeks = weekly_cells(db, inputs.period)
        frame, adoption = _frame(db, inputs, weeks)
        return _with_totals(inputs, frame, adoption, weeks)

    def relabel(part: Part) -> Part:
        return _with_totals(inputs, _labelled(db, part.frame.copy()), part.adoption, part.weeks)

    if stored is None or inputs.reads_the_clock(utcnow()):
        return compute()
    return kept_part(db, stored, inputs, compute, relabel)


def _with_totals(inputs: Inputs, frame: pd.DataFrame, adoption: pd.DataFrame, weeks: pd.DataFrame) -> Part:
    company, departments = totals_for(frame, inputs.rules.interval_level, inputs.company.currency)
    return Part(frame=frame, adoption=adoption, weeks=weeks, company=company, departments=departments)


def _labelled(db: Reader, f: pd.DataFrame) -> pd.DataFrame:
    """``f`` (``counted`` set) with what each workflow's classification says now, and what follows
    from it: the headline (banked) counts proven hours only; other savings stand beside it, never
    added; a workflow with an open stop condition is at risk."""
    labels = db.query_df(_LABELS).set_index("workflow_id")
    for column in labels.columns:
        f[column] = f.workflow_id.map(labels[column])
    f["stop_conditions"] = f.stop_conditions.map(list)
    has_stops = f.stop_conditions.map(len) > 0
    proven = f.proven.fillna(False).astype(bool)
    f["banked"] = f.counted & proven & ~has_stops
    f["unproven"] = f.counted & ~proven & ~has_stops
    f["at_risk"] = f.counted & has_stops
    return f


def _frame(db: Reader, inputs: Inputs, weeks: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The metrics frame for the period with the view's columns: counted/banked/at_risk, money,
    adoption. Returns (frame, weekly adoption)."""
    rules, period, company = inputs.rules, inputs.period, inputs.company
    as_of = datetime.combine(inputs.run_rate_end, datetime.min.time()) if inputs.run_rate_end else None
    f = workflow_metrics(db, rules, period, as_of)
    extra = db.query_df("SELECT workflow_id, ai_monthly_cost FROM workflows")
    f = f.join(extra.set_index("workflow_id"), on="workflow_id")
    # counts_in_hours: hands-on time, and not shaped like calendar time (elapsed_time)
    f["counted"] = (f.evidence != EvidenceLabel.INSUFFICIENT) & f.hours_returned.notna() & f.counts_in_hours
    f = _labelled(db, f)
    late = _late_data(f, inputs.reference_end, rules.late_data_days)
    rates = f.department.map(company.rate_for)
    months = pd.DataFrame(
        [
            _cost_months(period, first, last if is_late else None, inputs.reference_end)
            for first, last, is_late in zip(
                pd.to_datetime(f.first_measured_after), pd.to_datetime(f.last_measured), late, strict=True
            )
        ],
        columns=["with_data", "without_data"],
        index=f.index,
    )
    f = add_money(f, rates, months.with_data, months.without_data)
    adoption = _adoption(weeks)
    per_workflow = adoption.groupby("workflow_id")[["ai_loops", "adoption_loops"]].sum()
    f = f.join(per_workflow, on="workflow_id")
    f["ai_loops"] = f.ai_loops.fillna(0).astype(float)
    f["adoption_loops"] = f.adoption_loops.fillna(0).astype(float)
    f["adoption"] = (f.ai_loops / f.adoption_loops).where(f.adoption_loops > 0)
    f = in_declared_order(f).sort_values(["department", "name", "workflow_id"])
    return f.reset_index(drop=True), adoption


def _late_data(f: pd.DataFrame, reference: datetime | None, days: int) -> pd.Series:
    """``data_through`` per workflow; ``late_data`` when its data ends ``days`` or more before
    ``reference`` (the company's last timing, or the period's end): its figures cover only the weeks
    it has."""
    f["data_through"] = f.last_measured
    if reference is None:
        return pd.Series(False, index=f.index)
    late = pd.to_datetime(f.last_measured) <= pd.Timestamp(reference) - pd.Timedelta(days=days)
    late = late.fillna(False).astype(bool)
    f["warnings"] = [
        sorted({*codes, WarningCode.LATE_DATA.value}) if is_late else codes
        for codes, is_late in zip(f.warnings, late, strict=True)
    ]
    return late


def _reference_end(period: Period, data_through: datetime | None) -> datetime | None:
    """What a workflow's data should reach: the company's last timing, or the period's end."""
    if data_through is None or period.end is None:
        return data_through
    return min(data_through, datetime.combine(period.end, datetime.min.time()) - timedelta(seconds=1))


def _cost_months(
    period: Period, first_after: pd.Timestamp, late_last: pd.Timestamp | None, data_through: datetime | None
) -> tuple[float, float]:
    """Months of AI cost in the period (from the first after loop) with data, and for a late
    workflow (``late_last``: where its data ends) the months after that until the company's data
    ends (shown apart, never netted)."""
    if pd.isna(first_after):
        return 0.0, 0.0
    first = first_after.date()
    everyone = period.covered_days(first, data_through)
    own = everyone if late_last is None else period.covered_days(first, late_last.to_pydatetime())
    return own / DAYS_PER_MONTH, max(everyone - own, 0.0) / DAYS_PER_MONTH


def build_view(
    store: Store,
    period: Period | None = None,
    as_of: datetime | None = None,
    company: CompanySettings | None = None,
) -> View:
    """Compute the view for ``period``. ``as_of`` anchors ages (default: now, UTC); the run rate
    and "to date" are anchored to the data, never to today. Each period's figures are kept for
    the next build, in this process and on a DuckDB file for the next process too
    (``aiops.views.parts``)."""
    with timing_snapshot(store) as db:
        return _build(store, db, period or Period(), as_of, company)


def _build(
    store: Store,
    db: Reader,
    period: Period,
    as_of: datetime | None,
    company: CompanySettings | None,
) -> View:
    generated_at = utcnow()
    as_of = as_of or generated_at
    rules = store.policy.evidence
    level = rules.interval_level
    previous = period.previous()
    # A Store here is PostgreSQL read without a copy: each query its own moment, so a part could be
    # filed under a key read before a write it includes. Such a build keeps nothing.
    keep = not isinstance(db, Store)
    periods = [period, *([previous] if previous else [])]
    rows = rows_state(store, db, [p.bounds()[1] for p in periods] if keep else [])
    facts = current_facts(db, rows.facts, store.policy.version)
    if keep and facts is not rows.facts:
        with_facts(store, rows, facts)
    company = company or facts.company
    first, last = rows.bounds()
    weeks_end = complete_weeks_end(last) if last is not None else None
    run_rate_end = min(weeks_end, period.end) if weeks_end and period.end else weeks_end
    stored = stored_inputs(periods, rows, facts) if keep else {}
    part = _part(
        db, Inputs(period, rules, company, _reference_end(period, last), run_rate_end), stored.get(period)
    )
    frame, company_totals, departments = part.frame, part.company, part.departments
    complete = period.is_complete(last)

    comparison, by_department, no_comparison = None, {}, None
    if previous is None:
        no_comparison = (
            "No comparison: the period is all time, so there is no previous period."
            if period.start is None and period.end is None
            else "No comparison: the period is open-ended, so there is no previous period of the same length."
        )
    else:
        prev = _part(
            db, Inputs(previous, rules, company, _reference_end(previous, last), None), stored.get(previous)
        )
        prev_company, prev_departments = prev.company, prev.departments
        if prev_company.has_estimate:
            first_day = first.date() if first is not None else None
            per_week = not complete
            weeks = (period.covered_days(first_day, last) / 7, previous.covered_days(first_day, last) / 7)
            comparison = Comparison(previous.name, company_totals, prev_company, per_week, *weeks)
            prev_by_name = {d.scope: d for d in prev_departments if d.has_estimate}
            by_department = {
                d.scope: Comparison(previous.name, d, prev_by_name[d.scope], per_week, *weeks)
                for d in departments
                if d.scope in prev_by_name
            }
        else:
            no_comparison = (
                f"No comparison: no workflow had enough evidence in {previous.name} "
                f"(n = {prev_company.samples_before:,} before / {prev_company.samples_after:,} after)."
            )

    default, reason = default_period(first, last)
    return View(
        period=period,
        complete=complete,
        default_reason=reason,
        default=default,
        generated_at=generated_at,
        as_of=as_of,
        data_first=first,
        data_through=last,
        run_rate_start=run_rate_end - timedelta(weeks=rules.run_rate_weeks) if run_rate_end else None,
        run_rate_end=run_rate_end,
        company_settings=company,
        policy_version=store.policy.version,
        policy_name=store.policy.name,
        policy_sha256=facts.policy_sha256 or store.policy.sha256,
        classification_versions=tuple(
            r[0] for r in db.query("SELECT DISTINCT policy_version FROM classifications ORDER BY 1")
        ),
        human_rules=tuple(
            (
                level,
                store.policy.rollout.for_level(level).stays_human,
                store.policy.rollout.for_level(level).approval_checkpoint,
            )
            for level in ("high", "medium", "low")
        ),
        interval_level=level,
        min_samples_per_phase=rules.min_samples_per_phase,
        run_rate_weeks=rules.run_rate_weeks,
        company=company_totals,
        departments=departments,
        previous=previous,
        comparison=comparison,
        department_comparisons=by_department,
        no_comparison=no_comparison,
        part=part,
        workflows=frame,
        adoption_weekly=part.adoption,
        freshness=department_freshness(
            db, rows.latest, dict(zip(frame.workflow_id.tolist(), frame.department.tolist(), strict=True))
        ),
        incidents=facts.incidents,
        material_share=rules.material_share,
        gate_designs=frozenset(rules.gate_designs),
    )
