"""Proof by simulation: scenarios with a known truth, each run many times through the real path
(timing rows in DuckDB -> the cells SQL -> the design chosen -> its 95% interval).

Prints, per scenario: the design chosen, the coverage of the 95% interval, the false-"saving" rate
(the whole interval above zero when the truth is no saving), the mean estimate against the truth.
Targets: coverage 93-97% where the design applies (>= 90% seasonal and AR(1)); false saving <= 5%
with a trend and no effect; the outlier case's estimate within 5 min of the truth.

    nice python -m bench.estimates [--runs 1000] [--scenario NAME ...]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from scipy.special import stdtrit

from aiops.estimates import estimate, load_cells
from aiops.policy import EvidenceRules, load_policy

START = np.datetime64("2025-01-06T00:00")  # a Monday
WEEK_MINUTES = 7 * 24 * 60
SIGMA = 0.8
COLUMNS = ["workflow_id", "phase", "measured_at", "duration_minutes", "loops", "rework_minutes"]
COLUMNS += ["time_kind", "ai_assisted", "segment"]
TABLE = """
CREATE TABLE timing_samples (
    workflow_id VARCHAR, phase VARCHAR, measured_at TIMESTAMP, duration_minutes DOUBLE, loops BIGINT,
    rework_minutes DOUBLE, time_kind VARCHAR, ai_assisted BOOLEAN, segment VARCHAR
)
"""


@dataclass(frozen=True)
class Scenario:
    name: str
    weeks_before: int
    weeks_after: int
    per_week: int
    # mean minutes per loop: f(rng, runs, week index array per row, post, run index) -> array
    mean: Callable
    truth: float
    target: str  # which check applies: coverage / coverage90 / false_saving / near_truth
    extra: Callable | None = None  # post-processing of the rows frame (outliers, segments, AI flag)
    paired: bool = False  # also estimate without the injected rows (the outlier case)
    comparisons: Callable | None = None  # runs -> {workflow: comparison workflow}


def _rows(rng: np.random.Generator, s: Scenario, runs: int) -> pd.DataFrame:
    weeks = s.weeks_before + s.weeks_after
    per_run = weeks * s.per_week
    run = np.repeat(np.arange(runs), per_run)
    week = np.tile(np.repeat(np.arange(weeks), s.per_week), runs)
    post = week >= s.weeks_before
    offset = rng.uniform(0, WEEK_MINUTES - 60, len(run))
    mean = s.mean(rng, runs, week, post, run)
    minutes = rng.lognormal(np.log(mean) - SIGMA**2 / 2, SIGMA)
    frame = pd.DataFrame(
        {
            "workflow_id": np.char.add("run-", run.astype(str)),
            "phase": np.where(post, "after", "before"),
            "measured_at": START + (week * WEEK_MINUTES + offset).astype("timedelta64[m]"),
            "duration_minutes": minutes,
            "loops": 1,
            "rework_minutes": 0.0,
            "time_kind": "hands_on",
            "ai_assisted": pd.array([pd.NA] * len(run), dtype="boolean"),
            "segment": pd.array([None] * len(run), dtype="object"),
            "injected": False,
        }
    )
    return s.extra(rng, frame, week, post) if s.extra else frame


class DuckDb:
    """The one read method the estimates need, on a plain in-memory DuckDB."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def query_df(self, sql: str, params=None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()


def estimate_rows(
    rows: pd.DataFrame, rules: EvidenceRules, comparisons: dict[str, str] | None = None
) -> pd.DataFrame:
    """Timing rows (the columns of TABLE) -> the estimate per workflow, through the cells SQL."""
    con = duckdb.connect()
    con.execute(TABLE)
    con.register("rows_frame", rows[COLUMNS])
    con.execute("INSERT INTO timing_samples SELECT * FROM rows_frame")
    far = pd.Timestamp("2100-01-01").to_pydatetime()
    _, est = estimate(load_cells(DuckDb(con), rules, None, None, (far, far)), comparisons or {}, rules)
    con.close()
    return est


def interval(est: pd.DataFrame, level: float) -> tuple[pd.Series, pd.Series]:
    half = stdtrit(est.saved_dof.astype(float).to_numpy(), 0.5 + level / 2) * np.sqrt(
        est.saved_var.astype(float).to_numpy()
    )
    return est.saved_per_loop - half, est.saved_per_loop + half


def run(s: Scenario, runs: int, rules: EvidenceRules, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    rows = _rows(rng, s, runs)
    est = estimate_rows(rows, rules, s.comparisons(runs) if s.comparisons else None)
    est = est[~est.index.str.startswith("cmp-")]
    low, high = interval(est, rules.interval_level)
    shift = float("nan")
    if s.paired:  # the same runs without the injected loops: how far did they move the figure?
        clean = estimate_rows(rows[~rows.injected], rules).saved_per_loop.reindex(est.index)
        shift = float((est.saved_per_loop - clean).abs().max())
    return {
        "scenario": s.name,
        "runs": runs,
        "design": "/".join(sorted(est.design.unique())),
        "truth": s.truth,
        "mean_estimate": float(est.saved_per_loop.mean()),
        "coverage": float(((low <= s.truth) & (s.truth <= high)).mean()),
        "false_saving": float((low > 0).mean()) if s.truth <= 0 else float("nan"),
        "shift": shift,
        "warned": float(est.warnings.map(len).gt(0).mean()),
        "target": s.target,
    }


# -- scenarios ------------------------------------------------------------------------------------


def _flat(base: float, effect: float) -> Callable:
    return lambda rng, runs, week, post, run: np.where(post, base - effect, base)


def _seasonal(rng, runs, week, post, run):
    day = week * 7.0 + rng.uniform(0, 365, runs)[run]  # each run its own phase of the year
    return 30 * (1 + 0.15 * np.sin(2 * np.pi * day / 365.25)) - np.where(post, 6, 0)


def _trend(effect: float) -> Callable:
    # 36 -> 24 minutes over the 12 baseline weeks, the fall continuing after go-live.
    return lambda rng, runs, week, post, run: 36 - week * 1.0 - np.where(post, effect, 0)


def _ar1(rng, runs, week, post, run):
    weeks = int(week.max()) + 1
    shocks = np.zeros((runs, weeks))
    noise = rng.normal(0, 3 * np.sqrt(1 - 0.5**2), (runs, weeks))
    shocks[:, 0] = rng.normal(0, 3, runs)
    for w in range(1, weeks):
        shocks[:, w] = 0.5 * shocks[:, w - 1] + noise[:, w]
    return 30 + shocks[run, week] - np.where(post, 6, 0)


def _outliers(rng, frame, week, post):
    before = np.flatnonzero(~post)
    per_run = (~post).reshape(frame.workflow_id.nunique(), -1).sum(axis=1)[0]
    picks = before.reshape(-1, per_run)[:, :3].ravel()  # three loops of each run's baseline
    frame.loc[picks, "duration_minutes"] = 60 * 24 * 60.0  # stale 60-day tickets
    frame.loc[picks, "injected"] = True
    return frame


MIX = {"simple": (20.0, 0.8), "complex": (60.0, 0.3)}  # mean minutes, share of loops done with AI


def _mix(rng, runs, week, post, run):
    return np.ones(len(week))  # replaced in _mix_rows (segments decide the mean)


def _mix_rows(rng, frame, week, post):
    n = len(frame)
    complex_ = rng.random(n) < np.where(post, 0.5, 0.3)
    base = np.where(complex_, MIX["complex"][0], MIX["simple"][0])
    ai = post & (rng.random(n) < np.where(complex_, MIX["complex"][1], MIX["simple"][1]))
    shock = rng.normal(0, 3, (frame.workflow_id.nunique(), int(week.max()) + 1))
    run = frame.workflow_id.str.slice(4).astype(int).to_numpy()
    mean = (base + shock[run, week]).clip(min=5) * np.where(ai, 0.75, 1.0)
    frame["duration_minutes"] = rng.lognormal(np.log(mean) - SIGMA**2 / 2, SIGMA)
    frame["segment"] = np.where(complex_, "complex", "simple")
    frame["ai_assisted"] = pd.array(np.where(post, ai, pd.NA), dtype="boolean")
    return frame


def _mix_truth() -> float:
    """Saving per AI-assisted loop (25% of the segment mean) at the AI loops' mix (after: 50/50)."""
    w = {k: 0.5 * share for k, (_, share) in MIX.items()}
    return sum(w[k] * 0.25 * MIX[k][0] for k in MIX) / sum(w.values())


def _shared_shocks(rng, frame, week, post):
    """Each run also gets a comparison workflow (no AI) sharing the run's weekly AR(1) shocks and a
    trend; the treated workflow saves 6 minutes after go-live."""
    runs = frame.workflow_id.nunique()
    weeks = int(week.max()) + 1
    shocks = np.zeros((runs, weeks))
    for w in range(weeks):
        shocks[:, w] = (0.5 * shocks[:, w - 1] if w else 0) + rng.normal(0, 3, runs)
    run = frame.workflow_id.str.slice(4).astype(int).to_numpy()
    base = 40 - 0.5 * week + shocks[run, week]
    treated = frame.assign(
        duration_minutes=rng.lognormal(np.log(base - np.where(post, 6, 0)) - SIGMA**2 / 2, SIGMA)
    )
    other = frame.assign(
        workflow_id="cmp-" + frame.workflow_id.str.slice(4),
        phase="before",
        duration_minutes=rng.lognormal(np.log(base + 10) - SIGMA**2 / 2, SIGMA),
    )
    return pd.concat([treated, other], ignore_index=True)


SCENARIOS = [
    Scenario("flat lognormal, 6 min effect", 12, 12, 50, _flat(30, 6), 6.0, "coverage"),
    Scenario("flat lognormal, 3 weeks (unadjusted)", 3, 3, 50, _flat(30, 6), 6.0, "coverage"),
    Scenario("seasonal +/-15%, 6 min effect", 60, 20, 20, _seasonal, 6.0, "coverage90"),
    Scenario("trend 36->24, no effect (600/phase)", 12, 12, 50, _trend(0), 0.0, "false_saving"),
    Scenario("trend 36->24 + 5 min effect", 12, 12, 50, _trend(5), 5.0, "coverage"),
    Scenario("3 x 60-day outliers, no effect", 12, 12, 50, _flat(30, 0), 0.0, "near_truth", _outliers, True),
    Scenario("weekly AR(1) shocks rho 0.5", 26, 26, 25, _ar1, 6.0, "coverage90"),
    Scenario("concurrent, segment mix shift", 8, 12, 60, _mix, _mix_truth(), "coverage", _mix_rows),
    Scenario(
        "comparison workflow, shared AR(1) shocks + trend",
        12,
        12,
        30,
        _flat(1, 0),
        6.0,
        "coverage90",
        _shared_shocks,
        comparisons=lambda runs: {f"run-{i}": f"cmp-{i}" for i in range(runs)},
    ),
]


def verdict(r: dict) -> str:
    if r["target"] == "coverage":
        return "ok" if 0.93 <= r["coverage"] <= 0.97 else "MISS"
    if r["target"] == "coverage90":
        return "ok" if r["coverage"] >= 0.90 else "MISS"
    if r["target"] == "false_saving":
        return "ok" if r["false_saving"] <= 0.05 else "MISS"
    return "ok" if abs(r["mean_estimate"] - r["truth"]) <= 5 and r["shift"] <= 5 else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--scenario", nargs="*", help="substrings of scenario names")
    args = parser.parse_args()
    rules = load_policy().evidence
    print(
        "| scenario | runs | design | truth | mean est. | coverage | false saving | outlier shift | target |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for i, s in enumerate(SCENARIOS):
        if args.scenario and not any(k in s.name for k in args.scenario):
            continue
        t0 = time.perf_counter()
        r = run(s, args.runs, rules, seed=1000 + i)
        print(
            f"| {r['scenario']} | {r['runs']} | {r['design']} | {r['truth']:.2f} | {r['mean_estimate']:.2f} "
            f"| {r['coverage']:.3f} | {r['false_saving']:.3f} | {r['shift']:.2f} "
            f"| {r['target']}: {verdict(r)} ({time.perf_counter() - t0:.0f}s) |",
            flush=True,
        )


if __name__ == "__main__":
    main()
