"""One recognition order for a timings file, shared by the upload page and the CLI: a preset
(saved beats built-in), then the canonical columns, then guesses from names and column types.
A workflows sheet is refused here, pointed to its own import."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiops.auth import Actor
from aiops.errors import MappingError
from aiops.ingest.guards import refuse_workflows_sheet
from aiops.ingest.mapping import TimingMapping, find_column
from aiops.ingest.presets import Preset, find_preset, guess_mapping, is_auto, recognize
from aiops.ingest.profile import ColumnProfile, profile_columns, timestamp_guesses
from aiops.ingest.sniff import SourceFile
from aiops.store import Store

CANONICAL = ("workflow_id", "phase", "measured_at", "duration_minutes", "loops", "rework_minutes")


def canonical_mapping(source: SourceFile, phase_only: str | None = None) -> TimingMapping | None:
    """The data contract's own columns need no mapping (a one-phase file may omit the phase)."""
    required = ("workflow_id", "measured_at", "duration_minutes") + (() if phase_only else ("phase",))
    if not all(find_column(source, c) for c in required):
        return None
    return TimingMapping(
        workflow_column="workflow_id",
        phase_column="phase" if find_column(source, "phase") else None,
        phase_only=phase_only,
        ai_assisted_column="ai_assisted" if find_column(source, "ai_assisted") else None,
        segment_column="segment" if find_column(source, "segment") else None,
        measured_at_column="measured_at",
        duration_column="duration_minutes",
        unit="minutes",
        loops_column="loops" if find_column(source, "loops") else None,
        rework_column="rework_minutes" if find_column(source, "rework_minutes") else None,
    )


@dataclass(frozen=True)
class FileRecognition:
    preset: Preset | None
    reason: str
    prefill: dict[str, object]  # mapping fields to pre-fill (empty when a preset supplies them)
    profiles: dict[str, ColumnProfile] = field(default_factory=dict)


def recognise_file(store: Store, source: SourceFile, actor: Actor | None = None) -> FileRecognition:
    """Presets are those ``actor`` can see (without one, company presets only)."""
    refuse_workflows_sheet(source)
    cursor = store.new_cursor()
    try:
        profiles = profile_columns(cursor, source)
    finally:
        cursor.close()
    recognition = recognize(store, source.header, actor)
    if recognition.preset is not None:
        return FileRecognition(recognition.preset, recognition.reason, {}, profiles)
    canonical = canonical_mapping(source)
    if canonical is not None:
        return FileRecognition(
            None,
            "the file uses the canonical timings columns",
            canonical.model_dump(exclude_none=True),
            profiles,
        )
    guesses = timestamp_guesses(guess_mapping(source.header), profiles)
    return FileRecognition(None, recognition.reason, dict(guesses), profiles)


def mapping_for(
    store: Store,
    source: SourceFile,
    actor: Actor | None,
    preset: str | None,
    loop: str | None,
    answers: dict[str, object],
    options: dict[str, object],
) -> tuple[TimingMapping, str]:
    """The mapping of an import given no explicit one, and why: the named ``preset``; with
    ``auto``, what ``recognise_file`` finds (as the upload page pre-fills it; guesses are never
    used unasked: they are named in the error); without a preset, the canonical columns."""
    if preset and not is_auto(preset):
        chosen = find_preset(store, preset, actor)
        return chosen.resolve(
            source.header, loop, answers
        ), f"preset {preset}; loop: {chosen.loop(loop).label}"
    phase_only = None if options.get("phase_only") is None else str(options["phase_only"])
    if preset and is_auto(preset):
        found = recognise_file(store, source, actor)
        if found.preset is not None:
            mapping = found.preset.resolve(source.header, loop, answers)
            return mapping, f"{found.reason}; loop: {found.preset.loop(loop).label}"
        canonical = canonical_mapping(source, phase_only)
        if canonical is None:
            guessed = " ".join(f"--{k.replace('_', '-')} '{v}'" for k, v in found.prefill.items())
            raise MappingError(
                f"--preset auto: {found.reason}",
                "map the columns" + (f"; the page would guess {guessed}" if guessed else ""),
            )
        return canonical, "the file uses the canonical timings columns"
    canonical = canonical_mapping(source, phase_only)
    if canonical is None:
        raise MappingError(
            f"{source.name} is not in the canonical timings format ({', '.join(CANONICAL)})",
            "map its columns (--workflow/--workflow-column, --duration-column or --start-column/"
            "--end-column, --phase-column or --go-live) or pick a preset (--preset auto recognises it)",
        )
    return canonical, ""
