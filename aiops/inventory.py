"""The workflow inventory: save (upsert by workflow_id), sign off, remove a checkpoint,
record an incident. Every write checks the actor's permission, runs inside ``Store.write`` and is
audited with before and after values. Reads are in ``aiops.workflow_reads``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from aiops import governance
from aiops.auth import Actor
from aiops.errors import AiopsError, Conflict
from aiops.identity import identity_key
from aiops.store import Store, Tx
from aiops.workflow import FIELDS, Workflow, check_length
from aiops.workflow_reads import COLUMNS, departments, get_workflow, load_workflows

_STATUSES = "SELECT workflow_id, status FROM classifications WHERE workflow_id IN (SELECT unnest($ids))"
_CREATED_AT = "SELECT workflow_id, created_at FROM workflows WHERE workflow_id IN (SELECT unnest($ids))"


@dataclass
class SaveResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # updated id -> the fields that changed
    # created or updated id -> (status before, status after); None before = newly registered
    statuses: dict[str, tuple[str | None, str]] = field(default_factory=dict)

    def status_moves(self) -> dict[str, tuple[str | None, str]]:
        """The saved workflows whose status moved (a new workflow's first status counts)."""
        return {k: v for k, v in self.statuses.items() if v[0] != v[1]}


def _as_stored(tx: Tx, workflows: list[Workflow]) -> list[Workflow]:
    """Each workflow under the id and department spelling first written: `SUPPORT` updates
    `Support`'s workflows rather than creating a twin; repeats in one batch collapse likewise."""
    ids: dict[str, str] = {}
    for (workflow_id,) in tx.query("SELECT workflow_id FROM workflows ORDER BY created_at, workflow_id"):
        ids.setdefault(identity_key(workflow_id), workflow_id)
    for w in workflows:  # first: a comparison may name a workflow later in the same batch
        ids.setdefault(identity_key(w.workflow_id), w.workflow_id.strip())
    names: dict[str, str] = {}
    for department in departments(tx):
        names.setdefault(identity_key(department), department)
    out = []
    for w in workflows:
        comparison = w.comparison_workflow_id
        update = {
            "workflow_id": ids[identity_key(w.workflow_id)],
            "department": names.setdefault(identity_key(w.department), " ".join(w.department.split())),
            # stored in its workflow's spelling, so estimates and merges find it
            "comparison_workflow_id": comparison and ids.get(identity_key(comparison), comparison.strip()),
        }
        if update != {k: getattr(w, k) for k in update}:
            w = w.model_copy(update=update)
        out.append(w)
    return list({w.workflow_id: w for w in out}.values())  # the last row of an id wins


def save_workflows(tx: Tx, workflows: list[Workflow], source: str) -> SaveResult:
    """Upsert by workflow_id inside ``tx`` (ids and departments matched ignoring case and
    spacing); audit each created or changed workflow."""
    workflows = _as_stored(tx, workflows)
    existing = {w.workflow_id: w for w in load_workflows(tx, [w.workflow_id for w in workflows])}
    _check_comparisons(tx, workflows)
    result = SaveResult()
    created, updated = [], []
    for workflow in workflows:
        tx.actor.require_write(workflow.department, "register or edit workflows")
        before = existing.get(workflow.workflow_id)
        if before is None:
            result.created.append(workflow.workflow_id)
            created.append((workflow.workflow_id, {"source": source, "after": workflow.model_dump()}))
            continue
        tx.actor.require_write(before.department, "edit workflows")
        diff = diff_fields(before, workflow)
        if diff:
            result.updated.append(workflow.workflow_id)
            result.changed[workflow.workflow_id] = list(diff)
            updated.append((workflow.workflow_id, {"source": source, "changed": diff}))
        else:
            result.unchanged.append(workflow.workflow_id)
    tx.audit_many("workflow.created", "workflow", created)
    tx.audit_many("workflow.updated", "workflow", updated)
    changed = result.created + result.updated
    if changed:
        statuses: dict[str, str] = dict(tx.query(_STATUSES, {"ids": changed}))
        _replace_rows(tx, [w for w in workflows if w.workflow_id in set(changed)], result.updated)
        fresh = {c.workflow_id: c.status for c in governance.reclassify(tx, changed)}
        result.statuses = {i: (statuses.get(i), fresh[i]) for i in changed if i in fresh}
    return result


def _check_comparisons(tx: Tx, workflows: list[Workflow]) -> None:
    """A comparison workflow is another workflow, already saved or saved with these."""
    named = {w.workflow_id: w.comparison_workflow_id for w in workflows if w.comparison_workflow_id}
    if not named:
        return
    known = {identity_key(r[0]) for r in tx.query("SELECT workflow_id FROM workflows")}
    known |= {identity_key(w.workflow_id) for w in workflows}
    for workflow_id, comparison in named.items():
        if identity_key(comparison) == identity_key(workflow_id):
            raise Conflict(
                f"workflow '{workflow_id}' names itself as its comparison workflow",
                "name another workflow that did not adopt AI, or leave comparison_workflow_id empty",
            )
        if identity_key(comparison) not in known:
            raise Conflict(
                f"workflow '{workflow_id}' names comparison workflow '{comparison}', which does not exist",
                "register the comparison workflow first (or in the same file)",
            )


def _replace_rows(tx: Tx, workflows: list[Workflow], updated_ids: list[str]) -> None:
    """Delete-then-insert in one statement pair: bulk, and keeps each row's created_at."""
    created = dict(tx.query(_CREATED_AT, {"ids": updated_ids}))
    rows = pd.DataFrame([w.model_dump() for w in workflows])
    rows["created_at"] = [created.get(i, tx.now) for i in rows.workflow_id]
    rows["updated_at"] = tx.now
    tx.execute("DELETE FROM workflows WHERE workflow_id IN (SELECT unnest(?))", [updated_ids])
    tx.cursor.register("incoming_workflows", rows)
    try:
        tx.execute(
            f"INSERT INTO workflows ({COLUMNS}, created_at, updated_at) "
            f"SELECT {COLUMNS}, created_at, updated_at FROM incoming_workflows"
        )
    finally:
        tx.cursor.unregister("incoming_workflows")


def diff_fields(before: Workflow, after: Workflow) -> dict[str, list[Any]]:
    """Changed fields as {field: [before, after]}."""
    return {
        name: [getattr(before, name), getattr(after, name)]
        for name in FIELDS
        if getattr(before, name) != getattr(after, name)
    }


def save_workflow(store: Store, actor: Actor, workflow: Workflow, source: str = "form") -> SaveResult:
    return store.write(actor, lambda tx: save_workflows(tx, [workflow], source))


def sign_off(store: Store, actor: Actor, workflow_id: str, approver: str) -> Workflow:
    """A named approver signs off a permission/billing/production change (audited)."""
    approver = approver.strip()
    if not approver:
        raise Conflict("a sign-off needs the approver's name", "pass --by NAME")
    _bounded("signed_off_by", approver)

    def run(tx: Tx) -> Workflow:
        workflow = get_workflow(tx, workflow_id)  # any case or spacing: the stored spelling
        tx.actor.require_write(workflow.department, "sign off workflows")
        updated = workflow.model_copy(update={"signed_off_by": approver})
        _update_fields(
            tx, updated, {"signed_off_by": [workflow.signed_off_by, approver]}, "workflow.signed_off"
        )
        tx.execute(
            "INSERT INTO checkpoint_events (workflow_id, kind, note, actor, recorded_at) "
            "VALUES (?, 'sign_off', ?, ?, ?)",
            [workflow.workflow_id, f"signed off by {approver}", tx.actor.name, tx.now],
        )
        governance.reclassify(tx, [workflow.workflow_id])
        return updated

    return store.write(actor, run)


def remove_checkpoint(store: Store, actor: Actor, workflow_id: str, checkpoint: str) -> Workflow:
    """Remove one checkpoint, only the one the ladder suggests now (audited)."""

    def run(tx: Tx) -> Workflow:
        workflow = get_workflow(tx, workflow_id)  # any case or spacing: the stored spelling
        tx.actor.require_write(workflow.department, "remove checkpoints")
        advice = governance.stored_classification(tx, workflow.workflow_id).next_checkpoint
        if advice.checkpoint != checkpoint:
            raise Conflict(
                f"checkpoint '{checkpoint}' may not be removed now: {advice.reason}",
                "remove one checkpoint at a time, as suggested",
            )
        remaining = [c for c in workflow.checkpoints if c != checkpoint]
        updated = workflow.model_copy(update={"checkpoints": remaining})
        _update_fields(tx, updated, {"checkpoints": [workflow.checkpoints, remaining]}, "checkpoint.removed")
        tx.execute(
            "INSERT INTO checkpoint_events (workflow_id, kind, checkpoint, actor, recorded_at) "
            "VALUES (?, 'checkpoint_removed', ?, ?, ?)",
            [workflow.workflow_id, checkpoint, tx.actor.name, tx.now],
        )
        governance.reclassify(tx, [workflow.workflow_id])
        return updated

    return store.write(actor, run)


def record_incident(store: Store, actor: Actor, workflow_id: str, note: str) -> None:
    """An incident restarts the checkpoint ladder's clock: the next removal waits for fresh
    evidence gathered after it (audited)."""
    _bounded("note", note)

    def run(tx: Tx) -> None:
        workflow = get_workflow(tx, workflow_id)  # any case or spacing: the stored spelling
        tx.actor.require_write(workflow.department, "record incidents")
        tx.execute(
            "INSERT INTO checkpoint_events (workflow_id, kind, note, actor, recorded_at) "
            "VALUES (?, 'incident', ?, ?, ?)",
            [workflow.workflow_id, note, tx.actor.name, tx.now],
        )
        tx.audit("incident.recorded", "workflow", workflow.workflow_id, {"note": note})
        governance.reclassify(tx, [workflow.workflow_id])

    store.write(actor, run)


def _update_fields(tx: Tx, workflow: Workflow, diff: dict[str, Any], action: str) -> None:
    assignments = ", ".join(f'"{name}" = ?' for name in diff)
    values = [getattr(workflow, name) for name in diff]
    tx.execute(
        f"UPDATE workflows SET {assignments}, updated_at = ? WHERE workflow_id = ?",
        [*values, tx.now, workflow.workflow_id],
    )
    tx.audit(action, "workflow", workflow.workflow_id, {"changed": diff})


def _bounded(field: str, value: str) -> None:
    try:
        check_length(field, value)
    except ValueError as e:
        raise AiopsError(str(e), "shorten it") from e
