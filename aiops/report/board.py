"""The board pack: one template, rendered to a self-contained HTML file and printed to PDF.

``build_board_pack`` computes everything from the domain (the same metrics, rollups, stored
classifications and policy as the dashboard); ``render_html`` fills the one Jinja template (every
user string autoescaped); ``render_pdf`` prints that same HTML with WeasyPrint. Charts are the
dashboard's Altair specs rendered to SVG by vl-convert and embedded as base64 data URIs, so the
HTML holds no external URL and opens on an offline laptop. Every figure keeps its 95% interval,
its n and its evidence label; before/after is observational, and the pack says so.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path

import altair as alt
import pandas as pd

from aiops.charts import loops_removed_by_department, stop_conditions_by_department, themed
from aiops.classifier import STOP_CONDITIONS
from aiops.errors import AiopsError
from aiops.metrics import EVIDENCE_HELP, EVIDENCE_LABELS, Period, freshness, rollup, workflow_metrics
from aiops.report import format as fmt
from aiops.report.export import safe_csv
from aiops.store import Reader, Store, utcnow

TITLE = "Saved Loops — Board pack"
CHART_WIDTH = 430  # plot width in pixels (axis labels and legend come on top): fits A4 portrait
PAUSED_LISTED = 8  # paused workflows named on the one-page summary; the rest are on their page
RISK_LEVELS = ("high", "medium", "low")
# Each estimate with its 95% interval: never one without the other.
ESTIMATE_COLUMNS = (
    "saved_per_loop",
    "saved_low",
    "saved_high",
    "hours_returned",
    "hours_returned_low",
    "hours_returned_high",
    "loops_removed",
    "loops_removed_low",
    "loops_removed_high",
)


# -- the pack -----------------------------------------------------------------------------------------


def _float(value: object) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return float(value)


def _moment(value: object) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime()


@dataclass(frozen=True)
class Totals:
    """A department's (or the company's) totals, each estimate with its interval, n and evidence."""

    scope: str
    workflows: int
    workflows_with_evidence: int
    hours_returned: float
    hours_returned_low: float
    hours_returned_high: float
    hours_per_week: float
    loops_removed: float
    loops_removed_low: float
    loops_removed_high: float
    samples_before: int
    samples_after: int
    after_loops: int
    evidence_saving: int
    evidence_inconclusive: int
    evidence_slower: int
    evidence_insufficient: int
    open_stop_conditions: int
    paused: int

    @classmethod
    def from_record(cls, record: dict, scope: str) -> Totals:
        values = {}
        for name in cls.__dataclass_fields__:
            if name != "scope":
                value = record[name]
                values[name] = float(value) if isinstance(value, float) else int(value)
        return cls(scope=scope, **values)

    @property
    def has_estimate(self) -> bool:
        return self.workflows_with_evidence > 0

    @property
    def hours(self) -> str:
        return fmt.estimate(self.hours_returned, self.hours_returned_low, self.hours_returned_high, "h")

    @property
    def loops(self) -> str:
        return fmt.estimate(self.loops_removed, self.loops_removed_low, self.loops_removed_high)

    @property
    def n(self) -> str:
        return fmt.n_phrase(self.samples_before, self.samples_after)

    @property
    def evidence(self) -> str:
        return fmt.evidence_phrase(self.__dict__)

    @property
    def summed(self) -> str:
        return f"{self.workflows_with_evidence} of {self.workflows} workflows summed"


@dataclass(frozen=True)
class Comparison:
    """This period against the one before it. Both periods' savings share baseline samples, so the
    change is a difference of point estimates; the two intervals are shown side by side instead."""

    name: str
    current: Totals
    previous: Totals

    @property
    def hours_change(self) -> float:
        return self.current.hours_returned - self.previous.hours_returned

    @property
    def loops_change(self) -> float:
        return self.current.loops_removed - self.previous.loops_removed

    @property
    def hours_change_text(self) -> str:
        return _signed(self.hours_change, self.previous.hours_returned, "h")

    @property
    def loops_change_text(self) -> str:
        return _signed(self.loops_change, self.previous.loops_removed, "loops")

    @property
    def intervals_overlap(self) -> bool:
        c, p = self.current, self.previous
        return c.hours_returned_low <= p.hours_returned_high and p.hours_returned_low <= c.hours_returned_high


def _signed(change: float, base: float, unit: str) -> str:
    text = f"{change:+,.0f} {unit}"
    return f"{text} ({change / base:+.0%})" if base > 0 else text


@dataclass(frozen=True)
class WorkflowRow:
    workflow_id: str
    name: str
    department: str
    owner: str
    risk: str
    status: str
    evidence: str
    stop_conditions: tuple[str, ...]
    samples_before: int
    samples_after: int
    after_loops: int
    saved_per_loop: float | None
    saved_low: float | None
    saved_high: float | None
    hours_returned: float | None
    hours_returned_low: float | None
    hours_returned_high: float | None
    loops_removed: float | None
    loops_removed_low: float | None
    loops_removed_high: float | None

    @property
    def n(self) -> str:
        return fmt.n_phrase(self.samples_before, self.samples_after)

    @property
    def counted(self) -> bool:
        """Summed into the totals (insufficient evidence has no interval and is left out)."""
        return self.evidence != "insufficient"


@dataclass(frozen=True)
class StopRow:
    """One workflow with its open stop conditions and its owner (or the lack of one)."""

    workflow: WorkflowRow
    conditions: tuple[tuple[str, str], ...]  # (code, reason)


@dataclass(frozen=True)
class FreshnessRow:
    department: str
    last_upload: datetime | None
    last_measured: datetime | None
    baseline_until: datetime | None
    uploads: int
    workflows: int
    with_baseline: int
    upload_age: str
    baseline_age: str


@dataclass(frozen=True)
class HumanRule:
    """What must stay human at one risk level (the policy's rollout default) and who it covers."""

    risk: str
    stays_human: str
    approval_checkpoint: str
    workflows: int


@dataclass(frozen=True)
class DepartmentSection:
    name: str
    totals: Totals
    comparison: Comparison | None
    workflows: tuple[WorkflowRow, ...]
    stops: tuple[StopRow, ...]
    freshness: FreshnessRow | None


@dataclass(frozen=True)
class BoardPack:
    """Everything the template needs, computed once from the domain."""

    period: Period
    period_name: str
    previous_name: str | None
    no_comparison: str | None
    generated_at: datetime
    as_of: datetime
    data_through: datetime | None
    in_progress: bool  # the period ends after ``as_of``: figures so far, no run rate
    period_note: str | None
    policy_version: str
    policy_name: str
    policy_sha256: str
    classification_versions: tuple[str, ...]
    interval_level: float
    min_samples_per_phase: int
    run_rate_weeks: int
    company: Totals
    comparison: Comparison | None
    departments: tuple[DepartmentSection, ...]
    workflows: tuple[WorkflowRow, ...]
    stops: tuple[StopRow, ...]
    paused: tuple[WorkflowRow, ...]
    human: tuple[HumanRule, ...]
    freshness: tuple[FreshnessRow, ...]
    stops_hours: Totals | None
    charts: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return TITLE

    @property
    def period_label(self) -> str:
        return self.period.label


def period_name(period: Period) -> str:
    """`2026 Q3` for a calendar quarter, otherwise the period's label."""
    start = period.start
    if start is not None and start.day == 1 and start.month % 3 == 1:
        quarter = (start.month + 2) // 3
        if Period.quarter(start.year, quarter) == period:
            return f"{start.year} Q{quarter}"
    return period.label


def previous_period(period: Period) -> Period | None:
    """The period to compare with: the calendar quarter before a quarter (a board compares Q3 with
    Q2, not with the 92 days before 1 July), otherwise ``Period.previous()``."""
    name = period_name(period)
    if name != period.label:
        year, quarter = period.start.year, (period.start.month + 2) // 3
        return Period.quarter(year - (quarter == 1), quarter - 1 or 4)
    return period.previous()


def build_board_pack(
    store: Store, period: Period = Period(), as_of: datetime | None = None, *, charts: bool = True
) -> BoardPack:
    """Compute the board pack for ``period``, with the change against ``previous_period(period)``
    when that period has evidence. ``as_of`` anchors ages, "period not over" and the run rate of an
    open-ended period (default: now, UTC). ``charts=False`` skips vl-convert (figures only)."""
    generated_at = utcnow()
    as_of = as_of or generated_at
    rules = store.policy.evidence
    level = rules.interval_level
    metrics = workflow_metrics(store, rules, period, as_of)
    company = Totals.from_record(rollup(metrics, None, level).iloc[0].to_dict(), "Company")
    by_department = rollup(metrics, "department", level)
    totals = {
        r["department"]: Totals.from_record(r, r["department"]) for r in by_department.to_dict("records")
    }

    previous = previous_period(period)
    comparison, previous_totals, no_comparison = None, {}, None
    if previous is None:
        no_comparison = (
            "No comparison: the period is all time, so there is no previous period."
            if period.start is None and period.end is None
            else "No comparison: the period is open-ended, so there is no previous period of the same length."
        )
    else:
        before = workflow_metrics(store, rules, previous, as_of)
        prev_company = Totals.from_record(rollup(before, None, level).iloc[0].to_dict(), "Company")
        if prev_company.has_estimate:
            comparison = Comparison(period_name(previous), company, prev_company)
            previous_totals = {
                r["department"]: Totals.from_record(r, r["department"])
                for r in rollup(before, "department", level).to_dict("records")
                if r["workflows_with_evidence"]
            }
        else:
            no_comparison = (
                f"No comparison: no workflow had enough evidence in {period_name(previous)} "
                f"({prev_company.n}; {prev_company.evidence})."
            )

    workflows = tuple(_workflow_rows(metrics))
    stops = tuple(
        StopRow(w, tuple((code, STOP_CONDITIONS.get(code, code)) for code in w.stop_conditions))
        for w in workflows
        if w.stop_conditions
    )
    freshness = tuple(_freshness(store, as_of))
    fresh_by_department = {f.department: f for f in freshness}

    risky = metrics[(metrics.stop_conditions.map(len) > 0) & (metrics.evidence != "insufficient")]
    stops_hours = (
        Totals.from_record(rollup(risky, None, level).iloc[0].to_dict(), "Open stop conditions")
        if len(risky)
        else None
    )

    chart_specs: dict[str, alt.TopLevelMixin] = {}
    if charts:
        with_evidence = by_department[by_department.workflows_with_evidence > 0] if totals else []
        if len(with_evidence):
            chart_specs["loops"] = loops_removed_by_department(with_evidence, width=CHART_WIDTH)
        stop_counts = _stop_counts(metrics)
        if len(stop_counts):
            chart_specs["stops"] = stop_conditions_by_department(stop_counts, width=CHART_WIDTH)
    svgs = render_svgs(chart_specs)

    sections = []
    for name, dept_totals in totals.items():
        prev = previous_totals.get(name)
        sections.append(
            DepartmentSection(
                name=name,
                totals=dept_totals,
                comparison=Comparison(comparison.name, dept_totals, prev) if comparison and prev else None,
                workflows=tuple(w for w in workflows if w.department == name),
                stops=tuple(s for s in stops if s.workflow.department == name),
                freshness=fresh_by_department.get(name),
            )
        )

    data_through = _moment(store.query_one("SELECT max(measured_at) FROM timing_samples")[0])
    in_progress = period.end is not None and period.end > as_of.date()
    period_note = None
    if in_progress:
        through = f"timings through {data_through:%Y-%m-%d}" if data_through else "no timings yet"
        period_note = f"{period_name(period)} is not over ({through}): the figures cover the period so far"
        if comparison:
            period_note += f", and the change compares part of it with the whole of {comparison.name}"
        period_note += "."

    risk_counts = metrics.risk.value_counts()
    policy = store.policy
    active = store.query_one("SELECT sha256 FROM policy_versions WHERE version = ?", [policy.version])
    versions = [r[0] for r in store.query("SELECT DISTINCT policy_version FROM classifications ORDER BY 1")]
    return BoardPack(
        period=period,
        period_name=period_name(period),
        previous_name=comparison.name if comparison else None,
        no_comparison=no_comparison,
        generated_at=generated_at,
        as_of=as_of,
        data_through=data_through,
        in_progress=in_progress,
        period_note=period_note,
        policy_version=policy.version,
        policy_name=policy.name,
        policy_sha256=(active[0] if active else policy.sha256),
        classification_versions=tuple(versions),
        interval_level=level,
        min_samples_per_phase=rules.min_samples_per_phase,
        run_rate_weeks=rules.run_rate_weeks,
        company=company,
        comparison=comparison,
        departments=tuple(sections),
        workflows=workflows,
        stops=stops,
        paused=tuple(w for w in workflows if w.status == "paused"),
        human=tuple(
            HumanRule(
                risk=r,
                stays_human=policy.rollout.for_level(r).stays_human,
                approval_checkpoint=policy.rollout.for_level(r).approval_checkpoint,
                workflows=int(risk_counts.get(r, 0)),
            )
            for r in RISK_LEVELS
        ),
        freshness=freshness,
        stops_hours=stops_hours,
        charts=svgs,
    )


def _workflow_rows(metrics: pd.DataFrame) -> list[WorkflowRow]:
    ordered = metrics.sort_values(["department", "name", "workflow_id"])
    rows = []
    for r in ordered.to_dict("records"):
        rows.append(
            WorkflowRow(
                workflow_id=str(r["workflow_id"]),
                name=str(r["name"]),
                department=str(r["department"]),
                owner=str(r["owner"] or ""),
                risk=str(r["risk"]),
                status=str(r["status"]),
                evidence=str(r["evidence"]),
                stop_conditions=tuple(str(c) for c in r["stop_conditions"]),
                samples_before=int(r["samples_before"]),
                samples_after=int(r["samples_after"]),
                after_loops=int(r["period_loops_after"]),
                **{key: _float(r[key]) for key in ESTIMATE_COLUMNS},
            )
        )
    return rows


def _stop_counts(metrics: pd.DataFrame) -> pd.DataFrame:
    """department, code, workflows, names — the input of the stop-conditions chart."""
    open_ = metrics[metrics.stop_conditions.map(len) > 0][["department", "name", "stop_conditions"]]
    exploded = open_.explode("stop_conditions").rename(columns={"stop_conditions": "code"})
    if exploded.empty:
        return pd.DataFrame(columns=["department", "code", "workflows", "names"])
    return (
        exploded.groupby(["department", "code"], as_index=False)
        .agg(workflows=("name", "size"), names=("name", "; ".join))
        .sort_values(["department", "code"])
    )


def _freshness(db: Reader, as_of: datetime) -> list[FreshnessRow]:
    rows = []
    for r in freshness(db).to_dict("records"):
        rows.append(
            FreshnessRow(
                department=str(r["department"]),
                last_upload=_moment(r["last_upload"]),
                last_measured=_moment(r["last_measured"]),
                baseline_until=_moment(r["baseline_until"]),
                uploads=int(r["uploads"]),
                workflows=int(r["workflows"]),
                with_baseline=int(r["with_baseline"]),
                upload_age=fmt.age(_moment(r["last_upload"]), as_of),
                baseline_age=fmt.age(_moment(r["baseline_until"]), as_of),
            )
        )
    return rows


# -- charts -------------------------------------------------------------------------------------------


def render_svgs(charts: dict[str, alt.TopLevelMixin]) -> dict[str, str]:
    """Each chart themed like the dashboard and rendered to SVG by vl-convert (no browser, no URL)."""
    if not charts:
        return {}
    import vl_convert

    # validate=False: these specs are the dashboard's own, checked by its tests; validation costs
    # ~30 ms a chart and the pack has one per department.
    return {name: vl_convert.vegalite_to_svg(themed(c).to_dict(validate=False)) for name, c in charts.items()}


def svg_data_uri(svg: str) -> str:
    """Base64 keeps the SVG's own namespace URLs (http://www.w3.org/...) out of the HTML text."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


# -- rendering ----------------------------------------------------------------------------------------


def _date(value: datetime | date | None, pattern: str = "%Y-%m-%d") -> str:
    return "—" if value is None else value.strftime(pattern)


@cache
def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("aiops.report", "templates"),
        autoescape=True,  # every user string (workflow names, owners, departments) is escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=fmt.number,
        interval=fmt.interval,
        estimate=fmt.estimate,
        date=_date,
        data_uri=svg_data_uri,
        pct=lambda v: f"{v:.0%}",
        label=lambda code: str(code).replace("_", " "),
    )
    env.globals.update(
        EVIDENCE_LABELS=EVIDENCE_LABELS,
        EVIDENCE_HELP=EVIDENCE_HELP,
        DEFINITIONS=fmt.DEFINITIONS,
        STOP_CONDITIONS=STOP_CONDITIONS,
    )
    return env


def render_html(pack: BoardPack) -> str:
    """The pack as one self-contained HTML document (inline CSS, charts as data URIs)."""
    return _environment().get_template("board.html.j2").render(pack=pack, paused_listed=PAUSED_LISTED)


def render_pdf(pack: BoardPack) -> bytes:
    """The same HTML, printed by WeasyPrint (its print CSS: pages, running footer, page numbers)."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # Only data: URIs may load: the pack never reaches the network, whatever a string holds.
    offline = URLFetcher(allowed_protocols={"data"})
    return HTML(string=render_html(pack), url_fetcher=offline).write_pdf()


BOARD_CSV_COLUMNS = [
    "workflow_id",
    "name",
    "department",
    "owner",
    "risk",
    "status",
    "evidence",
    "stop_conditions",
    "samples_before",
    "samples_after",
    "after_loops",
    *ESTIMATE_COLUMNS,
]


def board_csv(pack: BoardPack) -> str:
    """The pack's workflow table as CSV; cells a spreadsheet would run as a formula are escaped."""
    frame = pd.DataFrame(
        [{**w.__dict__, "stop_conditions": "; ".join(w.stop_conditions)} for w in pack.workflows],
        columns=BOARD_CSV_COLUMNS,
    )
    return safe_csv(frame.round(4))  # 4 decimals: no float noise (17.799999999999997) in a spreadsheet


FORMATS = {".pdf": "PDF", ".html": "HTML", ".htm": "HTML"}


def pack_format(out_path: str | Path) -> str:
    """``PDF`` or ``HTML`` by the file's suffix; anything else is refused with a hint."""
    path = Path(out_path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise AiopsError(
            f"cannot write a board pack to {path.name}", "use a .pdf or .html file name, e.g. --out board.pdf"
        )
    return kind


def write_board_pack(
    store: Store, out_path: str | Path, period: Period = Period(), as_of: datetime | None = None
) -> Path:
    """Build the pack and write it as PDF or HTML, chosen by ``out_path``'s suffix."""
    path = Path(out_path)
    kind = pack_format(path)
    pack = build_board_pack(store, period, as_of)
    try:
        if kind == "PDF":
            path.write_bytes(render_pdf(pack))
        else:
            path.write_text(render_html(pack), encoding="utf-8")
    except OSError as e:
        hint = "check that the folder exists and is writable"
        raise AiopsError(f"cannot write {path}: {e.strerror}", hint) from e
    return path
