"""The demo company: Northwind Labs, a fictional 400-person software company, as data.

Its workflows are ``workflows.csv`` and its timings are recipes in ``northwind.toml`` (how each
workflow's loops behave, and the cases that teach each measurement design and warning). Both enter
through the normal import paths: the workflows file as an inventory import, the timings as the
exports a department lead would upload. Deterministic: a fixed seed and calendar (``as_of``).
"""

from __future__ import annotations

import functools
import tempfile
import tomllib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from aiops import governance
from aiops.auth import Actor
from aiops.errors import Conflict
from aiops.ingest.timings import import_timings
from aiops.ingest.workflows import import_workflows
from aiops.inventory import record_incident, remove_checkpoint, sign_off
from aiops.store import Store
from aiops.store.postgres import is_postgres
from aiops.views.company import seed_demo_money
from aiops.workflow import Workflow

AS_OF = date(2026, 11, 16)  # a Monday: the demo's "last upload" week
COMPANY = "Northwind Labs"
DOMAIN = "northwind.example"
DATA = resources.files("aiops.demo")
CONFIG = tomllib.loads(DATA.joinpath("northwind.toml").read_text("utf-8"))
LEADS: dict[str, str] = CONFIG["leads"]
SEED: int = CONFIG["seed"]


def email(name: str) -> str:
    return f"{name.lower().replace(' ', '.')}@{DOMAIN}"


class Segment(BaseModel):
    name: str
    factor: float
    before: float
    after: float
    assisted: float | None = None


class Outliers(BaseModel):
    count: int
    minutes: float
    phase: Literal["before", "after"] = "before"


class Recipe(BaseModel):
    """How one workflow's loops behave (the fields are described in ``northwind.toml``)."""

    model_config = ConfigDict(extra="forbid")

    workflow: str
    minutes: float
    ratio: float
    sigma: float = 0.7
    per_week: int = 12
    go_live_week: int = 38
    after_per_week: int | None = None
    loops_per_row: int = 1
    rework_share: float = 0.0
    rework_minutes: float = 0.0
    weeks: int = CONFIG["weeks"]
    teaches: str = ""
    trend: float = 0.0
    season: float = 0.0
    shock: str | None = None
    baseline_weeks: int | None = None
    outliers: Outliers | None = None
    ai_share: float | None = None
    segments: list[Segment] = []
    export: Literal["canonical", "zendesk"] = "canonical"
    phase_only: Literal["before", "after"] | None = None
    hidden_segments: bool = False
    fade: tuple[int, int] | None = None
    ends_weeks_early: int = 0

    @property
    def own_file(self) -> bool:
        return self.export != "canonical" or self.phase_only is not None

    def first_week(self, as_of: date) -> date:
        return as_of - timedelta(weeks=self.weeks)

    def go_live(self, as_of: date) -> date:
        return self.first_week(as_of) + timedelta(weeks=self.go_live_week)

    @property
    def last_week(self) -> int:
        """The week after the export's last one (a late export stops early)."""
        return self.weeks - self.ends_weeks_early

    def ratio_in(self, week: int) -> float:
        """The AI's time ratio in ``week`` (a novelty effect fades back to 1 after go-live)."""
        if self.fade is None:
            return self.ratio
        full, gone = self.fade
        since = week - self.go_live_week
        share = 1.0 if since < full else max(0.0, (gone - since) / (gone - full))
        return 1.0 - (1.0 - self.ratio) * share


RECIPES = [Recipe.model_validate(r) for r in CONFIG["recipes"] + CONFIG["case"]]


def demo_workflows() -> list[Workflow]:
    """The demo inventory as models (benchmarks use its shapes)."""
    frame = pd.read_csv(DATA.joinpath("workflows.csv"), dtype=str, keep_default_na=False)
    return [Workflow.model_validate(row) for row in frame.to_dict("records")]


@functools.cache
def _shocks(name: str, weeks: int) -> np.ndarray:
    """A weekly multiplicative shock series shared by every recipe naming it (its own stream)."""
    rng = np.random.default_rng([SEED, *name.encode()])
    return np.exp(rng.normal(0, 0.25, weeks))


def _level(recipe: Recipe, week: int) -> float:
    season = 1 + recipe.season * np.sin(2 * np.pi * week / 52)
    shock = _shocks(recipe.shock, recipe.weeks)[week] if recipe.shock else 1.0
    return (recipe.minutes + recipe.trend * week) * season * shock


def _pick(rng: np.random.Generator, segments: list[Segment], share: str) -> Segment | None:
    if not segments:
        return None
    weights = np.array([getattr(s, share) if getattr(s, share) is not None else s.after for s in segments])
    return segments[int(rng.choice(len(segments), p=weights / weights.sum()))]


def _rows(recipe: Recipe, rng: np.random.Generator, as_of: date) -> Iterator[dict[str, object]]:
    """One workflow's rows, week by week (a plain recipe draws exactly what it always drew)."""
    start = datetime.combine(recipe.first_week(as_of), datetime.min.time())
    for week in range(recipe.last_week):
        after = week >= recipe.go_live_week
        if not after and recipe.baseline_weeks is not None and week >= recipe.baseline_weeks:
            continue
        volume = (recipe.after_per_week or recipe.per_week) if after else recipe.per_week
        for _ in range(max(int(rng.poisson(volume)), 0)):
            assisted = after and (recipe.ai_share is None or bool(rng.random() < recipe.ai_share))
            segment = _pick(rng, recipe.segments, _share(recipe, after, assisted))
            factor = (recipe.ratio_in(week) if assisted else 1.0) * (segment.factor if segment else 1.0)
            loops = recipe.loops_per_row
            if loops != 1:
                loops = max(1, int(rng.poisson(loops)))
            mean = _level(recipe, week) * factor
            minutes = float(rng.lognormal(np.log(mean) - recipe.sigma**2 / 2, recipe.sigma, loops).sum())
            rework = 0.0
            if after and recipe.rework_share:
                reworked = rng.random(loops) < recipe.rework_share
                rework = float(rng.exponential(recipe.rework_minutes, loops)[reworked].sum())
            moment = start + timedelta(weeks=week) + timedelta(minutes=float(rng.uniform(0, 7 * 24 * 60)))
            yield _row(recipe, after, moment, minutes, loops, rework, assisted, segment)
    if recipe.outliers:
        after = recipe.outliers.phase == "after"
        first, last = (recipe.go_live_week, recipe.weeks) if after else (0, recipe.go_live_week)
        for _ in range(recipe.outliers.count):
            moment = start + timedelta(minutes=float(rng.uniform(first, last) * 7 * 24 * 60))
            yield _row(recipe, after, moment, recipe.outliers.minutes, 1, 0.0, False, None)


def recipe_truth(recipe: Recipe, weeks: int, per_ai_loop: bool) -> tuple[float, float]:
    """What the recipe's AI saves in minutes per loop (after includes rework), averaged over its after
    weeks and over the last ``weeks`` of them: per after loop whichever loops used the AI (intention
    to treat), or per AI-assisted loop (``per_ai_loop``: the concurrent design, rework cancels)."""
    share = 1.0 if recipe.ai_share is None or per_ai_loop else recipe.ai_share
    mix = [(s.assisted if s.assisted is not None else s.after, s.factor) for s in recipe.segments]
    total = sum(w for w, _ in mix)
    factor = sum(w * f for w, f in mix) / total if mix else 1.0
    rework = (
        0.0 if per_ai_loop and recipe.ai_share is not None else recipe.rework_share * recipe.rework_minutes
    )
    after = range(recipe.go_live_week, recipe.last_week)
    saving = [share * _level(recipe, w) * factor * (1 - recipe.ratio_in(w)) - rework for w in after]
    return float(np.mean(saving)), float(np.mean(saving[-weeks:]))


def _share(recipe: Recipe, after: bool, assisted: bool) -> str:
    if not after:
        return "before"
    return "assisted" if assisted and recipe.ai_share is not None else "after"


def _row(
    recipe: Recipe,
    after: bool,
    moment: datetime,
    minutes: float,
    loops: int,
    rework: float,
    assisted: bool,
    segment: Segment | None,
) -> dict[str, object]:
    return {
        "workflow_id": recipe.workflow,
        "phase": "after" if after else "before",
        "measured_at": moment.isoformat(" ", "seconds"),
        "duration_minutes": round(minutes, 2),
        "loops": loops,
        "rework_minutes": round(rework, 2),
        "ai_assisted": ("yes" if assisted else "no") if recipe.ai_share is not None else None,
        "segment": segment.name if segment and not recipe.hidden_segments else None,
    }


def _zendesk(rows: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The rows as a Zendesk ticket export: created → solved; tickets still open have no solved time."""
    created = pd.to_datetime(rows.measured_at)
    solved = created + pd.to_timedelta(rows.duration_minutes, unit="min")
    open_ = solved >= pd.Timestamp(as_of)
    return pd.DataFrame(
        {
            "Id": range(10001, 10001 + len(rows)),
            "Created at": created.dt.strftime("%Y-%m-%d %H:%M:%S"),
            "Solved at": solved.dt.strftime("%Y-%m-%d %H:%M:%S").mask(open_, ""),
            "Status": np.where(open_, "open", "solved"),
        }
    )


def build_demo(path: str | Path, as_of: date = AS_OF) -> Store:
    """(Re)create the demo database at ``path`` and return it open."""
    if not is_postgres(path):  # a PostgreSQL database is used as given (create it empty)
        path = Path(path)
        for stale in (path, path.with_name(path.name + ".wal")):
            stale.unlink(missing_ok=True)
    store = Store(path)
    if store.postgres and store.query_value("SELECT count(*) FROM audit_log"):
        store.close()
        raise Conflict(
            f"{store.path} already holds data; the demo is built only into an empty database",
            "create a new database for the demo (CREATE DATABASE ...); nothing was written",
        )
    admin = Actor(name=email(CONFIG["admin"]), role="admin")
    governance.apply_policy(store, admin, store.policy)
    with resources.as_file(DATA.joinpath("workflows.csv")) as workflows:
        import_workflows(store, admin, workflows)
    _upload_timings(store, as_of)
    _governance_history(store, admin)
    seed_demo_money(store, admin)  # company name, currency, hourly costs, AI costs (views/demo_company.toml)
    return store


def _upload_timings(store: Store, as_of: date) -> None:
    """Department leads upload their timings: one canonical file per department, and the
    recipes with an export shape or a one-phase file of their own."""
    departments = {w.workflow_id: w.department for w in demo_workflows()}
    files: dict[str, list[tuple[Recipe, pd.DataFrame]]] = {}
    for recipe in RECIPES:
        # Each recipe its own random stream: editing one recipe leaves the others' loops as they were.
        rng = np.random.default_rng([SEED, *recipe.workflow.encode()])
        rows = pd.DataFrame(list(_rows(recipe, rng, as_of)))
        files.setdefault(recipe.workflow if recipe.own_file else departments[recipe.workflow], []).append(
            (recipe, rows)
        )
    with tempfile.TemporaryDirectory(prefix="aiops-demo-") as tmp:
        for key, parts in files.items():
            recipe = parts[0][0]
            department = departments[recipe.workflow]
            lead = Actor(name=email(LEADS[department]), role="lead", departments=(department,))
            rows = pd.concat([rows for _, rows in parts]).dropna(axis="columns", how="all")
            file = Path(tmp) / f"{key.lower()}_timings.csv"
            if recipe.export == "zendesk":
                _zendesk(rows, as_of).to_csv(file, index=False)
                answers = {"workflow": recipe.workflow, "go_live": recipe.go_live(as_of)}
                import_timings(store, lead, file, preset="zendesk", answers=answers)
            elif recipe.phase_only:
                rows.drop(columns="phase").to_csv(file, index=False)
                import_timings(store, lead, file, options={"phase_only": recipe.phase_only})
            else:
                rows.to_csv(file, index=False)
                import_timings(store, lead, file)


def _governance_history(store: Store, admin: Actor) -> None:
    """The audited governance events of ``northwind.toml``."""
    for event in CONFIG["event"]:
        workflow = event["workflow"]
        if event["kind"] == "sign_off":
            sign_off(store, admin, workflow, event["by"])
        elif event["kind"] == "remove_checkpoint":
            remove_checkpoint(store, admin, workflow, event["checkpoint"])
        else:
            record_incident(store, admin, workflow, event["note"])
