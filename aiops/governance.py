"""Policy versions and stored classifications.

Classifications are stored with the policy version that produced them and refreshed inside every
write that can change them (workflow edits, uploads, undo, sign-off, checkpoints, a new policy);
a change of a workflow's risk or status is written to the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from aiops.auth import Actor
from aiops.errors import NotFound, PolicyError
from aiops.metrics import workflow_metrics
from aiops.policy import Policy
from aiops.store import Reader, Store, Tx
from aiops.workflow_reads import load_workflows

if TYPE_CHECKING:  # imported where a workflow is classified: opening a store mostly classifies none
    from aiops.classifier import Classification, Evidence

_EVENTS = """
SELECT workflow_id,
       max(recorded_at) FILTER (WHERE kind = 'checkpoint_removed') AS removed_at,
       max(recorded_at) FILTER (WHERE kind = 'incident') AS incident_at
FROM checkpoint_events GROUP BY workflow_id
"""
_SINCE_RESET = """
SELECT t.workflow_id, count(*) AS samples
FROM committed_samples t
JOIN (SELECT workflow_id, max(recorded_at) AS reset_at FROM checkpoint_events
      WHERE kind IN ('checkpoint_removed', 'incident') GROUP BY 1) r USING (workflow_id)
WHERE t.phase = 'after' AND t.measured_at >= r.reset_at
GROUP BY t.workflow_id
"""
_STORED = (
    "SELECT workflow_id, risk, status, policy_version FROM classifications "
    "WHERE $scope IS NULL OR workflow_id IN (SELECT unnest($scope))"
)
_DELETE_STORED = "DELETE FROM classifications WHERE $scope IS NULL OR workflow_id IN (SELECT unnest($scope))"
_DETAIL = "SELECT detail FROM classifications WHERE workflow_id = $workflow_id"
_HIGH_DETAILS = "SELECT workflow_id, detail FROM classifications WHERE risk = 'high'"
_DEPENDANTS = "SELECT workflow_id FROM workflows WHERE comparison_workflow_id IN (SELECT unnest($ids))"
_ACTIVE_POLICY = "SELECT version, sha256 FROM policy_versions ORDER BY applied_at DESC, version DESC LIMIT 1"
_POLICY_SHA = "SELECT sha256 FROM policy_versions WHERE version = $version"
_POLICY_HISTORY = (
    "SELECT version, applied_at, applied_by, sha256 FROM policy_versions ORDER BY applied_at DESC"
)


def evidence_by_workflow(
    db: Reader,
    policy: Policy,
    now: datetime,
    workflow_ids: list[str] | None = None,
) -> dict[str, Evidence]:
    """Evidence for every workflow, or for ``workflow_ids`` only (an upload estimates just its own),
    from the committed timing rows (``committed_samples``: pending uploads are left out)."""
    from aiops.classifier import Evidence

    metrics = workflow_metrics(db, policy.evidence, as_of=now, workflow_ids=workflow_ids)
    events = {row[0]: row[1:] for row in db.query(_EVENTS)}
    since = dict(db.query(_SINCE_RESET))
    evidence = {}
    columns = [
        "workflow_id",
        "evidence",
        "samples_before",
        "samples_after",
        "design",
        "warnings",
        "segmented",
    ]
    for row in metrics[columns].itertuples(index=False):
        removed_at, incident_at = events.get(row.workflow_id, (None, None))
        evidence[row.workflow_id] = Evidence(
            label=row.evidence,
            n_before=row.samples_before,
            n_after=row.samples_after,
            last_checkpoint_removed_at=removed_at,
            after_samples_since_reset=since.get(row.workflow_id, 0),
            last_incident_at=incident_at,
            design=row.design,
            warnings=tuple(row.warnings),
            segmented=bool(row.segmented),
        )
    return evidence


def classify_stored(
    db: Reader,
    policy: Policy,
    now: datetime,
    workflow_ids: Iterable[str] | None = None,
) -> list[Classification]:
    from aiops.classifier import classify_workflows

    workflows = load_workflows(db, workflow_ids)
    scope = None if workflow_ids is None else [w.workflow_id for w in workflows]
    evidence = evidence_by_workflow(db, policy, now, scope)
    return classify_workflows(workflows, policy, evidence, now)


def reclassify(tx: Tx, workflow_ids: list[str] | None = None) -> list[Classification]:
    """Refresh stored classifications (all when ``workflow_ids`` is None, else those workflows and
    the ones that use them as their comparison); audit each change. An upload's Confirm passes its
    workflows: its batch was made visible earlier in the same transaction."""
    if workflow_ids is not None:
        dependants = [r[0] for r in tx.query(_DEPENDANTS, {"ids": workflow_ids})]
        workflow_ids = list(dict.fromkeys([*workflow_ids, *dependants]))
    fresh = classify_stored(tx, tx.policy, tx.now, workflow_ids)
    scope = [c.workflow_id for c in fresh] if workflow_ids is not None else None
    old = {row[0]: row[1:] for row in tx.query(_STORED, {"scope": scope})}
    tx.audit_many(
        "classification.changed",
        "workflow",
        [
            (
                c.workflow_id,
                {
                    "risk": [before[0], c.risk],
                    "status": [before[1], c.status],
                    "policy_version": [before[2], c.policy_version],
                    "reason": c.status_reason,
                },
            )
            for c in fresh
            if (before := old.get(c.workflow_id)) and (before[0], before[1]) != (c.risk, c.status)
        ],
    )
    tx.execute(_DELETE_STORED, {"scope": scope})
    if fresh:
        rows = pd.DataFrame(
            {
                "workflow_id": [c.workflow_id for c in fresh],
                "policy_version": [c.policy_version for c in fresh],
                "risk": [c.risk for c in fresh],
                "status": [c.status for c in fresh],
                "stop_conditions": [c.stop_codes for c in fresh],
                "evidence": [c.evidence for c in fresh],
                "detail": [c.to_json() for c in fresh],
                "classified_at": tx.now,
            }
        )
        tx.cursor.register("fresh_classifications", rows)
        try:
            tx.execute(
                "INSERT INTO classifications SELECT workflow_id, policy_version, risk, status,"
                " stop_conditions::VARCHAR[], evidence, detail::JSON, classified_at"
                " FROM fresh_classifications"
            )
        finally:
            tx.cursor.unregister("fresh_classifications")
    return fresh


def stored_classification(db: Reader, workflow_id: str) -> Classification:
    from aiops.classifier import Classification

    row = db.query_one(_DETAIL, {"workflow_id": workflow_id})
    if row is None:
        raise NotFound(f"no classification for '{workflow_id}'", "is the workflow registered?")
    return Classification.from_json(row[0])


def precedent_highs(db: Reader) -> frozenset[str]:
    """The workflows that are high only because the published precedents raised them."""
    return frozenset(
        workflow_id
        for workflow_id, detail in db.query(_HIGH_DETAILS)
        if (json.loads(detail).get("precedents") or {}).get("outcome") == "raised"
    )


def active_policy_version(db: Reader) -> tuple[str, str] | None:
    return db.query_one(_ACTIVE_POLICY)


def apply_policy(store: Store, actor: Actor, policy: Policy) -> bool:
    """Make ``policy`` the active one. A new version is recorded and re-classifies every workflow
    (each change of risk or status is audited); the same version with other text is refused."""
    if active_policy_version(store) == (policy.version, policy.sha256):
        store.policy = policy
        return False
    known = store.query_one(_POLICY_SHA, {"version": policy.version})
    if known and known[0] != policy.sha256:
        raise PolicyError(
            f"policy version {policy.version} is already recorded with different rules",
            "bump `version` in the policy file whenever you change a rule",
        )
    actor.require_admin("change the policy")
    previous = store.policy

    def run(tx: Tx) -> None:
        tx.execute("DELETE FROM policy_versions WHERE version = ?", [policy.version])
        tx.execute(
            "INSERT INTO policy_versions VALUES (?, ?, ?, ?, ?)",
            [policy.version, policy.sha256, policy.source_text, tx.now, tx.actor.name],
        )
        tx.audit("policy.applied", "policy", policy.version, {"name": policy.name})
        tx.policy = policy
        reclassify(tx)

    store.policy = policy
    try:
        store.write(actor, run)
    except BaseException:
        store.policy = previous
        raise
    return True


def policy_history(db: Reader) -> pd.DataFrame:
    return db.query_df(_POLICY_HISTORY)
