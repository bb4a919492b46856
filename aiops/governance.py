"""Policy versions and stored classifications.

Classifications are stored with the policy version that produced them and refreshed inside every
write that can change them (workflow edits, uploads, undo, sign-off, checkpoints, a new policy);
a change of a workflow's risk or status is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from aiops.auth import Actor
from aiops.errors import NotFound, PolicyError
from aiops.metrics import estimate_window, estimates, evidence_labels
from aiops.policy import Policy, RiskLevel
from aiops.store import Reader, Store, Tx
from aiops.workflow import Workflow
from aiops.workflow_reads import load_workflows

if TYPE_CHECKING:  # imported where a workflow is classified: opening a store mostly classifies none
    from aiops.classifier import Classification, Evidence, PrecedentCheck

# Per workflow of the scope: its checkpoint history (the last removal, the last incident, the
# after-phase samples measured since the later of them) and its stored classification, in one read.
# A stored classification's next approval checkpoint (in its detail).
NEXT_CHECKPOINT = "json_extract_string(c.detail, '$.next_checkpoint.checkpoint')"
_HISTORY = f"""
WITH events AS (
    SELECT workflow_id,
           max(recorded_at) FILTER (WHERE kind = 'checkpoint_removed') AS removed_at,
           max(recorded_at) FILTER (WHERE kind = 'incident') AS incident_at,
           max(recorded_at) FILTER (WHERE kind IN ('checkpoint_removed', 'incident')) AS reset_at
    FROM checkpoint_events
    WHERE $scope IS NULL OR workflow_id IN (SELECT unnest($scope))
    GROUP BY workflow_id
),
since AS (
    SELECT t.workflow_id, count(*) AS samples
    FROM committed_samples t JOIN events e ON e.workflow_id = t.workflow_id AND t.measured_at >= e.reset_at
    WHERE t.phase = 'after'
    GROUP BY t.workflow_id
)
SELECT w.workflow_id, e.removed_at, e.incident_at, coalesce(s.samples, 0) AS since_reset,
       c.risk, c.status, c.policy_version, c.stop_conditions, {NEXT_CHECKPOINT}
FROM workflows w
LEFT JOIN events e USING (workflow_id) LEFT JOIN since s USING (workflow_id)
LEFT JOIN classifications c USING (workflow_id)
WHERE $scope IS NULL OR w.workflow_id IN (SELECT unnest($scope))
"""
_DELETE_STORED = "DELETE FROM classifications WHERE $scope IS NULL OR workflow_id IN (SELECT unnest($scope))"
# Lists unnested side by side (DuckDB zips them): every classification in one statement.
_INSERT_STORED = (
    "INSERT INTO classifications SELECT unnest($ids::VARCHAR[]), unnest($versions::VARCHAR[]),"
    " unnest($risks::VARCHAR[]), unnest($statuses::VARCHAR[]), unnest($stops::VARCHAR[][]),"
    " unnest($evidence::VARCHAR[]), unnest($details::VARCHAR[])::JSON, $now"
)
_DETAIL = "SELECT detail FROM classifications WHERE workflow_id = $workflow_id"
_HIGH_DETAILS = "SELECT workflow_id, detail FROM classifications WHERE risk = $risk"
_DETAILS = (
    "SELECT workflow_id, detail FROM classifications"
    " WHERE $scope IS NULL OR workflow_id IN (SELECT unnest($scope))"
)
_ACTIVE_POLICY = "SELECT version, sha256 FROM policy_versions ORDER BY applied_at DESC, version DESC LIMIT 1"
_POLICY_SHA = "SELECT sha256 FROM policy_versions WHERE version = $version"
_POLICY_HISTORY = (
    "SELECT version, applied_at, applied_by, sha256 FROM policy_versions ORDER BY applied_at DESC"
)


@dataclass(frozen=True)
class Labels:
    """What a stored classification says of a workflow, as the views read it (``aiops.views.parts``)."""

    risk: str
    status: str
    policy_version: str
    stop_conditions: tuple[str, ...]
    next_checkpoint: str | None

    @classmethod
    def of(cls, c: Classification) -> Labels:
        return cls(c.risk, c.status, c.policy_version, tuple(c.stop_codes), c.next_checkpoint.checkpoint)

    def changed(self, now: Labels) -> bool:
        """Whether a view would show ``now`` otherwise (the policy version alone is not shown)."""
        return replace(self, policy_version="") != replace(now, policy_version="")


@dataclass(frozen=True)
class History:
    """A workflow's checkpoint history and stored classification (``_HISTORY``)."""

    removed_at: datetime | None
    incident_at: datetime | None
    after_samples_since_reset: int
    stored: Labels | None


NO_HISTORY = History(None, None, 0, None)


def histories(db: Reader, scope: list[str] | None) -> dict[str, History]:
    """The history of every workflow in ``scope`` (all when None)."""
    rows = db.query(_HISTORY, {"scope": scope})
    return {
        workflow_id: History(
            removed,
            incident,
            int(since),
            Labels(risk, status, version, tuple(stops), next_) if risk else None,
        )
        for workflow_id, removed, incident, since, risk, status, version, stops, next_ in rows
    }


def evidence_by_workflow(
    db: Reader,
    policy: Policy,
    now: datetime,
    workflows: Sequence[Workflow],
    scope: list[str] | None,
    history: dict[str, History],
) -> dict[str, Evidence]:
    """Evidence for ``workflows`` (every one when ``scope`` is None, else those of ``scope``: an
    upload estimates just its own), from the committed timing rows (``committed_samples``: pending
    uploads are left out): each one's estimate record, as kept or computed, without the metrics
    frame."""
    from aiops.classifier import NO_EVIDENCE, Evidence

    rules = policy.evidence
    comparisons = {w.workflow_id: w.comparison_workflow_id for w in workflows if w.comparison_workflow_id}
    window = estimate_window(rules, as_of=now)
    records = {r.workflow_id: r for r in estimates(db, rules, window, comparisons, scope)}
    labels = dict(zip(records, evidence_labels(list(records.values()), rules), strict=True))
    evidence = {}
    for workflow in workflows:
        record = records.get(workflow.workflow_id)
        measured = NO_EVIDENCE  # no timings: no record, no design, no warnings
        if record is not None:
            measured = Evidence(
                label=labels[workflow.workflow_id],
                n_before=record.before.samples,
                n_after=record.after.samples,
                design=record.design.value,
                warnings=tuple(sorted(w.value for w in record.warnings)),
                segmented=record.segmented,
            )
        past = history.get(workflow.workflow_id, NO_HISTORY)
        evidence[workflow.workflow_id] = measured.model_copy(
            update={
                "last_checkpoint_removed_at": past.removed_at,
                "last_incident_at": past.incident_at,
                "after_samples_since_reset": past.after_samples_since_reset,
            }
        )
    return evidence


def classify_stored(
    db: Reader,
    policy: Policy,
    now: datetime,
    workflow_ids: Iterable[str] | None = None,
) -> tuple[list[Classification], dict[str, History]]:
    """The classifications of ``workflow_ids`` (all when None) and the workflows that use them as
    their comparison, as of now, with each one's history (the stored classification among it)."""
    from aiops.classifier import classify_workflows

    workflows = load_workflows(db, workflow_ids, dependants=workflow_ids is not None)
    scope = None if workflow_ids is None else [w.workflow_id for w in workflows]
    history = histories(db, scope)
    evidence = evidence_by_workflow(db, policy, now, workflows, scope, history)
    known = stored_checks(db, scope) if policy.precedents.enabled else None
    return classify_workflows(workflows, policy, evidence, now, known=known), history


def stored_checks(db: Reader, scope: list[str] | None) -> dict[str, PrecedentCheck]:
    """The precedent checks stored with the classifications of ``scope`` (all when None)."""
    from aiops.classifier import stored_check

    rows = db.query(_DETAILS, {"scope": scope})
    checks = {workflow_id: stored_check(detail) for workflow_id, detail in rows}
    return {workflow_id: check for workflow_id, check in checks.items() if check is not None}


def reclassify(tx: Tx, workflow_ids: list[str] | None = None) -> list[Classification]:
    """Refresh stored classifications (all when ``workflow_ids`` is None, else those workflows and
    the ones that use them as their comparison); audit each change of what a view shows of one
    (risk, status, stop conditions, next checkpoint): the views trust the log to tell them
    (``aiops.views.rows_state``). An upload's Confirm passes its workflows: its batch was made
    visible earlier in the same transaction."""
    fresh, history = classify_stored(tx, tx.policy, tx.now, workflow_ids)
    scope = [c.workflow_id for c in fresh] if workflow_ids is not None else None
    tx.audit_many(
        "classification.changed",
        "workflow",
        [
            (c.workflow_id, _change(before, now, c.status_reason))
            for c, now in ((c, Labels.of(c)) for c in fresh)
            if (before := history.get(c.workflow_id, NO_HISTORY).stored) and before.changed(now)
        ],
    )
    tx.execute(_DELETE_STORED, {"scope": scope})
    if fresh:
        tx.execute(
            _INSERT_STORED,
            {
                "ids": [c.workflow_id for c in fresh],
                "versions": [c.policy_version for c in fresh],
                "risks": [c.risk.value for c in fresh],
                "statuses": [c.status.value for c in fresh],
                "stops": [c.stop_codes for c in fresh],
                "evidence": [c.evidence.value for c in fresh],
                "details": [c.to_json() for c in fresh],
                "now": tx.now,
            },
        )
    return fresh


def _change(before: Labels, now: Labels, reason: str) -> dict[str, object]:
    """An audit row's detail: each label as [before, now] (stop conditions and the next checkpoint
    when they moved), and why the status is what it is."""
    detail: dict[str, object] = {
        "risk": [before.risk, now.risk],
        "status": [before.status, now.status],
        "policy_version": [before.policy_version, now.policy_version],
    }
    if before.stop_conditions != now.stop_conditions:
        detail["stop_conditions"] = [list(before.stop_conditions), list(now.stop_conditions)]
    if before.next_checkpoint != now.next_checkpoint:
        detail["next_checkpoint"] = [before.next_checkpoint, now.next_checkpoint]
    return detail | {"reason": reason}


def stored_classification(db: Reader, workflow_id: str) -> Classification:
    from aiops.classifier import Classification

    row = db.query_one(_DETAIL, {"workflow_id": workflow_id})
    if row is None:
        raise NotFound(f"no classification for '{workflow_id}'", "is the workflow registered?")
    return Classification.from_json(row[0])


def precedent_highs(db: Reader) -> frozenset[str]:
    """The workflows that are high only because the published precedents raised them."""
    from aiops.classifier import stored_check

    return frozenset(
        workflow_id
        for workflow_id, detail in db.query(_HIGH_DETAILS, {"risk": RiskLevel.HIGH.value})
        if (check := stored_check(detail)) is not None and check.outcome == "raised"
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
