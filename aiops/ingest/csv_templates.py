"""Downloadable CSV templates: the canonical columns with two example rows each."""

from __future__ import annotations

from aiops.ingest.recognise import CANONICAL
from aiops.workflow import FIELDS

# Two example timings, by canonical column (a column renamed in CANONICAL fails here, at import).
TIMING_EXAMPLES = (
    {
        "workflow_id": "support-ticket-triage",
        "phase": "before",
        "measured_at": "2026-03-02 09:15:00",
        "duration_minutes": "7.5",
        "loops": "1",
        "rework_minutes": "0",
    },
    {
        "workflow_id": "support-ticket-triage",
        "phase": "after",
        "measured_at": "2026-04-06 10:02:00",
        "duration_minutes": "186.0",
        "loops": "40",
        "rework_minutes": "12.5",
    },
)
TIMINGS_TEMPLATE = "".join(
    ",".join(row) + "\n"
    for row in (CANONICAL, *([example[c] for c in CANONICAL] for example in TIMING_EXAMPLES))
)

# One example workflow, by column of the workflows CSV (``aiops.workflow.FIELDS``, its order).
WORKFLOW_EXAMPLE = {
    "workflow_id": "support-ticket-triage",
    "name": "Support ticket triage",
    "department": "Support",
    "manual_process": "Agent reads and routes each new ticket",
    "data_touched": "customer_data",
    "changes": "team_workflow",
    "customer_impact": "internal",
    "expected_output": "Tags priority and queue for each ticket",
    "owner": "dana.lee@example.com",
    "reviewer": "Shift lead",
    "review_requirement": "spot_check",
    "success_metric": "Agent minutes per ticket triaged",
    "trigger": "A new ticket arrives",
    "acceptable_output": "Correct queue and priority",
    "failure_plan": "Switch off; tickets go to the manual queue",
    "failure_detection": "Weekly misroute audit",
    "checkpoints": "Shift lead spot-checks 20 a day; Misroute alert",
    "signed_off_by": "",
    "comparison_workflow_id": "",
    "ai_monthly_cost": "",
}
WORKFLOWS_TEMPLATE = "".join(",".join(row) + "\n" for row in (FIELDS, [WORKFLOW_EXAMPLE[f] for f in FIELDS]))
