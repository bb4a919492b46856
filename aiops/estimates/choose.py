"""Choose each workflow's design (the strongest its data supports) and compute its warnings.

Order: concurrent > comparison > trend_adjusted > before_after. Every design gives the saving in
minutes per loop averaged over the period (hours to date) and in the run-rate window (the current
saving: status and run rate), the counterfactual mean per loop (for loops removed) and the loops it
applies to (AI-assisted loops for concurrent, all after loops otherwise).

Concurrent is trusted only when the loops left to people after go-live look like the baseline
projected past go-live; when they got harder or easier (``selection``: the AI was given another kind
of work) the figure is the intention-to-treat one, all loops after go-live against the projected
baseline, with the AI vs non-AI difference kept beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np
import pandas as pd

from aiops.estimates.checks import baseline_trend, phase_warnings, volume_step
from aiops.estimates.codes import Design, WarningCode
from aiops.estimates.concurrent import concurrent
from aiops.estimates.designs import DesignFit, WeeklySeries, comparison, trend_adjusted
from aiops.estimates.fit import Coef, difference
from aiops.estimates.phases import (
    Phases,
    as_floats,
    by_phase,
    mix_distance,
    reweighted_after,
    segment_shares,
    welch,
)
from aiops.estimates.record import NO_SAVING, Estimate, phase_records
from aiops.estimates.weekly import ComparisonWeeks, pooled_weekly, series_by_id, split, weekly_means
from aiops.policy import EvidenceRules


def estimate(
    cells: pd.DataFrame,
    comparisons: dict[str, str],
    rules: EvidenceRules,
    period_start: datetime | None = None,
) -> list[Estimate]:
    """One record per workflow of ``cells`` (its phase statistics included)."""
    if cells.empty:
        return []
    inputs = _Inputs(cells, by_phase(cells), rules)
    warnings = {w: set(codes) for w, codes in phase_warnings(inputs.phases, rules, period_start).items()}
    selected = _selection(cells, inputs)
    concurrent_ids = set(inputs.conc.index) - selected
    weeks = weekly_means(cells, inputs.shares, inputs.mixed - concurrent_ids)
    compared = cells[cells.workflow_id.isin(set(comparisons.values()))] if comparisons else None
    # No comparison workflow among these cells (an upload's own workflows, mostly): no series.
    others = series_by_id(pooled_weekly(compared)) if compared is not None and len(compared) else {}
    # Censored exports: weekly means by close date are shaped by the window itself (early weeks
    # can only hold short loops), so only the restricted before/after comparison is sound.
    censored = inputs.either("censored")
    fits: dict[str, _Chosen] = {}
    for workflow_id, series in split(weeks[weeks.workflow_id.isin(inputs.both - censored)]):
        other = others.get(comparisons.get(workflow_id, ""))
        chosen = _design(workflow_id in concurrent_ids, series, other, rules)
        warnings[workflow_id] |= chosen.warnings
        if workflow_id not in inputs.segmented and volume_step(series, rules):
            warnings[workflow_id].add(WarningCode.MIX_SHIFT)
        fits[workflow_id] = chosen
    for workflow_id in selected:
        warnings[workflow_id].add(WarningCode.SELECTION)
    return [_record(w, fits.get(w), warnings[w], inputs) for w in inputs.phases.index]


class _Inputs:
    """What every workflow's record is built from (computed once for all workflows)."""

    def __init__(self, cells: pd.DataFrame, phases: Phases, rules: EvidenceRules) -> None:
        self.rules = rules
        self.phases = phases
        self.before, self.after = phase_records(phases.before), phase_records(phases.after)
        self.both = set(phases.index[phases.both])
        self.shares = segment_shares(cells, "phase") if cells.segment.notna().any() else None
        shares = self.shares
        self.segmented = (
            set()
            if shares is None or "before" not in shares or "after" not in shares
            else set(shares.dropna(subset=["before", "after"], how="any").index.get_level_values(0))
        )
        distance = mix_distance(shares, "before", "after") if shares is not None else pd.Series(dtype=float)
        self.mixed = set(distance[distance > rules.mix_shift_distance].index) & self.both
        after = cells.phase == "after"
        self.cells = cells
        self.current = current = cells[~after | cells.current]
        self.early = early = cells[~after | ~cells.current]
        if cells.ai_assisted.notna().any():
            self.conc = concurrent(cells, rules.min_concurrent_weeks, rules.min_samples_per_phase)
            # Read for concurrent workflows only, and each workflow's figures come from its own
            # rows: the other workflows' rows are left out (none at all, mostly).
            ids = self.conc.index
            self.conc_now = concurrent(current[current.workflow_id.isin(ids)], 1, 2, treated=False)
            self.conc_early = concurrent(early[early.workflow_id.isin(ids)], 1, 2, treated=False)
        else:  # no loop says whether the AI helped: no workflow has a concurrent design
            self.conc = self.conc_now = self.conc_early = pd.DataFrame()
        self.elapsed = self.either("elapsed")

    # The unadjusted difference and the after phase's means, now and early: read only by the
    # workflows left with neither a concurrent design nor a fit, so computed on first read.
    @cached_property
    def plain(self) -> pd.DataFrame:
        return _before_after(self.cells, self.phases, self.shares, self.mixed)

    @cached_property
    def plain_now(self) -> pd.DataFrame:
        return _before_after(self.current, self.now, self.shares, self.mixed)

    @cached_property
    def after_now(self) -> pd.DataFrame:
        return _after_means(self.now.after)

    @cached_property
    def after_early(self) -> pd.DataFrame:
        early_after = self.early[self.early.phase == "after"]
        return _after_means(by_phase(early_after).after if len(early_after) else None)

    @cached_property
    def now(self) -> Phases:
        return by_phase(self.current)

    def either(self, flag: str) -> set[str]:
        """Workflows whose ``flag`` is set in either phase."""
        before, after = self.phases.before, self.phases.after
        return set(self.phases.index[before[flag].eq(True) | after[flag].eq(True)])


@dataclass(frozen=True, slots=True)
class _Chosen:
    """A workflow's design on its weekly means, its fit (None: the unadjusted difference) and the
    warnings found on the way."""

    design: Design
    fit: DesignFit | None = None
    warnings: frozenset[WarningCode] = frozenset()


def _record(
    workflow_id: str, chosen: _Chosen | None, warnings: set[WarningCode], inputs: _Inputs
) -> Estimate:
    rules = inputs.rules
    before, after = inputs.before[workflow_id], inputs.after[workflow_id]
    chosen = chosen or _Chosen(design=Design.BEFORE_AFTER)
    design, fit = chosen.design, chosen.fit
    treated, recent = float(after.period_loops), float(after.recent_loops)
    conc = _coef(inputs.conc, workflow_id)
    if design is Design.CONCURRENT:
        row = inputs.conc.loc[workflow_id]
        saving, baseline = conc or NO_SAVING, float(row.baseline)
        current = _coef(inputs.conc_now, workflow_id) or saving
        early = _coef(inputs.conc_early, workflow_id)
        fade = difference(early, current) if early is not None and current is not saving else None
        treated, recent = float(row.period_loops), float(row.recent_loops)
        if row.mix > rules.mix_shift_distance:
            warnings.add(WarningCode.MIX_SHIFT)
    elif fit is not None:
        saving, current, fade, baseline = fit.saving, fit.current, fit.fade, fit.baseline
    else:
        design = design if workflow_id in inputs.both else Design.NONE
        plain = inputs.plain.loc[workflow_id]
        saving = Coef(value=plain["value"], var=plain["var"], dof=plain["dof"])
        baseline = float(plain["baseline"])
        current = _coef(inputs.plain_now, workflow_id) or saving
        early, now = _coef(inputs.after_early, workflow_id), _coef(inputs.after_now, workflow_id)
        fade = difference(now, early) if early is not None and now is not None else None
    if design is not Design.CONCURRENT and workflow_id in inputs.mixed:
        warnings.add(WarningCode.MIX_SHIFT)
    if fade is not None and fade.conf_int(FADING_LEVEL).low > 0:
        warnings.add(WarningCode.FADING)
    return Estimate(
        workflow_id=workflow_id,
        design=design,
        saving=saving,
        current=current,
        baseline_mean=baseline,
        treated_loops=treated,
        treated_recent_loops=recent,
        warnings=frozenset(warnings),
        segmented=workflow_id in inputs.segmented,
        elapsed=workflow_id in inputs.elapsed,
        before=before,
        after=after,
        concurrent=conc if WarningCode.SELECTION in warnings else None,
    )


def _coef(frame: pd.DataFrame, workflow_id: str) -> Coef | None:
    if workflow_id not in frame.index:
        return None
    row = frame.loc[workflow_id]
    value, var = float(row["value"]), float(row["var"])
    if not (np.isfinite(value) and np.isfinite(var)):
        return None
    return Coef(value=value, var=var, dof=float(row["dof"]))


def _design(
    has_concurrent: bool,
    series: WeeklySeries,
    other: ComparisonWeeks | None,
    rules: EvidenceRules,
) -> _Chosen:
    found: set[WarningCode] = set()
    design, fit = (Design.CONCURRENT if has_concurrent else Design.BEFORE_AFTER), None
    if not has_concurrent and other is not None:
        candidate = comparison(series, other.day, other.y, rules.min_comparison_weeks)
        if candidate is not None:
            trend = candidate.pre_trend
            if trend is not None and trend.p_value < rules.trend_p_value:
                found.add(WarningCode.NONPARALLEL_COMPARISON)
            else:
                design, fit = Design.COMPARISON, candidate
    if design is Design.BEFORE_AFTER and _weeks_ok(series, rules):
        design, fit = Design.TREND_ADJUSTED, trend_adjusted(series, _seasonal(series, rules))
    pre_trend = fit.pre_trend if design is Design.TREND_ADJUSTED and fit is not None else None
    if baseline_trend(series, pre_trend, rules):
        found.add(WarningCode.BASELINE_TREND)
    return _Chosen(design=design, fit=fit, warnings=frozenset(found))


def _weeks_ok(series: WeeklySeries, rules: EvidenceRules) -> bool:
    return series.weeks(False) >= rules.min_weeks_before and series.weeks(True) >= rules.min_weeks_after


def _seasonal(series: WeeklySeries, rules: EvidenceRules) -> bool:
    before_days = series.day[~series.post]
    return bool((before_days.max() - before_days.min()) / 7 + 1 >= rules.seasonal_weeks)


# Selection is tested against the baseline's mean week when the baseline has no trend (precise:
# nothing is extrapolated), else against the baseline projected past go-live. Loops left to
# people that got harder make the AI vs non-AI difference a false saving, so "harder" is raised at
# one-sided 5%; "easier" (the difference then understates the saving) only at one-sided 0.5%.
HARDER_LEVEL = 0.80
# Fading is raised when the early weeks' saving is above the current one at one-sided 5%.
FADING_LEVEL = 0.90
EASIER_LEVEL = 0.99


def _selection(cells: pd.DataFrame, inputs: _Inputs) -> set[str]:
    """Concurrent workflows whose non-AI loops after go-live differ from the baseline (at the
    baseline segment mix when segments exist): the AI was given another kind of work."""
    ids = set(inputs.conc.index)
    if not ids:
        return set()
    by_hand = cells.ai_assisted.astype("boolean").eq(False).fillna(False)
    rows = cells[cells.workflow_id.isin(ids) & ((cells.phase == "before") | by_hand)]
    weeks = weekly_means(rows, inputs.shares, ids & inputs.segmented)
    return {w for w, series in split(weeks) if _left_to_people_differ(series, inputs.rules)}


def _left_to_people_differ(series: WeeklySeries, rules: EvidenceRules) -> bool:
    """The non-AI loops' gap to the baseline (baseline minus non-AI) is off: against the baseline's
    mean week when the baseline has no trend, else against its projection."""
    fit = trend_adjusted(series, seasonal=False) if _weeks_ok(series, rules) else None
    if min(series.weeks(False), series.weeks(True)) < 2:
        return False
    if baseline_trend(series, fit.pre_trend if fit else None, rules):
        if fit is None:
            return False
        gap = fit.saving
    else:
        gap = _weekly_difference(series)
    return bool(gap.conf_int(HARDER_LEVEL).high < 0 or gap.conf_int(EASIER_LEVEL).low > 0)


def _weekly_difference(series: WeeklySeries) -> Coef:
    """Mean of the before weeks minus mean of the after weeks, each week one observation."""
    return difference(_week_mean(series.y[~series.post]), _week_mean(series.y[series.post]))


def _week_mean(y: np.ndarray) -> Coef:
    """The mean of weekly means, each week one observation."""
    return Coef(value=float(y.mean()), var=float(y.var(ddof=1) / len(y)), dof=float(len(y) - 1))


def _after_means(after: pd.DataFrame | None) -> pd.DataFrame:
    """Per workflow with after loops: the after phase's mean per loop with its variance (value,
    var, dof), from its phase statistics (a phase frame of ``by_phase``; None: no after loops)."""
    if after is None:
        return pd.DataFrame(columns=["value", "var", "dof"])
    kept = after.samples.notna().to_numpy()  # in numpy: a frame's selection and astype cost ~0.5 ms
    value, var = as_floats(after.mean_per_loop)[kept], as_floats(after.var_mean)[kept]
    dof = np.maximum(as_floats(after.samples)[kept] - 1, 1)
    return pd.DataFrame({"value": value, "var": var, "dof": dof}, index=after.index[kept])


def _before_after(
    cells: pd.DataFrame, phases: Phases, shares: pd.DataFrame | None, mixed: set[str]
) -> pd.DataFrame:
    """The unadjusted difference for every workflow (value, var, dof, baseline); the after phase at
    the baseline segment mix where the mix shifted."""
    before, after = phases.before, phases.after
    ma, va = as_floats(after.mean_per_loop), as_floats(after.var_mean)
    if mixed and shares is not None:
        adjusted = reweighted_after(cells, shares, mixed).reindex(phases.index)
        for values, column in ((ma, adjusted.mean_per_loop), (va, adjusted.var_mean)):
            found = as_floats(column)
            values[:] = np.where(np.isnan(found), values, found)
    nb, na = as_floats(before.samples, 0.0), as_floats(after.samples, 0.0)
    mb, vb = as_floats(before.mean_per_loop), as_floats(before.var_mean)
    plain = welch(mb, vb, nb, ma, va, na)
    return pd.DataFrame(
        {"value": plain.value, "var": plain.var, "dof": plain.dof, "baseline": mb},
        index=phases.index,
    )
