"""Design and warning codes with the plain-language reason shown next to every figure."""

from __future__ import annotations

DESIGNS = ("concurrent", "comparison", "trend_adjusted", "before_after", "none")

# Each text opens with the method's name (``design_method``) and says how its 95% interval is made:
# every surface that names the designs or their intervals derives its words from here.
DESIGN_HELP = {
    "concurrent": (
        "Concurrent comparison: after go-live, loops done with and without the AI in the same weeks "
        "(and the same segment) are compared directly, so whatever else changed that week affected "
        "both. The interval is that of the weighted difference of means."
    ),
    "comparison": (
        "Difference-in-differences: the change in this workflow is compared with the change, over the "
        "same weeks, in a comparison workflow that did not adopt AI; shared shocks cancel out. The "
        "interval allows for week-to-week correlation (Newey-West)."
    ),
    "trend_adjusted": (
        "Interrupted time series: the weekly level and trend before go-live (and the season, once a "
        "year of baseline exists) are projected into the after period; the saving is the gap between "
        "that projection and what happened. The interval allows for week-to-week correlation "
        "(Newey-West)."
    ),
    "before_after": (
        "Unadjusted before/after: the plain difference between the before and after means (Welch "
        "interval), used only because there are too few weeks for a stronger design. Anything else "
        "that changed at the same time is counted as the AI's effect."
    ),
    "none": "No estimate: the workflow has no timings in one of the phases.",
}

WARNINGS = (
    "baseline_trend",
    "stale_baseline",
    "elapsed_time",
    "censored_window",
    "outliers",
    "mix_shift",
    "nonparallel_comparison",
)

WARNING_HELP = {
    "baseline_trend": (
        "The loop time was already changing week by week before go-live, so a plain before/after "
        "difference would credit (or blame) the AI for that drift."
    ),
    "stale_baseline": (
        "The baseline ended long before the period measured, so it may no longer describe how the "
        "work would be done today without AI."
    ),
    "elapsed_time": (
        "The timings are calendar time from open to close (or mostly longer than a working day), not "
        "hands-on time: the change is shown as cycle time in days and adds no hours returned."
    ),
    "censored_window": (
        "Some loops could not finish inside the export's window; only loops that had the same time to "
        "finish in both phases are compared, so long loops are left out."
    ),
    "outliers": (
        "A few loops are implausibly long (far outside the rest, on a log scale) or one loop carries a "
        "large share of a phase's time; the far ones are left out of the figure. Check them."
    ),
    "mix_shift": (
        "The mix of segments (e.g. priority or ticket type) differs between the compared groups; the "
        "after phase is reweighted to the baseline mix (concurrent: compared within each segment)."
    ),
    "nonparallel_comparison": (
        "The comparison workflow was already drifting apart from this one before go-live, so it was "
        "not used as a comparison."
    ),
}

# Governance treats these as blocking: no `proven`, `autonomous` or checkpoint removal while present.
BLOCKING_WARNINGS = frozenset({"stale_baseline", "elapsed_time", "censored_window", "outliers"})

# The designs whose `saving` may promote a workflow (before_after never does).
GATE_DESIGNS = frozenset({"concurrent", "comparison", "trend_adjusted"})


def design_method(code: str) -> str:
    """The method's name, as its ``DESIGN_HELP`` text opens: `Interrupted time series`."""
    return DESIGN_HELP[code].split(":", 1)[0]
