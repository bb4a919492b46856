"""Altair chart specs with one theme, shared by the dashboard and the board pack.

Each function takes a DataFrame from ``aiops.metrics`` and returns a finished chart; intervals are
drawn wherever an estimate is, and tooltips carry n and the evidence label.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import pandas as pd

from aiops.estimates.codes import EvidenceLabel
from aiops.views.columns import HOURS_AT_RISK, HOURS_RETURNED

if TYPE_CHECKING:  # imported where a chart is built (0.18 s by `python -X importtime`)
    import altair as alt

# A chart keeps its kind through ``themed`` (a layer stays a layer).
TopLevel = TypeVar("TopLevel", bound="alt.TopLevelMixin")

FONT = "Inter, Segoe UI, Helvetica, Arial, sans-serif"
INK, MUTED, GRID = "#1f2933", "#616e7c", "#e4e7eb"
PRIMARY = "#2563eb"
EVIDENCE_COLORS: dict[str, str] = {
    EvidenceLabel.SAVING: "#15803d",
    EvidenceLabel.INCONCLUSIVE: "#a16207",
    EvidenceLabel.SLOWER: "#b91c1c",
    EvidenceLabel.INSUFFICIENT: "#9aa5b1",
}
# Five stop conditions, five hues far apart (not five shades of red), readable labels in legends.
STOP_COLORS = {
    "no_owner": "#7c3aed",
    "customer_data_without_review": "#0e7490",
    "changes_permissions_billing_production": "#c2410c",
    "success_not_measurable": "#ca8a04",
    "failure_invisible": "#475569",
}
STOP_LABELS = {
    "no_owner": "No owner",
    "customer_data_without_review": "Customer data without review",
    "changes_permissions_billing_production": "Changes permissions, billing or production",
    "success_not_measurable": "Success not measurable",
    "failure_invisible": "Failure would go unnoticed",
}
BANKED, AT_RISK = PRIMARY, "#c2410c"
PHASE_COLORS = {"before": "#9aa5b1", "after": PRIMARY}


def themed(chart: TopLevel, title: str | None = None) -> TopLevel:
    """The Saved Loops look: quiet axes, one font, no chart border."""
    import altair as alt

    if title:
        chart = chart.properties(title=alt.Title(title, anchor="start", fontSize=14, fontWeight=600))
    return (
        chart.configure(font=FONT, background="white")
        .configure_view(stroke=None)
        .configure_axis(
            labelColor=MUTED,
            titleColor=MUTED,
            gridColor=GRID,
            domainColor=GRID,
            tickColor=GRID,
            labelFontSize=11,
            titleFontSize=11,
            titleFontWeight=500,
        )
        .configure_legend(
            labelColor=INK, titleColor=MUTED, labelFontSize=11, titleFontSize=11, orient="bottom"
        )
        .configure_title(color=INK)
    )


def inline(frame: pd.DataFrame) -> alt.InlineData:
    """A chart's rows, inline in its spec as JSON values (dates as ISO text, NaN as null): the spec
    stands alone (the dashboard keeps it, vl-convert renders it) and needs no data transformer,
    whose switch is global to the process and whose default refuses more than 5,000 rows."""
    import altair as alt
    from altair.utils.data import to_values

    return alt.InlineData(values=to_values(frame)["values"])


def _scale(colors: dict[str, str]) -> alt.Scale:
    import altair as alt

    return alt.Scale(domain=list(colors), range=list(colors.values()))


def stop_conditions_by_department(stops: pd.DataFrame, width: int | str = "container") -> alt.Chart:
    """Open stop conditions per department, by condition (``stops``: department, code, workflows),
    in words ("Changes permissions, billing or production"), one distinct hue each."""
    import altair as alt

    data = stops.assign(condition=stops.code.map(lambda c: STOP_LABELS.get(c, str(c))))
    labels = {STOP_LABELS[c]: color for c, color in STOP_COLORS.items()}
    return (
        alt.Chart(inline(data))
        .mark_bar()
        .encode(
            y=alt.Y("department:N", title=None, sort="-x"),
            x=alt.X("sum(workflows):Q", title="open stop conditions", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "condition:N",
                scale=_scale(labels),
                title="stop condition",
                legend=alt.Legend(columns=1, labelLimit=320),
            ),
            tooltip=[
                alt.Tooltip("department:N"),
                alt.Tooltip("condition:N", title="stop condition"),
                alt.Tooltip("workflows:Q", title="workflows"),
                alt.Tooltip("names:N", title="which"),
            ],
        )
        .properties(width=width, height=alt.Step(26))
    )


def hours_by_department(departments: pd.DataFrame, width: int | str = "container") -> alt.Chart:
    """Banked hours per department with the 95% interval, and hours at risk (paused workflows)
    beside them — two bars, never stacked, so at-risk hours are never read as added in.
    ``departments``: department, hours_returned(_low/_high), hours_at_risk(_low/_high)."""
    import altair as alt

    rows = [
        {"department": r["department"], "kind": kind, "hours": r[hours], "low": r[low], "high": r[high]}
        for r in departments.to_dict("records")
        for kind, (hours, low, high) in (("banked", HOURS_RETURNED), ("at risk (paused)", HOURS_AT_RISK))
    ]
    data = pd.DataFrame(rows, columns=["department", "kind", "hours", "low", "high"])
    color = alt.Color("kind:N", scale=_scale({"banked": BANKED, "at risk (paused)": AT_RISK}), title=None)
    base = alt.Chart(inline(data)).encode(
        y=alt.Y(
            "department:N", title=None, sort=alt.EncodingSortField("hours", op="sum", order="descending")
        ),
        yOffset=alt.YOffset("kind:N", sort=["banked", "at risk (paused)"]),
    )
    bars = base.mark_bar(opacity=0.85, cornerRadiusEnd=2).encode(
        x=alt.X("hours:Q", title="hours returned in the period"),
        color=color,
        tooltip=[
            "department:N",
            alt.Tooltip("kind:N", title="hours"),
            alt.Tooltip("hours:Q", format=",.0f", title="hours"),
            alt.Tooltip("low:Q", format=",.0f", title="95% low"),
            alt.Tooltip("high:Q", format=",.0f", title="95% high"),
        ],
    )
    whiskers = base.mark_rule(color=INK, strokeWidth=1.2).encode(x="low:Q", x2="high:Q")
    return (bars + whiskers).properties(width=width, height=alt.Step(13))


def weekly_banked(weekly: pd.DataFrame, width: int | str = "container", height: int = 200) -> alt.Chart:
    """Hours returned per week, company-wide: banked (with its 95% band) and, as a dashed line,
    hours at risk from paused workflows. ``weekly``: the view's weekly frame."""
    import altair as alt

    after = weekly[(weekly.phase == "after") & (weekly.banked | weekly.at_risk)]
    after = after.assign(kind=after.banked.map({True: "banked", False: "at risk (paused)"}))
    data = after.groupby(["week", "kind"], as_index=False)[
        ["hours_returned", "hours_returned_low", "hours_returned_high", "samples"]
    ].sum()
    scale = _scale({"banked": BANKED, "at risk (paused)": AT_RISK})
    base = alt.Chart(inline(data)).encode(x=alt.X("week:T", title="week", axis=alt.Axis(format="%d %b")))
    band = (
        base.transform_filter(alt.datum.kind == "banked")
        .mark_area(opacity=0.18, color=BANKED)
        .encode(y="hours_returned_low:Q", y2="hours_returned_high:Q")
    )
    line = base.mark_line(point=True, strokeWidth=2).encode(
        y=alt.Y("hours_returned:Q", title="hours returned per week"),
        color=alt.Color("kind:N", scale=scale, title=None),
        strokeDash=alt.StrokeDash(
            "kind:N",
            scale=alt.Scale(domain=["banked", "at risk (paused)"], range=[[1, 0], [5, 3]]),
            legend=None,
        ),
        tooltip=[
            alt.Tooltip("week:T", format="%d %b %Y"),
            alt.Tooltip("kind:N", title="hours"),
            alt.Tooltip("hours_returned:Q", format=",.1f", title="hours"),
            alt.Tooltip("hours_returned_low:Q", format=",.1f", title="95% low"),
            alt.Tooltip("hours_returned_high:Q", format=",.1f", title="95% high"),
            alt.Tooltip("samples:Q", title="n (after samples)"),
        ],
    )
    return (band + line).properties(width=width, height=height)


def weekly_hours(
    weekly: pd.DataFrame, color_by: str | None = "department", width: int | str = "container"
) -> alt.Chart:
    """Hours returned per week (after-phase loops x saving per loop), with the 95% band."""
    import altair as alt

    after = weekly[weekly.phase == "after"]
    keys = ["week"] + ([color_by] if color_by else [])
    data = after.groupby(keys, as_index=False)[
        ["hours_returned", "hours_returned_low", "hours_returned_high", "loops", "samples"]
    ].sum()
    base = alt.Chart(inline(data)).encode(x=alt.X("week:T", title="week", axis=alt.Axis(format="%d %b")))
    color = alt.Color(f"{color_by}:N", title=color_by.replace("_", " ")) if color_by else alt.value(PRIMARY)
    band = base.mark_area(opacity=0.18).encode(
        y="hours_returned_low:Q", y2="hours_returned_high:Q", color=color
    )
    line = base.mark_line(point=True, strokeWidth=2).encode(
        y=alt.Y("hours_returned:Q", title="hours returned per week"),
        color=color,
        tooltip=[
            alt.Tooltip("week:T", format="%d %b %Y"),
            *([alt.Tooltip(f"{color_by}:N")] if color_by else []),
            alt.Tooltip("hours_returned:Q", format=",.1f", title="hours"),
            alt.Tooltip("hours_returned_low:Q", format=",.1f", title="95% low"),
            alt.Tooltip("hours_returned_high:Q", format=",.1f", title="95% high"),
            alt.Tooltip("samples:Q", title="n (after samples)"),
        ],
    )
    return (band + line).properties(width=width, height=240)


def minutes_per_loop_by_week(weekly: pd.DataFrame, width: int | str = "container") -> alt.Chart:
    """One workflow's mean minutes per loop by week, before and after go-live."""
    import altair as alt

    return (
        alt.Chart(inline(weekly))
        .mark_line(point=True)
        .encode(
            x=alt.X("week:T", title="week", axis=alt.Axis(format="%d %b")),
            y=alt.Y("mean_per_loop:Q", title="minutes per loop (mean)"),
            color=alt.Color("phase:N", scale=_scale(PHASE_COLORS), title="phase"),
            tooltip=[
                alt.Tooltip("week:T", format="%d %b %Y"),
                "phase:N",
                alt.Tooltip("mean_per_loop:Q", format=",.1f", title="minutes per loop"),
                alt.Tooltip("samples:Q", title="n"),
            ],
        )
        .properties(width=width, height=220)
    )


def before_after_distribution(samples: pd.DataFrame, width: int | str = "container") -> alt.Chart:
    """Minutes per loop before and after, as box plots on a log scale (loop times are skewed)."""
    import altair as alt

    data = samples[samples.minutes_per_loop > 0]
    return (
        alt.Chart(inline(data))
        .mark_boxplot(extent="min-max", size=28)
        .encode(
            y=alt.Y("phase:N", sort=["before", "after"], title=None),
            x=alt.X("minutes_per_loop:Q", scale=alt.Scale(type="log"), title="minutes per loop (log scale)"),
            color=alt.Color("phase:N", scale=_scale(PHASE_COLORS), legend=None),
        )
        .properties(width=width, height=110)
    )


def saving_intervals(workflows: pd.DataFrame, width: int | str = "container") -> alt.Chart:
    """Minutes saved per loop per workflow: the estimate and its 95% interval, by evidence."""
    import altair as alt

    data = workflows.dropna(subset=["saved_per_loop"])[
        ["name", "saved_per_loop", "saved_low", "saved_high", "evidence", "samples_before", "samples_after"]
    ]
    base = alt.Chart(inline(data)).encode(y=alt.Y("name:N", sort="-x", title=None))
    color = alt.Color("evidence:N", scale=_scale(EVIDENCE_COLORS), title="evidence")
    rules = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("saved_low:Q", title="minutes saved per loop (95% interval)"), x2="saved_high:Q", color=color
    )
    points = base.mark_point(filled=True, size=60).encode(
        x="saved_per_loop:Q",
        color=color,
        tooltip=[
            "name:N",
            alt.Tooltip("saved_per_loop:Q", format=",.1f", title="saved per loop"),
            alt.Tooltip("saved_low:Q", format=",.1f", title="95% low"),
            alt.Tooltip("saved_high:Q", format=",.1f", title="95% high"),
            "evidence:N",
            alt.Tooltip("samples_before:Q", title="n before"),
            alt.Tooltip("samples_after:Q", title="n after"),
        ],
    )
    zero = (
        alt.Chart(alt.InlineData(values=[{"x": 0}])).mark_rule(color=MUTED, strokeDash=[4, 3]).encode(x="x:Q")
    )
    return (rules + points + zero).properties(width=width, height=alt.Step(22))


def adoption_share(
    adoption: pd.DataFrame, names: dict[str, str] | None = None, width: int | str = "container"
) -> alt.Chart:
    """Per week: the share of after-phase loops done with AI (among loops whose upload records it),
    one line per workflow (``names``: id → name) or, without ``names``, per department.
    ``adoption``: workflow_id, department, week, ai_loops, adoption_loops."""
    import altair as alt

    if names is None:
        data = adoption.groupby(["department", "week"], as_index=False)[["ai_loops", "adoption_loops"]].sum()
        data = data.assign(series=data.department)
    else:
        data = adoption.assign(series=adoption.workflow_id.map(lambda w: names.get(w, w)))
    data = data.assign(share=data.ai_loops / data.adoption_loops)
    title = "department" if names is None else "workflow"
    return (
        alt.Chart(inline(data))
        .mark_line(point=True)
        .encode(
            x=alt.X("week:T", title="week", axis=alt.Axis(format="%d %b")),
            y=alt.Y(
                "share:Q",
                title="loops done with AI",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("series:N", title=title),
            tooltip=[
                alt.Tooltip("week:T", format="%d %b %Y"),
                alt.Tooltip("series:N", title=title),
                alt.Tooltip("share:Q", format=".0%", title="with AI"),
                alt.Tooltip("adoption_loops:Q", title="loops recorded"),
            ],
        )
        .properties(width=width, height=200)
    )
