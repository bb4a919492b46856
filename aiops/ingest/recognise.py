"""One recognition order for a timings file, shared by the upload page and the CLI: a preset
(saved beats built-in), then the canonical columns, then guesses from names and column types.
A workflows sheet is refused here, pointed to its own import."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiops.auth import Actor
from aiops.ingest.guards import refuse_workflows_sheet
from aiops.ingest.presets import Preset, guess_mapping, recognize
from aiops.ingest.profile import ColumnProfile, profile_columns, timestamp_guesses
from aiops.ingest.sniff import SourceFile
from aiops.ingest.timings import canonical_mapping
from aiops.store import Store


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
