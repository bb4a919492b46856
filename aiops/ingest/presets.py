"""Mapping presets: the shapes of real exports, recognised by their headers, plus the company's own.

A preset says how to measure one or more loops from a file (start → end columns, a duration
column with its unit, or an event log); it never says which workflow or go-live date — the user
knows those. Built-in presets ship in ``builtin_presets.toml``; users save their own in the store.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aiops.auth import Actor
from aiops.errors import Conflict, MappingError, NotFound
from aiops.identity import identity_key
from aiops.ingest.mapping import TimingMapping, header_key
from aiops.store import Reader, Tx
from aiops.workflow import MAX_NAME

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
    "time_kind",
    "ai_assisted_column",
    "segment_column",
)


Columns = str | list[str]  # one header, or the headers it may be spelled as, in order


class LoopOption(BaseModel):
    """One loop a preset can measure (e.g. Zendesk: full resolution, or first reply)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    label: str
    mapping: dict[str, Columns | bool]
    note: str = ""


class Preset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    title: str
    tool: str = ""
    # Headers the file must carry; an entry may list alternative spellings.
    signature: list[Columns] = Field(default_factory=list)
    prefix_headers: bool = False  # a header may carry a suffix, e.g. "(America/New_York)"
    timezone_in_header: bool = False  # Intercom: timestamps are in the zone the header names
    loops: list[LoopOption] = Field(default_factory=list)
    cannot_measure: str = ""
    builtin: bool = True
    scope: str = "builtin"  # or a saved preset's: personal, department, company

    def loop(self, name: str | None) -> LoopOption:
        if not self.loops:
            raise MappingError(f"{self.title}: {self.cannot_measure}", "export the timestamps it lacks")
        if name is None:
            return self.loops[0]
        for option in self.loops:
            if option.name == name:
                return option
        raise MappingError(
            f"preset {self.name} has no loop '{name}'", f"its loops: {', '.join(o.name for o in self.loops)}"
        )

    def find(self, headers: list[str], columns: Columns) -> str | None:
        """The file's header for one of ``columns`` (case-insensitive; by prefix if allowed)."""
        for wanted in [columns] if isinstance(columns, str) else columns:
            key = header_key(wanted)
            for header in headers:
                found = header_key(header)
                if found == key or (self.prefix_headers and found.startswith(key + "_")):
                    return header
        return None

    def matches(self, headers: list[str]) -> bool:
        return bool(self.signature) and all(self.find(headers, s) is not None for s in self.signature)

    def fields_for(self, headers: list[str], loop: str | None) -> dict[str, object]:
        """The chosen loop's mapping fields with this file's header spellings (and the time zone a
        header names, where the tool writes it there)."""
        fields: dict[str, object] = {}
        for field, value in self.loop(loop).mapping.items():
            if field.endswith("_column") and not isinstance(value, bool):
                header = self.find(headers, value)
                if header is None:
                    raise MappingError(
                        f"{self.title}: no column {value!r} in this file",
                        "map the file by hand, or pick another loop",
                    )
                fields[field] = header
            else:
                fields[field] = value
        if self.timezone_in_header:
            zones = [z for f, h in fields.items() if f.endswith("_column") and (z := header_zone(str(h)))]
            if zones:
                fields["timezone"] = zones[0]
        return fields

    def resolve(self, headers: list[str], loop: str | None, overrides: dict[str, object]) -> TimingMapping:
        """The loop's mapping for this file plus the user's answers (workflow, go-live...)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        try:
            return TimingMapping(**(self.fields_for(headers, loop) | given))
        except ValidationError as e:
            raise MappingError(
                f"mapping: {e.errors()[0]['msg'].removeprefix('Value error, ')}",
                "answer which workflow and the go-live date (or a phase column)",
            ) from e


_ZONE_IN_HEADER = re.compile(r"\(([A-Za-z_]+(?:/[A-Za-z_+\-]+)+|UTC)\)\s*$")


def header_zone(header: str) -> str | None:
    """The IANA time zone a header names, e.g. `... at (America/New_York)`."""
    match = _ZONE_IN_HEADER.search(header)
    if match is None:
        return None
    try:
        ZoneInfo(match[1])
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return match[1]


def builtin_presets() -> list[Preset]:
    text = resources.files("aiops.ingest").joinpath("builtin_presets.toml").read_text("utf-8")
    return [Preset.model_validate(p) for p in tomllib.loads(text)["preset"]]


SCOPES = ("personal", "department", "company")
_SCOPE_ORDER = {"personal": 2, "department": 1, "company": 0}  # the nearest wins a tie among saved ones
# The data contract's own columns: a file carrying them is canonical, a built-in shape of its own.
CANONICAL_SIGNATURE = ("workflow_id", "phase", "measured_at", "duration_minutes")


@dataclass(frozen=True)
class PresetTarget:
    """Where a mapping is saved: a name in a scope (a department's needs the department), and
    whether saving over an existing preset of that name was asked for."""

    name: str
    scope: str = "personal"
    department: str | None = None
    replace: bool = False


def _scope_key(actor: Actor, target: PresetTarget) -> str:
    if target.scope == "personal":
        return identity_key(actor.name)
    if target.scope == "department":
        return identity_key(target.department or "")
    return ""


def user_presets(db: Reader, actor: Actor | None = None) -> list[Preset]:
    """Saved mappings ``actor`` can see: the company's, their own, their departments' (an admin
    sees every department's). Without an actor, only the company's. The columns a preset names are
    its signature, so it is recognised too."""
    where, params = "scope = 'company'", []
    if actor is not None:
        where += " OR (scope = 'personal' AND scope_key = ?)"
        params.append(identity_key(actor.name))
        if actor.role == "admin":
            where += " OR scope = 'department'"
        elif actor.departments:
            marks = ", ".join("?" * len(actor.departments))
            where += f" OR (scope = 'department' AND scope_key IN ({marks}))"
            params += [identity_key(d) for d in actor.departments]
    presets = []
    for name, scope, text in db.query(
        f"SELECT name, scope, mapping FROM mapping_presets WHERE {where} ORDER BY name, scope",
        params,
    ):
        mapping = json.loads(text)
        columns = [v for k, v in mapping.items() if k.endswith("_column")]
        presets.append(
            Preset(
                name=name,
                title=f"saved preset '{name}'",
                builtin=False,
                scope=scope,
                signature=columns,
                loops=[LoopOption(name="default", label="saved mapping", mapping=mapping)],
            )
        )
    return presets


def all_presets(db: Reader, actor: Actor | None = None) -> list[Preset]:
    """Built-in presets and the saved ones ``actor`` can see."""
    return builtin_presets() + user_presets(db, actor)


def find_preset(db: Reader, name: str, actor: Actor | None = None) -> Preset:
    """A preset by name (ignoring case and spacing: ``identity_key``) among those ``actor`` can see
    (a built-in first, then the nearest scope)."""
    key = identity_key(name)
    found = [p for p in all_presets(db, actor) if identity_key(p.name) == key]
    if not found:
        raise NotFound(f"no preset '{name}' that you can use", "see `aiops timings presets`")
    return max(found, key=lambda p: (p.builtin, _SCOPE_ORDER.get(p.scope, 0)))


@dataclass(frozen=True)
class Recognition:
    preset: Preset | None
    reason: str


def preset_rank(preset: Preset) -> tuple[int, bool, int, str]:
    """How a matching preset ranks in automatic recognition, highest first: the most columns
    matched, then a built-in over a saved one (a saved preset never outranks a built-in unless it
    matches strictly more columns), then the nearest scope (personal, department, company)."""
    return (len(preset.signature), preset.builtin, _SCOPE_ORDER.get(preset.scope, 0), preset.name)


def best_preset(candidates: list[Preset], headers: list[str]) -> Preset | None:
    """The rule of automatic recognition (one place, for the upload page and the CLI alike): among
    ``candidates`` that match ``headers``, the highest ``preset_rank``; a saved preset on no more
    columns than the canonical format's own (when the file has them) does not take over."""
    matching = [p for p in candidates if p.matches(headers)]
    if not matching:
        return None
    best = max(matching, key=preset_rank)
    keys = {header_key(h) for h in headers}
    canonical = all(c in keys for c in CANONICAL_SIGNATURE)
    if canonical and not best.builtin and len(best.signature) <= len(CANONICAL_SIGNATURE):
        return None
    return best


def recognize(db: Reader, headers: list[str], actor: Actor | None = None) -> Recognition:
    """The preset whose header signature the file carries, among those ``actor`` can see (see
    ``best_preset`` for the rule)."""
    best = best_preset(all_presets(db, actor), headers)
    if best is None:
        return Recognition(None, "no preset recognises these columns: map the file by hand")
    shown = ", ".join(f"'{best.find(headers, s)}'" for s in best.signature)
    reason = f"recognised as {best.title} ({best.name}): the file has {shown}"
    if not best.loops:
        reason += f". {best.cannot_measure}"
    return Recognition(best, reason)


AUTO = "auto"  # `--preset auto`: recognise the file (a preset of that name would hide it)


def is_auto(preset: str) -> bool:
    """Whether ``preset`` names ``auto`` (in any case and spacing, as every preset name)."""
    return identity_key(preset) == AUTO


def preset_name(name: str) -> str:
    """The name a user's preset would be saved under; built-in names are taken."""
    name = name.strip()
    if not name:
        raise MappingError("a preset needs a name")
    if len(name) > MAX_NAME:
        raise MappingError(f"a preset name is {len(name):,} characters long; the limit is {MAX_NAME}")
    if any(identity_key(p.name) == identity_key(name) for p in builtin_presets()):
        raise MappingError(f"'{name}' is a built-in preset", "pick another name")
    if is_auto(name):
        raise MappingError(
            f"'{name}' cannot name a preset: `--preset {AUTO}` recognises the file", "pick another name"
        )
    return name


def as_target(target: PresetTarget | str) -> PresetTarget:
    return target if isinstance(target, PresetTarget) else PresetTarget(name=target)


def check_preset_target(db: Reader, actor: Actor, target: PresetTarget | str) -> PresetTarget:
    """Refuse, before anything is read or written, a preset that could not be saved: a bad or
    built-in name, a scope the actor may not write, or a name taken in that scope without
    ``replace`` (saving over a preset is asked for, never silent)."""
    target = as_target(target)
    name = preset_name(target.name)
    if target.scope not in SCOPES:
        raise MappingError(f"no preset scope '{target.scope}'", f"use one of: {', '.join(SCOPES)}")
    if target.scope == "company":
        actor.require_admin("save a company-wide preset")
    elif target.scope == "department":
        if not (target.department or "").strip():
            raise MappingError("a department preset needs its department", "pass --preset-department")
        actor.require_write(target.department, "save a department preset")
    else:
        actor.require_write(None, "save a preset")
    taken = db.query_one(
        "SELECT name FROM mapping_presets WHERE scope = ? AND scope_key = ? AND name_key = ?",
        [target.scope, _scope_key(actor, target), identity_key(name)],
    )
    if taken and not target.replace:
        raise Conflict(
            f"a {target.scope} preset named '{taken[0]}' exists",
            "confirm replacing it (CLI: --replace), or pick another name",
        )
    return PresetTarget(name, target.scope, target.department, target.replace)


def save_preset(tx: Tx, target: PresetTarget | str, mapping: TimingMapping) -> None:
    """Store a user's mapping as a named preset in its scope (audited; replacing one is audited
    with what it replaced)."""
    target = check_preset_target(tx, tx.actor, target)
    fields = {
        k: v
        for k, v in mapping.model_dump(mode="json").items()
        if k in PRESET_FIELDS and v not in (None, False, "UTC")
    }
    key = [target.scope, _scope_key(tx.actor, target), identity_key(target.name)]
    before = tx.query_one(
        "SELECT mapping FROM mapping_presets WHERE scope = ? AND scope_key = ? AND name_key = ?", key
    )
    detail = {"scope": target.scope, "scope_key": key[1], "mapping": fields}
    if before is None:
        tx.execute(
            "INSERT INTO mapping_presets (name, name_key, scope, scope_key, mapping, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [target.name, key[2], key[0], key[1], json.dumps(fields), tx.actor.name, tx.now],
        )
        tx.audit("preset.saved", "preset", target.name, detail)
    else:
        tx.execute(
            "UPDATE mapping_presets SET name = ?, mapping = ?, updated_by = ?, updated_at = ? "
            "WHERE scope = ? AND scope_key = ? AND name_key = ?",
            [target.name, json.dumps(fields), tx.actor.name, tx.now, *key],
        )
        tx.audit("preset.replaced", "preset", target.name, detail | {"replaced": json.loads(before[0])})


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
    "ai_assisted_column": ("ai_assisted", "with_ai", "assisted"),
    "segment_column": ("segment",),
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
