"""The classifier: a pure function from a workflow (+ its evidence) and a policy to a classification.

Risk is the highest level any signal reaches, with every signal listed; status follows the
brief's precedence (paused > experiment > pilot > proven > autonomous).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from aiops.policy import REVIEW_ORDER, RISK_ORDER, Policy, RiskLevel
from aiops.workflow import SENSITIVE_DATA, Workflow

EvidenceLabel = Literal["insufficient", "inconclusive", "saving", "slower"]
Status = Literal["paused", "experiment", "pilot", "proven", "autonomous"]
STATUSES: tuple[Status, ...] = ("paused", "experiment", "pilot", "proven", "autonomous")
STOP_CONDITIONS = {
    "no_owner": "No owner: every AI workflow needs one named human owner.",
    "customer_data_without_review": "Customer data is involved without review.",
    "changes_permissions_billing_production": (
        "Changes permissions, billing or production behaviour: needs a named approver's sign-off "
        "and an approve-each (or two-person) review."
    ),
    "success_not_measurable": "Success cannot be measured: no success metric.",
    "failure_invisible": "Failure would be invisible: nobody says how a failure is noticed.",
}
FOUR_QUESTIONS = {
    "trigger": "What input starts the workflow?",
    "acceptable_output": "What output is acceptable?",
    "reviewer": "Who reviews it?",
    "failure_plan": "What happens when it fails?",
}
GUARDED_CHANGES = ("permissions", "billing", "production")
FREE_TEXT_FIELDS = ("name", "manual_process", "expected_output")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Evidence(_Frozen):
    """What the timings say about a workflow (see aiops.metrics), plus the checkpoint history."""

    label: EvidenceLabel = "insufficient"
    n_before: int = 0
    n_after: int = 0
    last_checkpoint_removed_at: datetime | None = None
    after_samples_since_removal: int = 0
    last_incident_at: datetime | None = None


class Signal(_Frozen):
    level: RiskLevel
    field: str
    reason: str


class StopCondition(_Frozen):
    code: str
    reason: str


class RolloutRules(_Frozen):
    risk_level: RiskLevel
    owner: str
    approval_checkpoint: str
    logging_requirement: str
    rollback_path: str
    success_metric: str
    stays_human: str


class CheckpointAdvice(_Frozen):
    checkpoint: str | None
    reason: str


class Classification(_Frozen):
    workflow_id: str
    risk: RiskLevel
    signals: list[Signal]
    rollout: RolloutRules
    stop_conditions: list[StopCondition]
    status: Status
    status_reason: str
    evidence: EvidenceLabel
    unanswered_questions: list[str]
    unknown_values: dict[str, list[str]]
    next_checkpoint: CheckpointAdvice
    policy_version: str

    @property
    def stop_codes(self) -> list[str]:
        return [s.code for s in self.stop_conditions]


def risk_signals(workflow: Workflow, policy: Policy) -> list[Signal]:
    """Every signal that fires, structured fields first, then free text."""
    signals: list[Signal] = []
    for level, rules in policy.risk.levels():
        for field in ("changes", "data_touched"):
            for value in getattr(workflow, field):
                if value in getattr(rules, field):
                    signals.append(Signal(level=level, field=field, reason=f"{field} includes {value}"))
        if workflow.customer_impact in rules.customer_impact:
            signals.append(
                Signal(
                    level=level,
                    field="customer_impact",
                    reason=f"customer_impact is {workflow.customer_impact}",
                )
            )
    signals += _unknown_value_signals(workflow, policy)
    signals += _keyword_signals(workflow, policy)
    return signals


def _unknown_value_signals(workflow: Workflow, policy: Policy) -> list[Signal]:
    level = policy.risk.unknown_value_level
    return [
        Signal(
            level=level,
            field=field,
            reason=f"{field} has unknown value '{value}' (treated as {level} until mapped)",
        )
        for field, values in workflow.unknown_values().items()
        if field != "review_requirement"
        for value in values
    ]


def _keyword_signals(workflow: Workflow, policy: Policy) -> list[Signal]:
    texts = {field: getattr(workflow, field) for field in FREE_TEXT_FIELDS}
    # Unknown vocabulary values are free text too: "deploys" must still read as production.
    for field, values in workflow.unknown_values().items():
        texts[field] = " ; ".join(values)
    return [
        Signal(level=level, field=field, reason=f'{field} mentions "{matched}" ({keyword.reason})')
        for field, text in texts.items()
        if text
        for level, keyword, matched in policy.keyword_matcher.matches(text)
    ]


def highest_level(signals: list[Signal]) -> RiskLevel:
    return max((s.level for s in signals), key=RISK_ORDER.__getitem__, default="low")


def stop_conditions(workflow: Workflow) -> list[StopCondition]:
    codes = []
    if not workflow.owner:
        codes.append("no_owner")
    sensitive = any(d in SENSITIVE_DATA for d in workflow.data_touched)
    if sensitive and (_review_rank(workflow) == 0 or not workflow.reviewer):
        codes.append("customer_data_without_review")
    if any(c in GUARDED_CHANGES for c in workflow.changes) and not _guarded_change_cleared(workflow):
        codes.append("changes_permissions_billing_production")
    if not workflow.success_metric:
        codes.append("success_not_measurable")
    if not workflow.failure_detection:
        codes.append("failure_invisible")
    return [StopCondition(code=c, reason=STOP_CONDITIONS[c]) for c in codes]


def _review_rank(workflow: Workflow) -> int:
    # An empty or unknown review requirement counts as no review: unknown never loosens a rule.
    return REVIEW_ORDER.get(workflow.review_requirement, 0)


def _guarded_change_cleared(workflow: Workflow) -> bool:
    return bool(workflow.signed_off_by) and _review_rank(workflow) >= REVIEW_ORDER["approve_each"]


def unanswered_questions(workflow: Workflow) -> list[str]:
    return [field for field in FOUR_QUESTIONS if not getattr(workflow, field)]


def rollout_rules(workflow: Workflow, risk: RiskLevel, policy: Policy) -> RolloutRules:
    defaults = policy.rollout.for_level(risk)
    approval = defaults.approval_checkpoint
    if _review_rank(workflow) > REVIEW_ORDER[defaults.min_review]:
        who = f" by {workflow.reviewer}" if workflow.reviewer else ""
        approval = f"{workflow.review_requirement.replace('_', ' ')} review{who} (stricter than the default)"
    elif workflow.reviewer and _review_rank(workflow) == REVIEW_ORDER[defaults.min_review]:
        approval = f"{defaults.approval_checkpoint} (reviewer: {workflow.reviewer})"
    return RolloutRules(
        risk_level=risk,
        owner=workflow.owner or "none — stop condition",
        approval_checkpoint=approval,
        logging_requirement=defaults.logging_requirement,
        rollback_path=defaults.rollback_path,
        success_metric=workflow.success_metric or "none — stop condition",
        stays_human=defaults.stays_human,
    )


def decide_status(
    workflow: Workflow,
    risk: RiskLevel,
    stops: list[StopCondition],
    unanswered: list[str],
    evidence: Evidence,
) -> tuple[Status, str]:
    if stops:
        return "paused", "Open stop condition(s): " + ", ".join(s.code for s in stops)
    if unanswered:
        return "experiment", "The owner cannot yet answer: " + ", ".join(unanswered)
    if evidence.n_before == 0:
        return "experiment", "No baseline (before) timings yet"
    if evidence.label != "saving":
        return "pilot", f"Answered and measured; evidence is {evidence.label}, not yet saving"
    if workflow.checkpoints:
        return "proven", f"Evidence shows a saving with {len(workflow.checkpoints)} checkpoint(s) in place"
    if risk == "high":
        return "proven", "Evidence shows a saving, but high risk never runs without a checkpoint: add one"
    return "autonomous", "Proven saving and no checkpoints left"


def checkpoint_advice(
    workflow: Workflow,
    risk: RiskLevel,
    status: Status,
    evidence: Evidence,
    policy: Policy,
    now: datetime,
) -> CheckpointAdvice:
    """Which one checkpoint may go next, if any: one at a time, never the last for high risk."""
    if status != "proven" or not workflow.checkpoints:
        return CheckpointAdvice(checkpoint=None, reason="Only a proven workflow may drop a checkpoint")
    keep = policy.rollout.for_level(risk).min_checkpoints
    if len(workflow.checkpoints) <= keep:
        return CheckpointAdvice(checkpoint=None, reason=f"{risk} risk keeps at least {keep} checkpoint(s)")
    removed_at = evidence.last_checkpoint_removed_at
    if removed_at is not None:
        rules = policy.checkpoints
        if evidence.last_incident_at is not None and evidence.last_incident_at >= removed_at:
            return CheckpointAdvice(checkpoint=None, reason="An incident was recorded since the last removal")
        if now - removed_at < timedelta(weeks=rules.fresh_evidence_weeks):
            return CheckpointAdvice(
                checkpoint=None,
                reason=(
                    f"Wait for {rules.fresh_evidence_weeks} weeks of fresh evidence after the last removal"
                ),
            )
        if evidence.after_samples_since_removal < rules.fresh_evidence_samples:
            return CheckpointAdvice(
                checkpoint=None,
                reason=(
                    f"Needs {rules.fresh_evidence_samples} fresh after-samples since the last removal "
                    f"(has {evidence.after_samples_since_removal})"
                ),
            )
    return CheckpointAdvice(
        checkpoint=workflow.checkpoints[-1],
        reason="Proven saving: remove this one checkpoint, then gather fresh evidence",
    )


def classify_workflow(
    workflow: Workflow,
    policy: Policy,
    evidence: Evidence | None = None,
    now: datetime | None = None,
) -> Classification:
    evidence = evidence or Evidence()
    signals = risk_signals(workflow, policy)
    risk = highest_level(signals)
    stops = stop_conditions(workflow)
    unanswered = unanswered_questions(workflow)
    status, reason = decide_status(workflow, risk, stops, unanswered, evidence)
    advice = checkpoint_advice(workflow, risk, status, evidence, policy, now or datetime.now())
    return Classification(
        workflow_id=workflow.workflow_id,
        risk=risk,
        signals=sorted(signals, key=lambda s: -RISK_ORDER[s.level]),
        rollout=rollout_rules(workflow, risk, policy),
        stop_conditions=stops,
        status=status,
        status_reason=reason,
        evidence=evidence.label,
        unanswered_questions=unanswered,
        unknown_values=workflow.unknown_values(),
        next_checkpoint=advice,
        policy_version=policy.version,
    )
