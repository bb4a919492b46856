"""Event logs: each case (its first to its last event) becomes one loop."""

from __future__ import annotations

from aiops.ingest.checks import Check, reject_columns, reject_values
from aiops.ingest.measurement import fixed_phase
from aiops.ingest.reader import Staged
from aiops.ingest.timing_sql import Plan, cleaned_rows, go_live_phase, mapping_params, workflow_join
from aiops.sql import bound
from aiops.store import Cursor


def check_events(
    cursor: Cursor,
    staged: Staged,
    plan: Plan,
    projection: str,
    checks: list[Check],
    checked: str,
    accepted: str,
    max_minutes: float,
) -> None:
    """Event log: events are checked one by one, then each case becomes one loop from its first
    to its last event; a case that fails as a whole rejects each of its events."""
    m = plan.mapping
    checks.append(Check("workflow_id IS NULL", plan.columns.get("workflow", ""), "unknown workflow"))
    events = f"{checked}_events"
    values = mapping_params(m)
    statement = (
        f"CREATE TEMP TABLE {events} AS SELECT *, {reject_columns(checks)} FROM ("
        f"{workflow_join(f'SELECT {projection} FROM ({cleaned_rows(plan, staged.table)})')})"
    )
    cursor.execute(statement, bound(statement, values | reject_values(checks)))
    first_phase = (
        "arg_min(phase, event_at) FILTER (WHERE reject_reason IS NULL)" if m.phase_column else "NULL"
    )
    cursor.execute(f"""
        CREATE TEMP TABLE {accepted}_cases AS
        SELECT case_id, min(workflow_id) AS workflow_id, min(department) AS department,
               min(event_at) FILTER (WHERE reject_reason IS NULL) AS started_at,
               max(event_at) FILTER (WHERE reject_reason IS NULL) AS measured_at,
               (epoch_ms(max(event_at) FILTER (WHERE reject_reason IS NULL))
                - epoch_ms(min(event_at) FILTER (WHERE reject_reason IS NULL))) / 60000.0 AS duration_minutes,
               {first_phase} AS phase_of_first, count(DISTINCT workflow_id) AS workflows,
               count(*) FILTER (WHERE reject_reason IS NOT NULL) AS rejected_events
        FROM {events} WHERE case_id IS NOT NULL GROUP BY case_id""")
    phase = fixed_phase(m) or (
        go_live_phase(m.go_live, "started_at", m.timezone) if m.go_live else "phase_of_first"
    )
    case_list = [
        # A loop is measured from all of its events or not at all: never silently shortened.
        Check("rejected_events > 0", plan.col("case"), "case incomplete: another of its events was rejected"),
        Check("workflows > 1", plan.columns.get("workflow", ""), "case spans several workflows"),
        Check(
            f"duration_minutes > {max_minutes}",
            plan.col("timestamp"),
            f"case lasts above the policy's plausible maximum ({max_minutes:g} minutes)",
        ),
    ]
    case_checks = reject_columns(case_list)
    statement = (
        f"CREATE TEMP TABLE {accepted}_checked_cases AS SELECT *, {phase} AS phase, "
        f"{case_checks} FROM {accepted}_cases"
    )
    cursor.execute(statement, bound(statement, values | reject_values(case_list)))
    cursor.execute(f"""
        CREATE TEMP TABLE {checked} AS
        SELECT e.rid, coalesce(e.reject_column, c.reject_column) AS reject_column,
               coalesce(e.reject_reason, c.reject_reason) AS reject_reason
        FROM {events} e LEFT JOIN {accepted}_checked_cases c USING (case_id)""")
    cursor.execute(f"""
        CREATE TEMP TABLE {accepted} AS
        SELECT workflow_id, department, phase, measured_at, duration_minutes,
               1::BIGINT AS loops, 0.0 AS rework_minutes, NULL::BOOLEAN AS ai_assisted,
               NULL::VARCHAR AS segment
        FROM {accepted}_checked_cases WHERE reject_reason IS NULL""")
