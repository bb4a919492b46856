"""Migration 012's data step: source and preset names keyed by ``identity_key`` (issue 23). They were
keyed by ``lower(name)``, so ``ＪＩＲＡ`` and ``Jira`` were two sources and a source saved as
``PR  review`` was not found as ``pr review``. A name whose new key an older one takes too (two names
that were one all along) is renamed ``NAME (2)`` (``(3)``...): both stay reachable by name, and each
rename is audited. Presets' scope keys (an owner or a department) are keyed the same way.

Plain DML through the transaction, as ``aiops.store.twins``: the same on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from importlib import resources

from aiops.identity import identity_key
from aiops.store.twins import StepTx

_SOURCES = "SELECT source_id, name, name_key FROM sources ORDER BY source_id"
_PRESETS = "SELECT scope, scope_key, name, name_key, created_at FROM mapping_presets"
_SET_SOURCE = "UPDATE sources SET name = ?, name_key = ? WHERE source_id = ? AND name_key = ?"
_SET_PRESET = (
    "UPDATE mapping_presets SET scope_key = ?, name = ?, name_key = ? "
    "WHERE scope = ? AND scope_key = ? AND name_key = ?"
)
_RENAMED_BECAUSE = "an older one has the same name ignoring case, width and spacing"


def rekey_names(tx: StepTx) -> None:
    """Every source and preset keyed by ``identity_key``. Each row to change is first parked
    under a key no name has (white space first: a key never starts with it), then given its new
    key: no new key meets an old one still to be changed (the unique index would refuse it)."""
    parked_sources: list[tuple[int, str, str, str, str]] = []
    taken: set[str] = set()
    for source_id, name, key in tx.query(_SOURCES):
        new_name, new_key = _free_name(name, taken)
        if (new_name, new_key) != (name, key):
            parked = f"\t012 source {source_id}"
            tx.execute(_SET_SOURCE, [name, parked, source_id, key])
            parked_sources.append((source_id, parked, name, new_name, new_key))
    for source_id, parked, name, new_name, new_key in parked_sources:
        tx.execute(_SET_SOURCE, [new_name, new_key, source_id, parked])
        _audit_rename(tx, "source", str(source_id), name, new_name)

    parked_presets: list[tuple[str, str, str, str, str, str]] = []
    reserved = reserved_preset_keys()
    # Per scope and owner, the names taken: the built-in ones from the start. The oldest first
    # within an owner whose spellings were two keys until now.
    taken_in: defaultdict[tuple[str, str], set[str]] = defaultdict(reserved.copy)
    rows = sorted(tx.query(_PRESETS), key=lambda r: (r[0], identity_key(r[1]), r[4], r[3]))
    for scope, scope_key, name, key, _ in rows:
        owner = identity_key(scope_key)
        new_name, new_key = _free_name(name, taken_in[scope, owner])
        if (owner, new_name, new_key) != (scope_key, name, key):
            parked = f"\t012 preset {len(parked_presets)}"
            tx.execute(_SET_PRESET, [scope_key, name, parked, scope, scope_key, key])
            parked_presets.append((scope, scope_key, parked, name, new_name, new_key))
    for scope, scope_key, parked, name, new_name, new_key in parked_presets:
        tx.execute(_SET_PRESET, [identity_key(scope_key), new_name, new_key, scope, scope_key, parked])
        _audit_rename(tx, "preset", new_name, name, new_name)


def reserved_preset_keys() -> set[str]:
    """The keys no user preset may have: the built-in presets' names and ``auto``
    (``aiops.ingest.presets.preset_name`` refuses them; read here from the same file, since the
    store may not import the importers)."""
    text = resources.files("aiops.ingest").joinpath("builtin_presets.toml").read_text("utf-8")
    return {identity_key(p["name"]) for p in tomllib.loads(text)["preset"]} | {"auto"}


def _free_name(name: str, taken: set[str]) -> tuple[str, str]:
    """``name`` and its key, or ``name (2)``, ``name (3)``... when its key is ``taken``; the key
    is then taken."""
    candidate, n = name, 2
    while identity_key(candidate) in taken:
        candidate, n = f"{name} ({n})", n + 1
    taken.add(identity_key(candidate))
    return candidate, identity_key(candidate)


def _audit_rename(tx: StepTx, entity: str, entity_id: str, before: str, after: str) -> None:
    if before != after:
        detail = {"source": "migration 012", "from": before, "to": after, "why": _RENAMED_BECAUSE}
        tx.audit(f"{entity}.renamed", entity, entity_id, detail)
