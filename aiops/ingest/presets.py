"""Mapping presets: the shapes of real exports, recognised by their headers, plus the company's own.

A preset says how to measure one or more loops from a file (start → end columns, a duration
column with its unit, or an event log); it never says which workflow or go-live date — the user
knows those. Built-in presets ship in ``builtin_presets.toml``; users save their own in the store.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from aiops.errors import MappingError, NotFound
from aiops.ingest.mapping import header_key
from aiops.ingest.timings import TimingMapping
from aiops.store import Reader, Tx

# Fields a preset may set: how a loop is measured, never which workflow or go-live.
PRESET_FIELDS = (
    "workflow_column",
    "duration_column",
    "unit",
    "start_column",
    "end_column",
    "case_column",
    "timestamp_column",
    "phase_column",
    "loops_column",
    "rework_column",
    "measured_at_column",
    "date_order",
    "timezone",
    "business_hours",
)


class LoopOption(BaseModel):
    """One loop a preset can measure (e.g. Zendesk: full resolution, or first reply)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    label: str
    mapping: dict[str, object]
    note: str = ""


class Preset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    title: str
    tool: str = ""
    signature: list[str] = Field(default_factory=list)
    prefix_headers: bool = False
    loops: list[LoopOption]
    cannot_measure: str = ""
    builtin: bool = True

    def loop(self, name: str | None) -> LoopOption:
        if name is None:
            return self.loops[0]
        for option in self.loops:
            if option.name == name:
                return option
        raise MappingError(
            f"preset {self.name} has no loop '{name}'", f"its loops: {', '.join(o.name for o in self.loops)}"
        )

    def matches(self, headers: list[str]) -> bool:
        keys = [header_key(h) for h in headers]
        return bool(self.signature) and all(
            _has(keys, header_key(s), self.prefix_headers) for s in self.signature
        )


def _has(keys: list[str], wanted: str, prefix: bool) -> bool:
    return any(k == wanted or (prefix and k.startswith(wanted + "_")) for k in keys)


def builtin_presets() -> list[Preset]:
    text = resources.files("aiops.ingest").joinpath("builtin_presets.toml").read_text("utf-8")
    return [Preset.model_validate(p) for p in tomllib.loads(text)["preset"]]


def user_presets(db: Reader) -> list[Preset]:
    rows = db.query("SELECT name, mapping FROM mapping_presets ORDER BY name")
    return [
        Preset(
            name=name,
            title=name,
            builtin=False,
            loops=[LoopOption(name="default", label="saved mapping", mapping=json.loads(m))],
        )
        for name, m in rows
    ]


def all_presets(db: Reader) -> list[Preset]:
    return builtin_presets() + user_presets(db)


def find_preset(db: Reader, name: str) -> Preset:
    for preset in all_presets(db):
        if preset.name == name:
            return preset
    raise NotFound(f"no preset '{name}'", "see `aiops timings presets`")


@dataclass(frozen=True)
class Recognition:
    preset: Preset | None
    reason: str


def recognize(db: Reader, headers: list[str]) -> Recognition:
    """The preset whose header signature the file carries (the most specific one wins)."""
    candidates = [p for p in all_presets(db) if p.matches(headers)]
    if not candidates:
        return Recognition(None, "no preset's columns are all in this file: map it by hand")
    best = max(candidates, key=lambda p: len(p.signature))
    shown = ", ".join(f"'{s}'" for s in best.signature)
    return Recognition(best, f"recognised as {best.title}: the file has the columns {shown}")


def preset_mapping(preset: Preset, loop: str | None, overrides: dict[str, object]) -> TimingMapping:
    """The preset's loop mapping with the user's answers (workflow, go-live...) on top."""
    option = preset.loop(loop)
    if preset.cannot_measure and not option.mapping:
        raise MappingError(preset.cannot_measure, "export a file with both timestamps")
    return TimingMapping(**(option.mapping | {k: v for k, v in overrides.items() if v is not None}))


def save_preset(tx: Tx, name: str, mapping: TimingMapping) -> None:
    """Store a user's mapping as a named preset (audited); built-in names are taken."""
    name = name.strip()
    if not name:
        raise MappingError("a preset needs a name")
    if any(p.name == name for p in builtin_presets()):
        raise MappingError(f"'{name}' is a built-in preset", "pick another name")
    fields = {
        k: v
        for k, v in mapping.model_dump(mode="json").items()
        if k in PRESET_FIELDS and v not in (None, False, "UTC")
    }
    tx.execute("DELETE FROM mapping_presets WHERE name = ?", [name])
    tx.execute(
        "INSERT INTO mapping_presets VALUES (?, ?, ?, ?)", [name, json.dumps(fields), tx.actor.name, tx.now]
    )
    tx.audit("preset.saved", "preset", name, {"mapping": fields})


_GUESSES: dict[str, tuple[str, ...]] = {
    # field: header words, most specific first; matched on whole header keys, then as key prefixes.
    "workflow_column": ("workflow_id", "workflow"),
    "case_column": ("caseid", "case_id", "case"),
    "timestamp_column": ("completetimestamp", "timestamp", "event_time", "time"),
    "start_column": (
        "created_at",
        "created",
        "created_date",
        "opened_at",
        "opened",
        "date_time_opened",
        "started_at",
        "start_time",
        "start",
        "create_date",
        "conversation_started_at",
    ),
    "end_column": (
        "resolved_at",
        "resolutiondate",
        "resolved",
        "resolved_time",
        "solved_at",
        "closed_at",
        "closed",
        "closed_date",
        "date_time_closed",
        "completed_at",
        "completed",
        "merged_at",
        "ended_at",
        "end_time",
        "end",
        "close_date",
    ),
    "duration_column": ("duration_minutes", "duration", "handle_time", "time_spent"),
    "phase_column": ("phase",),
    "loops_column": ("loops",),
    "rework_column": ("rework_minutes", "rework"),
    "measured_at_column": ("measured_at",),
}


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Columns that look like each mapping field, to pre-fill the manual form (a user confirms)."""
    by_key = {header_key(h): h for h in reversed(headers)}
    guesses: dict[str, str] = {}
    for field, words in _GUESSES.items():
        for word in words:
            header = by_key.get(word) or next(
                (h for k, h in by_key.items() if k.startswith(word + "_")), None
            )
            if header and header not in guesses.values():
                guesses[field] = header
                break
    if "case_column" in guesses and "timestamp_column" not in guesses:
        del guesses["case_column"]
    return guesses
