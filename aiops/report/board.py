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
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from aiops import governance
from aiops.charts import (
    STOP_COLORS,
    STOP_LABELS,
    hours_by_department,
    stop_conditions_by_department,
    themed,
    weekly_banked,
)
from aiops.classifier import STOP_CONDITIONS, Status
from aiops.columns import BY_NAME, Kind, declared
from aiops.errors import AiopsError
from aiops.estimates import DESIGN_HELP, WARNING_HELP
from aiops.estimates.codes import EVIDENCE_LABELS, HEADLINE_RULE, EvidenceLabel
from aiops.metrics import EVIDENCE_HELP
from aiops.period import Period, default_period
from aiops.report import format as fmt
from aiops.report.export import safe_csv
from aiops.store import Store
from aiops.views import Comparison, Totals, View, build_view, data_bounds
from aiops.views.columns import ESTIMATES, HOW_MEASURED, SAMPLES, STANDING, WHO

if TYPE_CHECKING:
    import altair as alt  # only for types: a chart is built by aiops.charts, where it is imported
    import jinja2

TITLE = "Board pack"
CHART_WIDTH = 430  # plot width in pixels (axis labels and legend come on top): fits A4 portrait
NAME_CHARS = 70  # names are cut for display (full names in the appendix table)
LISTED = 6  # workflows named per list on the executive summary; the rest are in the appendix
# Rows a printed appendix holds: 5,000 workflows made 1,190 pages and 175 s of printing. Beyond it,
# the appendix lists the workflows that return the most hours and the pack carries them all as CSV.
APPENDIX_ROWS = 200
ATTACHMENT = "saved-loops-workflows.csv"


# -- the pack -----------------------------------------------------------------------------------------


def _float(value: Any) -> float | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _moment(value: object) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime()


def short(text: str, limit: int = NAME_CHARS) -> str:
    """A name cut for display (a 2,000-character name must not stretch a page or slow the layout)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class WorkflowRow:
    """One workflow as the pack shows it: each field a frame column of the same name, typed by its
    ``Kind`` and read from the frame by ``_workflow_rows`` (a test checks each field's type against
    its column's kind)."""

    workflow_id: str
    name: str
    department: str
    owner: str
    risk: str
    status: str
    evidence: str
    design: str
    warnings: tuple[str, ...]
    blocking: tuple[str, ...]
    proven: bool
    stop_conditions: tuple[str, ...]
    samples_before: int
    samples_after: int
    period_loops_after: int
    banked: bool
    unproven: bool
    at_risk: bool
    next_checkpoint: str  # empty when there is none
    roi: float | None
    baseline_mean: float | None
    data_through: datetime | None
    saved_per_loop: float | None
    saved_low: float | None
    saved_high: float | None
    current_per_loop: float | None
    current_low: float | None
    current_high: float | None
    hours_returned: float | None
    hours_returned_low: float | None
    hours_returned_high: float | None
    loops_removed: float | None
    loops_removed_low: float | None
    loops_removed_high: float | None
    value: float | None
    value_low: float | None
    value_high: float | None
    ai_cost: float | None
    net_value: float | None
    net_value_low: float | None
    net_value_high: float | None

    @property
    def n(self) -> str:
        return fmt.n_phrase(self.samples_before, self.samples_after)

    @property
    def short_name(self) -> str:
        return short(self.name)

    @property
    def short_owner(self) -> str:
        return short(self.owner, 40)

    @property
    def counted(self) -> bool:
        """Summed into the totals: banked, or at risk (beside them)."""
        return self.banked or self.at_risk


@dataclass(frozen=True)
class IncidentRow:
    """A recorded incident: it restarts the evidence clock of its workflow's checkpoints."""

    workflow: str
    department: str
    recorded_at: datetime | None
    note: str


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
class Decisions:
    """What to ask the board: checkpoints ready to go, workflows to pause, workflows to fund."""

    remove_checkpoint: tuple[tuple[WorkflowRow, str], ...]
    pause: tuple[tuple[WorkflowRow, str], ...]
    fund: tuple[WorkflowRow, ...]  # the whole interval of net value above zero


@dataclass(frozen=True)
class BoardPack:
    """Everything the template needs, taken from one read-model view."""

    view: View
    company_name: str
    period: Period
    period_name: str
    generated_at: datetime
    as_of: datetime
    data_through: datetime | None
    in_progress: bool
    period_note: str | None
    policy_version: str
    policy_name: str
    policy_sha256: str
    classification_versions: tuple[str, ...]
    company: Totals
    comparison: Comparison | None
    departments: tuple[DepartmentSection, ...]
    workflows: tuple[WorkflowRow, ...]
    stops: tuple[StopRow, ...]
    paused: tuple[WorkflowRow, ...]
    stop_mix: tuple[tuple[str, int, float], ...]  # (code, workflows, hours at risk)
    human: tuple[HumanRule, ...]
    freshness: tuple[FreshnessRow, ...]
    decisions: Decisions
    evidence_mix: tuple[tuple[str, int], ...]
    design_mix: tuple[tuple[str, int], ...]
    warning_mix: tuple[tuple[str, int], ...]
    incidents: tuple[IncidentRow, ...] = ()
    charts: dict[str, str] = field(default_factory=dict)
    precedent_highs: frozenset[str] = frozenset()  # high only because published precedents raised them

    @property
    def title(self) -> str:
        return TITLE

    @property
    def period_label(self) -> str:
        return self.period.label

    @property
    def previous_name(self) -> str | None:
        return self.comparison.name if self.comparison else None

    @property
    def no_comparison(self) -> str | None:
        return self.view.no_comparison

    @property
    def currency(self) -> str:
        return self.view.currency

    @property
    def interval_level(self) -> float:
        return self.view.interval_level

    @property
    def min_samples_per_phase(self) -> int:
        return self.view.min_samples_per_phase

    @property
    def run_rate_weeks(self) -> int:
        return self.view.run_rate_weeks

    @property
    def stops_hours(self) -> Totals | None:
        return self.company if self.company.at_risk_workflows else None

    # -- the appendices, bounded (APPENDIX_ROWS) --------------------------------------------------
    @property
    def appendix_workflows(self) -> tuple[WorkflowRow, ...]:
        """Appendix A's rows: every workflow, or beyond APPENDIX_ROWS those returning the most
        hours (in the pack's department order)."""
        if len(self.workflows) <= APPENDIX_ROWS:
            return self.workflows
        most = sorted(self.workflows, key=lambda w: -(w.hours_returned or 0))[:APPENDIX_ROWS]
        kept = {id(w) for w in most}
        return tuple(w for w in self.workflows if id(w) in kept)

    @property
    def appendix_stops(self) -> tuple[StopRow, ...]:
        return self.stops[:APPENDIX_ROWS]

    @property
    def appendix_cut(self) -> bool:
        return len(self.workflows) > APPENDIX_ROWS or len(self.stops) > APPENDIX_ROWS

    @property
    def appendix_by_department(self) -> tuple[tuple[str, int, int, int], ...]:
        """(department, workflows, listed in Appendix A, with open stop conditions)."""
        listed = {id(w) for w in self.appendix_workflows}
        return tuple(
            (d.name, len(d.workflows), sum(id(w) in listed for w in d.workflows), len(d.stops))
            for d in self.departments
        )

    @property
    def workflows_csv_uri(self) -> str:
        """Every workflow as the CSV attachment (a data URI: the pack stays one file)."""
        return "data:text/csv;base64," + base64.b64encode(board_csv(self).encode("utf-8")).decode("ascii")


def period_name(period: Period) -> str:
    """`2026 Q3` for a calendar quarter, otherwise the period's label (``Period.name``)."""
    return period.name


def previous_period(period: Period) -> Period | None:
    """The period to compare with (``Period.previous``)."""
    return period.previous()


def build_board_pack(
    source: Store | View,
    period: Period | None = None,
    as_of: datetime | None = None,
    *,
    charts: bool = True,
    precedent_highs: frozenset[str] | None = None,
) -> BoardPack:
    """The board pack for a read-model ``View`` — or for ``period`` of a store (default: the last
    complete quarter with data). ``charts=False`` skips vl-convert (figures only).
    ``precedent_highs``: the workflows raised to high by precedents (read from a store if None)."""
    if precedent_highs is None:
        precedent_highs = frozenset() if isinstance(source, View) else governance.precedent_highs(source)
    if isinstance(source, View):
        view = source
    else:
        view = build_view(source, period or default_period(*data_bounds(source))[0], as_of)
    frame = view.workflows
    workflows = tuple(_workflow_rows(frame))
    stops = tuple(
        StopRow(w, tuple((code, STOP_CONDITIONS.get(code, code)) for code in w.stop_conditions))
        for w in workflows
        if w.stop_conditions
    )
    freshness = tuple(_freshness(view.freshness, view.as_of))
    fresh_by_department = {f.department: f for f in freshness}
    sections = tuple(
        DepartmentSection(
            name=t.scope,
            totals=t,
            comparison=view.department_comparisons.get(t.scope),
            workflows=tuple(w for w in workflows if w.department == t.scope),
            stops=tuple(s for s in stops if s.workflow.department == t.scope),
            freshness=fresh_by_department.get(t.scope),
        )
        for t in view.departments
    )
    risk_counts = frame.risk.value_counts()
    svgs = render_svgs(_chart_specs(view)) if charts else {}
    return BoardPack(
        view=view,
        company_name=view.company_settings.name,
        period=view.period,
        period_name=view.name,
        generated_at=view.generated_at,
        as_of=view.as_of,
        data_through=_moment(view.data_through),
        in_progress=not view.complete and view.period.end is not None,
        period_note=view.period_note,
        policy_version=view.policy_version,
        policy_name=view.policy_name,
        policy_sha256=view.policy_sha256,
        classification_versions=view.classification_versions,
        company=view.company,
        comparison=view.comparison,
        departments=sections,
        workflows=workflows,
        stops=stops,
        paused=tuple(w for w in workflows if w.status == Status.PAUSED),
        stop_mix=_stop_mix(frame),
        human=tuple(
            HumanRule(
                risk=r, stays_human=human, approval_checkpoint=check, workflows=int(risk_counts.get(r, 0))
            )
            for r, human, check in view.human_rules
        ),
        freshness=freshness,
        decisions=_decisions(workflows, view.material_share, view.gate_designs),
        incidents=tuple(_incidents(view.incidents)),
        evidence_mix=tuple((label, int((frame.evidence == label).sum())) for label in EVIDENCE_LABELS),
        design_mix=_mix(frame.design.where(frame.saved_per_loop.notna())),
        warning_mix=_mix(frame.warnings.explode()),
        charts=svgs,
        precedent_highs=precedent_highs,
    )


def _mix(values: pd.Series) -> tuple[tuple[str, int], ...]:
    counts = values.dropna().value_counts()
    return tuple((str(k), int(v)) for k, v in counts.items())


def _chart_specs(view: View) -> dict[str, alt.TopLevelMixin]:
    specs: dict[str, alt.TopLevelMixin] = {}
    departments = pd.DataFrame([d.record("department") for d in view.departments])
    if view.company.has_estimate or view.company.at_risk_workflows:
        specs["hours"] = hours_by_department(departments, width=CHART_WIDTH)
    weekly = view.complete_weeks
    if ((weekly.phase == "after") & (weekly.banked | weekly.at_risk)).any():
        specs["weekly"] = weekly_banked(weekly, width=CHART_WIDTH + 120, height=150)
    if len(view.stop_counts):
        specs["stops"] = stop_conditions_by_department(view.stop_counts, width=CHART_WIDTH - 150)
    return specs


def _stop_mix(frame: pd.DataFrame) -> tuple[tuple[str, int, float], ...]:
    rows = []
    for code in STOP_CONDITIONS:
        holding = frame[frame.stop_conditions.map(lambda codes, c=code: c in codes)]
        if len(holding):
            rows.append((code, len(holding), float(holding[holding.at_risk].hours_returned.sum())))
    return tuple(rows)


def _decisions(
    workflows: tuple[WorkflowRow, ...], material_share: float, gate_designs: frozenset[str]
) -> Decisions:
    ready = tuple(
        (w, w.next_checkpoint or "")
        for w in sorted(workflows, key=lambda w: -(w.hours_returned or 0))
        if w.next_checkpoint and w.banked
    )
    pause = []
    for w in workflows:
        if _materially_slower(w, material_share, gate_designs):
            pause.append(
                (
                    w,
                    f"AI made the loop slower: now {-(w.current_high or 0):,.1f} to "
                    f"{-(w.current_low or 0):,.1f} min more per loop (95% interval)",
                )
            )
        elif w.banked and w.net_value_high is not None and w.net_value_high < 0:
            pause.append((w, "costs more than the time it returns (whole interval of net value below zero)"))
    fund = tuple(
        w
        for w in sorted(workflows, key=lambda w: -(w.net_value_low or 0))
        if w.banked and w.evidence == EvidenceLabel.SAVING and (w.net_value_low or 0) > 0
    )
    return Decisions(remove_checkpoint=ready, pause=tuple(pause), fund=fund[:LISTED])


def _materially_slower(w: WorkflowRow, material_share: float, gate_designs: frozenset[str]) -> bool:
    """Advice to pause needs what a saving needs to be proven: one of the policy's gate designs, and
    the whole interval of the current change a slowdown of at least ``material_share`` of the loop."""
    if w.evidence != EvidenceLabel.SLOWER or w.design not in gate_designs or w.current_high is None:
        return False
    return w.baseline_mean is not None and w.current_high < -material_share * w.baseline_mean


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _codes(value: Any) -> tuple[str, ...]:
    return tuple(str(code) for code in value)


# How a frame cell becomes a WorkflowRow field, by its column's kind (any other kind is a number).
_CELLS: dict[Kind, Callable[[Any], Any]] = {
    Kind.TEXT: _text,
    Kind.CODES: _codes,
    Kind.FLAG: bool,
    Kind.COUNT: int,
    Kind.TIME: _moment,
}
ROW_COLUMNS = declared(tuple(f.name for f in fields(WorkflowRow)))


def _workflow_rows(frame: pd.DataFrame) -> list[WorkflowRow]:
    cells: list[tuple[str, Callable[[Any], Any]]] = [
        (name, _CELLS.get(BY_NAME[name].kind, _float)) for name in ROW_COLUMNS
    ]
    return [
        WorkflowRow(**{name: cell(r[name]) for name, cell in cells})
        for r in frame[list(ROW_COLUMNS)].to_dict("records")
    ]


def _incidents(frame: pd.DataFrame) -> list[IncidentRow]:
    return [
        IncidentRow(str(r["name"]), str(r["department"]), _moment(r["recorded_at"]), str(r["note"]))
        for r in frame.to_dict("records")
    ]


def _freshness(frame: pd.DataFrame, as_of: datetime) -> list[FreshnessRow]:
    rows = []
    for r in frame.to_dict("records"):
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
def _environment() -> jinja2.Environment:
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
        stop=lambda code: STOP_LABELS.get(str(code), str(code).replace("_", " ")),
        money=fmt.money,
        share=fmt.share,
        short=short,
        n_phrase=fmt.n_phrase,
    )
    env.globals.update(
        HEADLINE_RULE=HEADLINE_RULE,
        EVIDENCE_LABELS=EVIDENCE_LABELS,
        EVIDENCE_HELP=EVIDENCE_HELP,
        DEFINITIONS=fmt.DEFINITIONS,
        STOP_CONDITIONS=STOP_CONDITIONS,
        STOP_COLORS=STOP_COLORS,
        STOP_LABELS=STOP_LABELS,
        ESTIMATE_DESIGNS=fmt.ESTIMATE_DESIGNS,
        DESIGN_HELP=DESIGN_HELP,
        WARNING_HELP=WARNING_HELP,
        INTERVALS_NOTE=fmt.intervals_note(),
    )
    return env


def render_html(pack: BoardPack) -> str:
    """The pack as one self-contained HTML document (inline CSS, charts as data URIs)."""
    return (
        _environment()
        .get_template("board.html.j2")
        .render(pack=pack, listed=LISTED, appendix_rows=APPENDIX_ROWS, attachment=ATTACHMENT)
    )


def render_pdf(pack: BoardPack) -> bytes:
    """The same HTML, printed by WeasyPrint (its print CSS: pages, running footer, page numbers)."""
    from aiops.report.printing import pdf_from_html  # WeasyPrint: imported when first printed

    return pdf_from_html(render_html(pack))


# The CSV's columns, in order: declared frame columns, each a WorkflowRow field of the same name.
BOARD_CSV_COLUMNS = declared(
    (
        *WHO,
        *STANDING,
        "stop_conditions",
        *SAMPLES,
        "period_loops_after",
        *HOW_MEASURED,
        "banked",
        "at_risk",
        *ESTIMATES,
    )
)


def board_csv(pack: BoardPack) -> str:
    """The pack's workflow table as CSV; cells a spreadsheet would run as a formula are escaped."""
    codes = {name for name in BOARD_CSV_COLUMNS if BY_NAME[name].kind is Kind.CODES}
    frame = pd.DataFrame(
        [
            {name: "; ".join(value) if name in codes else value for name, value in w.__dict__.items()}
            for w in pack.workflows
        ],
        columns=list(BOARD_CSV_COLUMNS),
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
    store: Store,
    out_path: str | Path,
    period: Period | None = None,
    as_of: datetime | None = None,
    printer: Callable[[str], bytes] | None = None,
) -> tuple[Path, View]:
    """Build the pack (default period: the last complete quarter with data) and write it as PDF or
    HTML, chosen by ``out_path``'s suffix. Returns the path and the view it rendered. ``printer``
    turns the HTML into PDF (the CLI's: a child process bounded in time and memory)."""
    path = Path(out_path)
    kind = pack_format(path)
    pack = build_board_pack(store, period, as_of)
    try:
        if kind == "PDF":
            path.write_bytes(printer(render_html(pack)) if printer else render_pdf(pack))
        else:
            path.write_text(render_html(pack), encoding="utf-8")
    except OSError as e:
        hint = "check that the folder exists and is writable"
        raise AiopsError(f"cannot write {path}: {e.strerror}", hint) from e
    return path, pack.view
