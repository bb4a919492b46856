"""Design, warning and evidence codes, with the plain-language reason shown next to every figure."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Design(StrEnum):
    """How a saving was measured, strongest first (a str: compares equal to its code)."""

    CONCURRENT = "concurrent"
    COMPARISON = "comparison"
    TREND_ADJUSTED = "trend_adjusted"
    BEFORE_AFTER = "before_after"
    NONE = "none"


class WarningCode(StrEnum):
    """A named reason a figure may mislead (a str: compares equal to its code)."""

    BASELINE_TREND = "baseline_trend"
    STALE_BASELINE = "stale_baseline"
    ELAPSED_TIME = "elapsed_time"
    CENSORED_WINDOW = "censored_window"
    OUTLIERS = "outliers"
    MIX_SHIFT = "mix_shift"
    NONPARALLEL_COMPARISON = "nonparallel_comparison"
    SELECTION = "selection"
    FADING = "fading"
    LATE_DATA = "late_data"


class EvidenceLabel(StrEnum):
    """What the interval of a workflow's saving says (a str: compares equal to its label)."""

    INSUFFICIENT = "insufficient"
    INCONCLUSIVE = "inconclusive"
    SAVING = "saving"
    SLOWER = "slower"


DESIGNS = tuple(Design)
EVIDENCE_LABELS = tuple(EvidenceLabel)

# Each text opens with the method's name (``design_method``) and says how its 95% interval is made:
# every surface that names the designs or their intervals derives its words from here.
DESIGN_HELP: dict[str, str] = {
    Design.CONCURRENT: (
        "Concurrent comparison: after go-live, loops done with and without the AI in the same weeks "
        "(and the same segment) are compared directly, so whatever else changed that week affected "
        "both. The interval is that of the weighted difference of means."
    ),
    Design.COMPARISON: (
        "Difference-in-differences: the change in this workflow is compared with the change, over the "
        "same weeks, in a comparison workflow that did not adopt AI; shared shocks cancel out. The "
        "interval allows for week-to-week correlation (Newey-West or an AR(1) model, whichever is wider)."
    ),
    Design.TREND_ADJUSTED: (
        "Interrupted time series: the weekly level and trend before go-live (and the season, once a "
        "year of baseline exists) are fitted on the baseline weeks and projected into the after period; "
        "each after week's gap to that projection is its saving, so an effect that fades shows as it is "
        "now. The interval allows for week-to-week correlation (Newey-West or an AR(1) model, whichever "
        "is wider)."
    ),
    Design.BEFORE_AFTER: (
        "Unadjusted before/after: the plain difference between the before and after means (Welch "
        "interval), used only because there are too few weeks for a stronger design. Anything else "
        "that changed at the same time is counted as the AI's effect."
    ),
    Design.NONE: "No estimate: the workflow has no timings in one of the phases.",
}

WARNINGS = tuple(WarningCode)

WARNING_HELP: dict[str, str] = {
    WarningCode.BASELINE_TREND: (
        "The loop time was already changing week by week before go-live, so a plain before/after "
        "difference would credit (or blame) the AI for that drift."
    ),
    WarningCode.STALE_BASELINE: (
        "The baseline ended long before the period measured, so it may no longer describe how the "
        "work would be done today without AI."
    ),
    WarningCode.ELAPSED_TIME: (
        "The timings look like calendar time from open to close, not hands-on work (uploaded as "
        "elapsed, or shaped like it: many loops longer than a working day, or even the quickest "
        "quarter of loops taking hours): the change is shown as cycle time and adds no hours returned."
    ),
    WarningCode.CENSORED_WINDOW: (
        "Some loops could not finish inside the export's window: only loops that had the same time to "
        "finish in both phases are compared (the after window starts at go-live), so the longest loops "
        "are left out; the figure says how many each phase lost."
    ),
    WarningCode.OUTLIERS: (
        "A few loops are implausibly long (far outside the rest on a log scale, or longer than a "
        "working day in a workflow of minutes: a timer left running) or one loop carries a large share "
        "of a phase's time; the far ones are left out of the figure. Check them."
    ),
    WarningCode.MIX_SHIFT: (
        "The kind or amount of work changed at go-live: the segment mix (priority, ticket type) differs "
        "between the compared groups, or without a segment column the loops per week stepped at go-live. "
        "With segments the after phase is reweighted to the baseline mix; "
        "without them the figure may be a change of work, not a saving: upload a segment column."
    ),
    WarningCode.NONPARALLEL_COMPARISON: (
        "The comparison workflow was already drifting apart from this one before go-live, so it was "
        "not used as a comparison."
    ),
    WarningCode.SELECTION: (
        "The loops left to people after go-live got harder or easier than the baseline projects: the AI "
        "was given a different kind of work, so AI versus non-AI loops is not a fair comparison. The "
        "figure is all loops after go-live against the projected baseline (intention to treat)."
    ),
    WarningCode.FADING: (
        "The current saving (the last weeks of data) is clearly below the saving of the first weeks "
        "after go-live: the effect is wearing off. Status and run rate follow the current saving."
    ),
    WarningCode.LATE_DATA: (
        "This workflow's data ends before the period's (or the rest of the company's) does: its run "
        "rate and value cover only the weeks with data, and AI cost for the weeks without data is "
        "shown apart."
    ),
}

# Governance treats these as blocking: no `proven`, `autonomous` or checkpoint removal while present.
BLOCKING_WARNINGS = frozenset(
    {
        WarningCode.STALE_BASELINE,
        WarningCode.ELAPSED_TIME,
        WarningCode.CENSORED_WINDOW,
        WarningCode.OUTLIERS,
        WarningCode.SELECTION,
        WarningCode.FADING,
    }
)

# The designs whose `saving` may promote a workflow (before_after never does).
GATE_DESIGNS = frozenset({Design.CONCURRENT, Design.COMPARISON, Design.TREND_ADJUSTED})

# The one sentence every surface shows beside the headline.
HEADLINE_RULE = (
    "The headline counts only proven hours: workflows whose saving is measured by an adjusted design "
    "(concurrent, comparison or trend-adjusted), whose whole 95% interval is a saving, and that carry "
    "no blocking warning; every other saving is shown beside it as not yet proven, never added in."
)


def blocking(warnings: Iterable[str], segmented: bool = False) -> frozenset[WarningCode]:
    """The warnings that keep a saving out of the headline and out of promotion. ``mix_shift``
    blocks unless segments explain it (the after phase was reweighted to the baseline mix)."""
    codes = {WarningCode(w) for w in warnings}
    extra = set() if segmented else {WarningCode.MIX_SHIFT}
    return frozenset(codes & (BLOCKING_WARNINGS | extra))


def is_proven(label: str, design: str, warnings: Iterable[str], segmented: bool, gate: Iterable[str]) -> bool:
    """The rule of the headline and of promotion: `saving` by a gate design, nothing blocking."""
    return label == EvidenceLabel.SAVING and design in set(gate) and not blocking(warnings, segmented)


def design_method(code: str) -> str:
    """The method's name, as its ``DESIGN_HELP`` text opens: `Interrupted time series`."""
    return DESIGN_HELP[code].split(":", 1)[0]
