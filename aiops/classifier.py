"""The classifier: a pure function from a workflow (+ its evidence) and a policy to a classification.

Risk is the highest level any signal reaches, with every signal listed; status follows the
brief's precedence (paused > experiment > pilot > proven > autonomous).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter

from aiops.clock import utcnow
from aiops.estimates.codes import Design, EvidenceLabel
from aiops.estimates.codes import blocking as blocking_warnings
from aiops.policy import REVIEW_ORDER, RISK_ORDER, Policy, RiskLevel
from aiops.policy import Status as Status  # defined beside the risk levels; the pages import it from here
from aiops.precedents import Opinion, Precedent, PrecedentModel, shipped_model, shipped_sha256, workflow_text
from aiops.workflow import SENSITIVE_DATA, Workflow

PrecedentOutcome = Literal["raised", "review", "unchanged"]
PRECEDENT_SOURCE = "US federal AI use-case inventories 2024, labelled by their agencies"


STATUSES = tuple(Status)
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
GUARDED_CHANGES = frozenset({"permissions", "billing", "production"})
FREE_TEXT_FIELDS = ("name", "manual_process", "expected_output")
# Structured answers that must be given: an empty one is "not answered", never low.
ANSWER_FIELDS = ("data_touched", "changes", "customer_impact")
UNANSWERED = "not answered"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Evidence(_Frozen):
    """What the timings say about a workflow (see aiops.metrics), plus the checkpoint history."""

    label: EvidenceLabel = EvidenceLabel.INSUFFICIENT
    n_before: int = 0
    n_after: int = 0
    last_checkpoint_removed_at: datetime | None = None
    last_incident_at: datetime | None = None
    # After-phase samples measured since the later of the last removal and the last incident.
    after_samples_since_reset: int = 0
    # How the saving was measured and what could be wrong with it (aiops.estimates).
    design: str = Design.NONE.value
    warnings: tuple[str, ...] = ()
    # Segments in both phases: a mix shift is reweighted, not blocking (aiops.estimates.codes.blocking).
    segmented: bool = False


NO_EVIDENCE = Evidence()


@dataclass(frozen=True, slots=True)
class Signal:
    """Why a workflow reaches a level: the field, the phrase or value matched, the rule's family
    and the published source the family comes from."""

    level: RiskLevel
    field: str
    reason: str
    matched: str = ""
    family: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class StopCondition:
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class RolloutRules:
    risk_level: RiskLevel
    owner: str
    approval_checkpoint: str
    logging_requirement: str
    rollback_path: str
    success_metric: str
    stays_human: str


@dataclass(frozen=True, slots=True)
class CheckpointAdvice:
    checkpoint: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class PrecedentCheck:
    """The second opinion from published precedents: what it did (raised to high, flagged for a
    human's review, or nothing), the calibrated probability of high impact and the nearest cases."""

    outcome: PrecedentOutcome
    probability: float
    nearest: tuple[Precedent, ...]
    version: str
    # What the opinion was computed from (``opinion_inputs``; empty: not recorded): a later
    # classification with the same inputs takes the opinion as it is, without the model.
    inputs: str = ""

    def opinion(self) -> Opinion:
        return Opinion(probability=self.probability, nearest=self.nearest, version=self.version)


@dataclass(frozen=True, slots=True)
class Classification:
    """The classifier's answer for one workflow (a plain dataclass: built 10,000 at a time)."""

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
    # None when the policy has precedents off or the workflow's text has no word they know.
    precedents: PrecedentCheck | None = None

    @property
    def stop_codes(self) -> list[str]:
        return [s.code for s in self.stop_conditions]

    def to_dict(self) -> dict[str, Any]:
        return _CLASSIFICATION.dump_python(self, mode="json")

    def to_json(self) -> str:
        return _CLASSIFICATION.dump_json(self).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> Classification:
        return _CLASSIFICATION.validate_json(text)


_CLASSIFICATION = TypeAdapter(Classification)
_PRECEDENT_CHECK = TypeAdapter(PrecedentCheck)


def stored_check(detail: str | bytes) -> PrecedentCheck | None:
    """The precedent check of a stored classification (its JSON), if it has one."""
    check = json.loads(detail).get("precedents")
    return None if check is None else _PRECEDENT_CHECK.validate_python(check)


def risk_signals(
    workflow: Workflow, policy: Policy, unknown: dict[str, list[str]] | None = None
) -> list[Signal]:
    """Every signal that fires, structured fields first, then free text."""
    unknown = workflow.unknown_values() if unknown is None else unknown
    levels = policy.value_levels
    signals = [
        Signal(level=level, field=field, reason=f"{field} includes {value}", matched=value, family=field)
        for field in ("changes", "data_touched")
        for value in getattr(workflow, field)
        for level in levels.get((field, value), ())
    ]
    impact = workflow.customer_impact
    signals += [
        Signal(
            level=level,
            field="customer_impact",
            reason=f"customer_impact is {impact}",
            matched=impact,
            family="customer_impact",
        )
        for level in levels.get(("customer_impact", impact), ())
    ]
    signals += _unanswered_signals(workflow, policy)
    signals += _unknown_value_signals(unknown, policy)
    signals += _keyword_signals(workflow, policy, unknown)
    return signals


def _unanswered_signals(workflow: Workflow, policy: Policy) -> list[Signal]:
    """Unknown is not low: an empty answer is a signal until it is answered."""
    level = RiskLevel(policy.risk.unanswered_level)
    return [
        Signal(
            level=level,
            field=field,
            reason=f"{UNANSWERED}: {field.replace('_', ' ')} (treated as {level} until answered)",
            family="unanswered",
            source="policy: unknown is not low",
        )
        for field in ANSWER_FIELDS
        if not getattr(workflow, field)
    ]


def _unknown_value_signals(unknown: dict[str, list[str]], policy: Policy) -> list[Signal]:
    level = RiskLevel(policy.risk.unknown_value_level)
    return [
        Signal(
            level=level,
            field=field,
            reason=f"{field} has unknown value '{value}' (treated as {level} until mapped)",
            matched=value,
            family="unknown_value",
            source="policy: unknown is not low",
        )
        for field, values in unknown.items()
        if field != "review_requirement"
        for value in values
    ]


def _keyword_signals(workflow: Workflow, policy: Policy, unknown: dict[str, list[str]]) -> list[Signal]:
    texts = [(field, getattr(workflow, field)) for field in FREE_TEXT_FIELDS]
    # Unknown vocabulary values are free text too: "deploys to production" must still read as such.
    texts += [(field, " ; ".join(v.replace("_", " ") for v in values)) for field, values in unknown.items()]
    signals = []
    lowered: dict[str, str] = {}
    for level, keyword, field, matched, spans in policy.keyword_matcher.matches(texts):
        family = keyword.family or keyword.reason
        if not keyword.purposes:
            reason = f'{field} mentions "{matched}" ({keyword.reason})'
            signals.append(Signal(level, field, reason, matched, family, keyword.source))
            continue
        if field not in lowered:
            lowered[field] = dict(texts)[field].lower()
        found = policy.purpose_finder.find(keyword, lowered[field], spans)
        if found is None:
            mention = RiskLevel(policy.risk.mention_level)
            reason = f'{field} mentions "{matched}" ({family}) without a decision purpose: {mention}'
            signals.append(Signal(mention, field, reason, matched, family, keyword.source))
            continue
        concept, purpose, phrase = found
        reason = f'{field}: "{concept}" with purpose "{phrase}" ({purpose}) ({keyword.reason})'
        signals.append(Signal(level, field, reason, f"{concept} … {phrase}", family, keyword.source))
    return signals


def mentions_high_concept(signals: Sequence[Signal], policy: Policy) -> bool:
    """The rules found a high-impact concept without its decision purpose (a mention): where
    they are least sure, and one of the precedent model's inputs."""
    return any(s.level != RiskLevel.HIGH and s.family in policy.decision_families for s in signals)


def opinion_inputs(text: str, mention: bool) -> str:
    """What an opinion of the shipped precedents is computed from: the model, the text and the
    rules' mention (``mentions_high_concept``)."""
    return hashlib.sha256(json.dumps([shipped_sha256(), text, mention]).encode()).hexdigest()


def precedent_opinions(
    workflows: Sequence[Workflow],
    signals: Sequence[Sequence[Signal]],
    policy: Policy,
    model: PrecedentModel | None = None,
    known: Mapping[str, PrecedentCheck] | None = None,
) -> list[tuple[Opinion | None, str]]:
    """The precedent model's opinion of each workflow (None each when the policy has it off),
    given the rules' signals of each, with its inputs (``opinion_inputs``; empty for a ``model``
    other than the shipped one). ``known``: checks stored earlier, by workflow id; one with the
    same inputs gives its opinion as it is (an upload changes no text: its Confirm reads no model)."""
    if not policy.precedents.enabled or not workflows:
        return [(None, "")] * len(workflows)
    texts = [workflow_text(w.name, w.manual_process, w.expected_output) for w in workflows]
    mentions = [mentions_high_concept(s, policy) for s in signals]
    if model is not None:
        return [(opinion, "") for opinion in model.opinions(texts, mentions)]
    inputs = [opinion_inputs(text, mention) for text, mention in zip(texts, mentions, strict=True)]
    known = known or {}
    opinions: list[Opinion | None] = [
        check.opinion() if (check := known.get(w.workflow_id)) and check.inputs == key else None
        for w, key in zip(workflows, inputs, strict=True)
    ]
    missing = [i for i, opinion in enumerate(opinions) if opinion is None]
    if missing:
        computed = shipped_model().opinions([texts[i] for i in missing], [mentions[i] for i in missing])
        for i, opinion in zip(missing, computed, strict=True):
            opinions[i] = opinion
    return list(zip(opinions, inputs, strict=True))


def precedent_check(
    opinion: Opinion | None, rules_risk: RiskLevel, policy: Policy, inputs: str = ""
) -> tuple[PrecedentCheck | None, list[Signal]]:
    """A second opinion, never a silent override: above ``raise_above``, with the nearest cases
    agreeing, a low or medium workflow becomes high with the signal `precedent` and the nearest
    cases as its evidence; above ``review_above`` otherwise, it is flagged for review. It never
    lowers a risk."""
    if opinion is None:
        return None, []
    rules = policy.precedents
    outcome: PrecedentOutcome = "unchanged"
    signals = []
    raised = opinion.probability > rules.raise_above and precedents_agree(opinion, policy)
    if rules_risk != RiskLevel.HIGH and raised:
        outcome = "raised"
        reason = (
            f"{opinion.evidence()} (probability {opinion.probability:.2f} > {rules.raise_above};"
            f" nearest similarity {opinion.top_similarity:.2f})"
        )
        signals.append(
            Signal(
                RiskLevel.HIGH,
                "precedents",
                reason,
                f"{opinion.probability:.2f}",
                "precedent",
                PRECEDENT_SOURCE,
            )
        )
    elif rules_risk != RiskLevel.HIGH and opinion.probability > rules.review_above:
        outcome = "review"
    check = PrecedentCheck(outcome, opinion.probability, opinion.nearest, opinion.version, inputs)
    return check, signals


def precedents_agree(opinion: Opinion, policy: Policy) -> bool:
    """The nearest cases back the probability: enough of them high-impact, and the nearest alike
    enough that the workflow reads as a published use case, not as one that shares a topic word."""
    rules = policy.precedents
    return opinion.high_votes >= rules.min_high_votes and opinion.top_similarity >= rules.min_similarity


def _highest_first(signal: Signal) -> int:
    return -RISK_ORDER[signal.level]


def stop_conditions(workflow: Workflow) -> list[StopCondition]:
    codes = []
    if not workflow.owner:
        codes.append("no_owner")
    sensitive = not SENSITIVE_DATA.isdisjoint(workflow.data_touched)
    if sensitive and (_review_rank(workflow) == 0 or not workflow.reviewer):
        codes.append("customer_data_without_review")
    guarded = not GUARDED_CHANGES.isdisjoint(workflow.changes)
    if guarded and not _guarded_change_cleared(workflow):
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


def evidence_gate(evidence: Evidence, policy: Policy) -> str | None:
    """Why a `saving` may not promote the workflow (None when it may): it must come from a design
    the policy trusts (never the unadjusted before/after) and carry no blocking warning."""
    if evidence.design not in policy.evidence.gate_designs:
        trusted = ", ".join(policy.evidence.gate_designs)
        return f"Saving measured by {evidence.design} only (unadjusted); proven needs one of: {trusted}"
    blocking = sorted(blocking_warnings(evidence.warnings, evidence.segmented))
    if blocking:
        return "Saving, but blocking warning(s) to resolve first: " + ", ".join(blocking)
    return None


def decide_status(
    workflow: Workflow,
    risk: RiskLevel,
    stops: list[StopCondition],
    unanswered: list[str],
    evidence: Evidence,
    gate: str | None = None,
) -> tuple[Status, str]:
    if stops:
        return Status.PAUSED, "Open stop condition(s): " + ", ".join(s.code for s in stops)
    if unanswered:
        return Status.EXPERIMENT, "The owner cannot yet answer: " + ", ".join(unanswered)
    if evidence.n_before == 0:
        return Status.EXPERIMENT, "No baseline (before) timings yet"
    if evidence.label != EvidenceLabel.SAVING:
        return Status.PILOT, f"Answered and measured; evidence is {evidence.label}, not yet saving"
    if gate:
        return Status.PILOT, gate
    if workflow.checkpoints:
        return (
            Status.PROVEN,
            f"Evidence shows a saving with {len(workflow.checkpoints)} checkpoint(s) in place",
        )
    if risk == RiskLevel.HIGH:
        return (
            Status.PROVEN,
            "Evidence shows a saving, but high risk never runs without a checkpoint: add one",
        )
    return Status.AUTONOMOUS, "Proven saving and no checkpoints left"


def checkpoint_advice(
    workflow: Workflow,
    risk: RiskLevel,
    status: Status,
    evidence: Evidence,
    policy: Policy,
    now: datetime | None = None,
) -> CheckpointAdvice:
    """Which one checkpoint may go next, if any: one at a time; never the last human check of a
    medium or high risk workflow, nor of one touching customer, personal, financial or health data."""
    if status != Status.PROVEN or not workflow.checkpoints:
        return CheckpointAdvice(checkpoint=None, reason="Only a proven workflow may drop a checkpoint")
    keep, why = policy.rollout.for_level(risk).min_checkpoints, f"{risk} risk"
    sensitive = sorted(set(workflow.data_touched) & SENSITIVE_DATA)
    if keep < 1 and (risk != RiskLevel.LOW or sensitive):
        keep, why = 1, (f"{risk} risk" if risk != RiskLevel.LOW else "touching " + ", ".join(sensitive))
    if len(workflow.checkpoints) <= keep:
        return CheckpointAdvice(checkpoint=None, reason=f"{why} keeps at least {keep} human checkpoint(s)")
    # The clock restarts at the last removal or the last incident, whichever came later.
    moments = {"removal": evidence.last_checkpoint_removed_at, "incident": evidence.last_incident_at}
    known = {event: at for event, at in moments.items() if at is not None}
    if known:
        event, since = max(known.items(), key=lambda item: item[1])
        rules = policy.checkpoints
        now = now or utcnow()
        if now - since < timedelta(weeks=rules.fresh_evidence_weeks):
            return CheckpointAdvice(
                checkpoint=None,
                reason=f"Wait {rules.fresh_evidence_weeks} weeks for fresh evidence after the last {event}",
            )
        if evidence.after_samples_since_reset < rules.fresh_evidence_samples:
            return CheckpointAdvice(
                checkpoint=None,
                reason=(
                    f"Needs {rules.fresh_evidence_samples} fresh after-samples since the last {event} "
                    f"(has {evidence.after_samples_since_reset})"
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
    return classify_workflows(
        [workflow], policy, {workflow.workflow_id: evidence} if evidence else None, now
    )[0]


def classify_workflows(
    workflows: Sequence[Workflow],
    policy: Policy,
    evidence: Mapping[str, Evidence] | None = None,
    now: datetime | None = None,
    model: PrecedentModel | None = None,
    known: Mapping[str, PrecedentCheck] | None = None,
) -> list[Classification]:
    """Classify workflows; the precedent model scores them together (much faster than one by
    one). ``model`` defaults to the shipped precedents; ``known``: see ``precedent_opinions``."""
    evidence = evidence or {}
    unknown = [w.unknown_values() for w in workflows]
    signals = [
        sorted(risk_signals(w, policy, u), key=_highest_first)
        for w, u in zip(workflows, unknown, strict=True)
    ]
    opinions = precedent_opinions(workflows, signals, policy, model, known)
    return [
        _classify(w, policy, evidence.get(w.workflow_id), now, rules)
        for w, rules in zip(workflows, zip(unknown, signals, opinions, strict=True), strict=True)
    ]


def _classify(
    workflow: Workflow,
    policy: Policy,
    evidence: Evidence | None,
    now: datetime | None,
    rules: tuple[dict[str, list[str]], list[Signal], tuple[Opinion | None, str]],
) -> Classification:
    evidence = evidence or NO_EVIDENCE
    unknown, signals, (opinion, inputs) = rules
    check, raised = precedent_check(opinion, signals[0].level if signals else RiskLevel.LOW, policy, inputs)
    signals = raised + signals
    risk = signals[0].level if signals else RiskLevel.LOW
    stops = stop_conditions(workflow)
    unanswered = unanswered_questions(workflow)
    gate = evidence_gate(evidence, policy) if evidence.label == EvidenceLabel.SAVING else None
    status, reason = decide_status(workflow, risk, stops, unanswered, evidence, gate)
    advice = checkpoint_advice(workflow, risk, status, evidence, policy, now)
    return Classification(
        workflow_id=workflow.workflow_id,
        risk=risk,
        signals=signals,
        rollout=rollout_rules(workflow, risk, policy),
        stop_conditions=stops,
        status=status,
        status_reason=reason,
        evidence=evidence.label,
        unanswered_questions=unanswered,
        unknown_values=unknown,
        next_checkpoint=advice,
        policy_version=policy.version,
        precedents=check,
    )
