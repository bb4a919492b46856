"""Downloadable CSV templates: the canonical columns with two example rows each."""

from __future__ import annotations

from aiops.ingest.recognise import CANONICAL

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

WORKFLOWS_TEMPLATE = (
    "workflow_id,name,department,manual_process,data_touched,changes,customer_impact,"
    "expected_output,owner,reviewer,review_requirement,success_metric,trigger,acceptable_output,"
    "failure_plan,failure_detection,checkpoints,signed_off_by\n"
    "support-ticket-triage,Support ticket triage,Support,Agent reads and routes each new ticket,"
    "customer_data,team_workflow,internal,Tags priority and queue for each ticket,dana.lee@example.com,"
    "Shift lead,spot_check,Agent minutes per ticket triaged,A new ticket arrives,"
    "Correct queue and priority,Switch off; tickets go to the manual queue,Weekly misroute audit,"
    "Shift lead spot-checks 20 a day; Misroute alert,\n"
)
