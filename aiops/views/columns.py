"""Groups of the workflow frame's columns (each declared once in ``aiops.columns``, and checked to
be declared here): the summary, the board pack's CSV and the dashboard's tables list the groups
they show (each estimate always with its 95% interval)."""

from __future__ import annotations

from aiops.columns import declared

WHO = declared(("workflow_id", "name", "department", "owner"))
STANDING = declared(("risk", "status", "evidence"))
HOW_MEASURED = declared(("design", "warnings", "blocking", "proven"))
SAMPLES = declared(("samples_before", "samples_after"))

SAVED_PER_LOOP = declared(("saved_per_loop", "saved_low", "saved_high"))
# The saving in the run-rate window (status and run rate follow it), beside the period average.
CURRENT_SAVING = declared(("current_per_loop", "current_low", "current_high"))
# The AI vs non-AI difference, kept beside the intention-to-treat figure when `selection` is raised.
CONCURRENT_SAVING = declared(("concurrent_per_loop", "concurrent_low", "concurrent_high"))
HOURS_RETURNED = declared(("hours_returned", "hours_returned_low", "hours_returned_high"))
LOOPS_REMOVED = declared(("loops_removed", "loops_removed_low", "loops_removed_high"))
VALUE = declared(("value", "value_low", "value_high"))
NET_VALUE = declared(("net_value", "net_value_low", "net_value_high"))
# Fields of the department totals (Totals), not frame columns.
HOURS_AT_RISK = ("hours_at_risk", "hours_at_risk_low", "hours_at_risk_high")
# Each estimate with its 95% interval: never one without the other (the AI cost is known).
ESTIMATES = declared(
    (*SAVED_PER_LOOP, *CURRENT_SAVING, *HOURS_RETURNED, *LOOPS_REMOVED, *VALUE, "ai_cost", *NET_VALUE)
)

# What `aiops report summary --json` lists per workflow, in this order.
SUMMARY_COLUMNS = declared(
    (
        *WHO,
        *STANDING,
        *HOW_MEASURED,
        "time_kind",
        "stop_conditions",
        *SAMPLES,
        "loops_before",
        "loops_after",
        "mean_per_loop_before",
        "mean_per_loop_after",
        "median_per_loop_before",
        "median_per_loop_after",
        "rework_minutes_after",
        "outlier_samples_before",
        "outlier_samples_after",
        "censored_samples_before",
        "censored_samples_after",
        *SAVED_PER_LOOP,
        *CURRENT_SAVING,
        *CONCURRENT_SAVING,
        "period_loops_after",
        *HOURS_RETURNED,
        "hours_per_week",
        "banked",
        "unproven",
        "at_risk",
        *LOOPS_REMOVED,
        "hourly_cost",
        *VALUE,
        "ai_monthly_cost",
        "ai_cost",
        "ai_cost_without_data",
        *NET_VALUE,
        "roi",
        "adoption",
        "cycle_time_change_days",
        "cycle_time_change_low",
        "cycle_time_change_high",
        "last_measured",
        "data_through",
        "baseline_until",
    )
)
