"""Open the store the way every entry point does: migrated, with the configured policy active."""

from __future__ import annotations

from pathlib import Path

from aiops.auth import Actor
from aiops.governance import apply_policy
from aiops.policy import load_policy
from aiops.settings import Settings
from aiops.store import Store, pending, utcnow

# A policy file named in the settings is a deployment decision; it is recorded under this name.
CONFIGURED = Actor(name="policy file (settings)", role="admin")


def open_store(settings: Settings, policy_path: str | Path | None = None, actor: Actor = CONFIGURED) -> Store:
    """The database in ``settings``, with ``policy_path`` (or the configured policy) active.

    A policy version not seen before is recorded, audited and re-classifies every workflow.
    Pending uploads nobody can confirm any more are removed.
    """
    policy = load_policy(policy_path or settings.policy)
    store = Store(
        settings.db,
        policy=policy,
        lock_timeout_s=settings.lock_timeout_s,
        max_upload_bytes=settings.max_upload_bytes,
        memory_limit=settings.memory_limit,
    )
    try:
        apply_policy(store, actor, policy)
        pending.sweep(store, utcnow())  # previews a closed session or an ended process left
    except BaseException:
        store.close()
        raise
    return store
