"""Find a file's columns by name: case-insensitive, tolerant of spacing and of suffixes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aiops.errors import MappingError
from aiops.ingest.sniff import SourceFile
from aiops.ingest.timestamps import DATE_ORDERS, ORDER_WORDS, DateOrder, known_zone

Unit = Literal["seconds", "minutes", "hours", "days", "hms"]
UNITS: tuple[str, ...] = get_args(Unit)
TimeKind = Literal["hands_on", "elapsed"]
Phase = Literal["before", "after"]
# What an upload measures, applied to any mapping (explicit, preset or canonical) as the upload's options.
MEASURE_OPTIONS = ("time_kind", "phase_only", "ai_assisted_column", "segment_column")


def header_key(name: str) -> str:
    """`Created At (UTC)`, `created_at` and `CREATED AT` share the key `created_at_utc`."""
    return re.sub(r"[^0-9a-z]+", "_", name.casefold()).strip("_")


def find_column(source: SourceFile, wanted: str, *, prefix: bool = False) -> str | None:
    """The unique column for header ``wanted``; with ``prefix``, a header that starts with it
    (Intercom writes `Conversation started at (America/New_York)`)."""
    key = header_key(wanted)
    for header, column in zip(source.header, source.columns, strict=True):
        if header_key(header) == key:
            return column
    if prefix:
        for header, column in zip(source.header, source.columns, strict=True):
            if header_key(header).startswith(key + "_"):
                return column
    return None


def require_column(source: SourceFile, wanted: str, role: str) -> str:
    column = find_column(source, wanted)
    if column is None:
        shown = ", ".join(repr(h) for h in source.header[:25])
        more = f" and {len(source.header) - 25} more" if len(source.header) > 25 else ""
        raise MappingError(
            f"no column '{wanted}' (mapped as {role}) in {source.name}",
            f"the file's columns are {shown}{more}",
        )
    return column


def parse_go_live(text: str) -> date | datetime:
    """A go-live as a date (`2024-04-16`) or an ISO date-time (`2024-04-16T09:00`, `...+02:00`)."""
    text = text.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text)
    except ValueError as e:
        raise MappingError(
            f"go-live {text!r} is not a date or a date-time",
            "write 2024-04-16, 2024-04-16T09:00 or 2024-04-16T09:00+02:00",
        ) from e


def go_live_utc(go_live: date | datetime) -> datetime | None:
    """The go-live moment in UTC when it carries an offset; None when the mapping's zone applies."""
    if isinstance(go_live, datetime) and go_live.tzinfo is not None:
        return go_live.astimezone(UTC).replace(tzinfo=None)
    return None


def with_options(mapping: TimingMapping, options: dict[str, object]) -> TimingMapping:
    """The mapping with the upload's own answers (time kind, one phase...) applied and checked."""
    if not options:
        return mapping
    try:
        return TimingMapping.model_validate(mapping.model_dump() | options)
    except ValidationError as e:
        raise MappingError(f"mapping: {e.errors()[0]['msg'].removeprefix('Value error, ')}") from e


def parse_assignments(pairs: list[str] | None) -> dict[str, str]:
    """`--map field=COLUMN` pairs as a dict; the column may contain `=`."""
    mapping = {}
    for pair in pairs or []:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise MappingError(f"--map {pair!r} is not field=COLUMN", "e.g. --map name='Use Case Name'")
        mapping[field.strip().lower()] = column.strip()
    return mapping


class TimingMapping(BaseModel):
    """Where each canonical field of a timing sample comes from in an uploaded file."""

    model_config = ConfigDict(extra="forbid")

    # Each field is declared once, with the help text the CLI's options and the form derive from.
    workflow: str | None = Field(None, description="one workflow id for the whole file")
    workflow_column: str | None = Field(None, description="column holding the workflow id")
    duration_column: str | None = Field(None, description="column holding each loop's duration")
    unit: Unit = Field("minutes", description="unit of the duration column (hms = h:mm:ss text)")
    start_column: str | None = Field(None, description="column with each loop's start timestamp")
    end_column: str | None = Field(None, description="column with each loop's end timestamp")
    case_column: str | None = Field(None, description="event log: the case id column")
    timestamp_column: str | None = Field(None, description="event log: the event timestamp column")
    phase_column: str | None = Field(None, description="column holding before/after (or synonyms)")
    go_live: date | datetime | None = Field(
        None,
        description="split before/after at this date or ISO date-time (2024-04-16, 2024-04-16T09:00+02:00);"
        " a day begins at midnight in the time zone",
    )
    loops_column: str | None = Field(None, description="column with loops per row (default 1)")
    rework_column: str | None = Field(None, description="column with rework minutes (default 0)")
    measured_at_column: str | None = Field(None, description="column with when the loop ran")
    date_order: DateOrder | None = Field(None, description="for dates like 03/04/2024: dmy or mdy")
    timezone: str = Field("UTC", description="zone of timestamps without an offset (default UTC)")
    business_hours: bool = Field(False, description="durations count business hours only")
    time_kind: TimeKind | None = Field(
        None,
        description="hands_on working time, or elapsed open → close calendar time (default: the preset's,"
        " else hands_on; event logs elapsed)",
    )
    phase_only: Phase | None = Field(
        None, description="the whole file is one phase: a go-live outside its data is allowed"
    )
    ai_assisted_column: str | None = Field(
        None, description="column saying per loop if the AI helped (yes/no)"
    )
    segment_column: str | None = Field(
        None, description="column with a segment per loop (priority, type, size...)"
    )

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    # Each format option refused by its own message, with the value given (never blamed on a column).
    @field_validator("timezone", mode="before")
    @classmethod
    def _known_zone(cls, value: object) -> object:
        return "UTC" if value is None else known_zone(str(value))

    @field_validator("date_order", mode="before")
    @classmethod
    def _known_order(cls, value: object) -> object:
        if value is None or str(value).strip().lower() in DATE_ORDERS:
            return None if value is None else str(value).strip().lower()
        raise ValueError(f"date order '{value}' is not known: {' or '.join(ORDER_WORDS.values())}")

    @field_validator("unit", mode="before")
    @classmethod
    def _known_unit(cls, value: object) -> object:
        if value is None:
            return "minutes"
        if str(value).strip().lower() in UNITS:
            return str(value).strip().lower()
        raise ValueError(f"unit '{value}' is not known: {', '.join(UNITS[:-1])} or hms (h:mm:ss text)")

    @model_validator(mode="after")
    def _one_source_each(self) -> TimingMapping:
        if (self.workflow is None) == (self.workflow_column is None):
            raise ValueError("give exactly one of: one workflow for the file, or a workflow column")
        modes = [
            self.duration_column is not None,
            self.start_column is not None or self.end_column is not None,
            self.case_column is not None or self.timestamp_column is not None,
        ]
        if sum(modes) != 1:
            raise ValueError(
                "give exactly one way to measure a loop: a duration column, start and "
                "end columns, or an event log's case and timestamp columns"
            )
        if modes[1] and not (self.start_column and self.end_column):
            raise ValueError("start and end columns go together")
        if modes[2] and not (self.case_column and self.timestamp_column):
            raise ValueError("an event log needs both a case column and a timestamp column")
        if self.phase_column is not None and self.go_live is not None:
            raise ValueError("give exactly one of: a phase column, or a go-live date")
        if self.phase_column is None and self.go_live is None and self.phase_only is None:
            raise ValueError(
                "give exactly one of: a phase column, or a go-live date (or say the file is one phase only)"
            )
        if modes[2] and (self.ai_assisted_column or self.segment_column):
            raise ValueError("ai_assisted and segment columns need one row per loop, not an event log")
        if modes[0] and self.measured_at_column is None:
            raise ValueError("a duration column needs a measured-at column (when each loop ran)")
        return self

    def roles(self) -> dict[str, str]:
        """role -> the file's column, for every column this mapping names."""
        columns = {
            "workflow": self.workflow_column,
            "duration": self.duration_column,
            "start": self.start_column,
            "end": self.end_column,
            "case": self.case_column,
            "timestamp": self.timestamp_column,
            "phase": self.phase_column,
            "loops": self.loops_column,
            "rework": self.rework_column,
            "measured_at": self.measured_at_column,
            "ai_assisted": self.ai_assisted_column,
            "segment": self.segment_column,
        }
        return {role: column for role, column in columns.items() if column}

    @property
    def mode(self) -> Literal["duration", "span", "events"]:
        if self.duration_column:
            return "duration"
        return "span" if self.start_column else "events"

    @property
    def kind(self) -> TimeKind:
        """The time kind: as given, else elapsed for an event log and hands-on otherwise."""
        return self.time_kind or ("elapsed" if self.mode == "events" else "hands_on")

    def describe(self) -> str:
        what = {
            "duration": f"'{self.duration_column}' in {self.unit}",
            "span": f"'{self.start_column}' → '{self.end_column}'",
            "events": f"first → last '{self.timestamp_column}' per '{self.case_column}'",
        }
        phase = f"split at go-live {self.go_live}" if self.go_live else f"phase from '{self.phase_column}'"
        if self.phase_only:
            phase = f"{self.phase_only} go-live only" + (
                f" ({phase})" if self.go_live or self.phase_column else ""
            )
        hours = " (business hours)" if self.business_hours else ""
        kind = "hands-on time" if self.kind == "hands_on" else "elapsed calendar time"
        extra = "".join(
            f"; {label} from '{column}'"
            for label, column in (("AI-assisted", self.ai_assisted_column), ("segment", self.segment_column))
            if column
        )
        return f"loop time {what[self.mode]}{hours}, {kind}; {phase}{extra}"


def field_choices(name: str) -> tuple[str, ...] | None:
    """The allowed values of a mapping field whose type is a closed list (unit, date order)."""
    annotation = TimingMapping.model_fields[name].annotation
    for candidate in (annotation, *get_args(annotation)):
        if getattr(candidate, "__origin__", None) is Literal:
            return get_args(candidate)
    return None
