"""Downloadable CSV templates: the canonical columns with two example rows each."""

from __future__ import annotations

TIMINGS_TEMPLATE = (
    "workflow_id,phase,measured_at,duration_minutes,loops,rework_minutes\n"
    "support-ticket-triage,before,2026-03-02 09:15:00,7.5,1,0\n"
    "support-ticket-triage,after,2026-04-06 10:02:00,186.0,40,12.5\n"
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
