"""The demo company: Northwind Labs, a fictional 400-person software company.

Deterministic (fixed seed, fixed calendar): 33 workflows across 7 departments covering every risk
level, status and stop condition, and 24 weeks of heavy-tailed (lognormal) before/after timings
with aggregated rows and rework. Timings enter the way a department lead's would: one canonical
CSV upload per department, through the same import path as any export.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from aiops import governance
from aiops.auth import Actor
from aiops.ingest.timings import import_timings
from aiops.inventory import record_incident, remove_checkpoint, save_workflows, sign_off
from aiops.store import Store
from aiops.store.postgres import is_postgres
from aiops.views.company import seed_demo_money
from aiops.workflow import Workflow

AS_OF = date(2026, 11, 16)  # a Monday: the demo's "last upload" week
WEEKS = 24
SEED = 20261116
COMPANY = "Northwind Labs"
DOMAIN = "northwind.example"

LEADS = {
    "Engineering": "Priya Raman",
    "Product": "Marco Silva",
    "Support": "Dana Lee",
    "Operations": "Sam Okafor",
    "Sales": "Lena Fischer",
    "Finance": "Omar Haddad",
    "People": "Grace Kim",
}


def email(name: str) -> str:
    return f"{name.lower().replace(' ', '.')}@{DOMAIN}"


@dataclass(frozen=True)
class Timing:
    """How a workflow's loops behave: baseline mean minutes, after/before ratio, spread, volume."""

    baseline_minutes: float
    ratio: float
    sigma: float = 0.7
    per_week: int = 12
    go_live_week: int = 10
    after_per_week: int | None = None
    loops_per_row: int = 1
    rework_share: float = 0.0
    rework_minutes: float = 0.0
    weeks: int = WEEKS


def _w(workflow_id: str, department: str, name: str, **fields: object) -> Workflow:
    owner = fields.pop("owner", LEADS[department])
    defaults = {
        "owner": owner,
        "reviewer": fields.pop("reviewer", owner),
        "trigger": "",
        "acceptable_output": "",
        "failure_plan": "",
        "failure_detection": "",
    }
    return Workflow(workflow_id=workflow_id, department=department, name=name, **(defaults | fields))


ANSWERED = {
    "trigger": "A new item arrives in the team's queue",
    "acceptable_output": "Correct, complete, in the team's format; reviewer would sign it",
    "failure_plan": "Owner switches the workflow off; the queue goes back to the manual process",
    "failure_detection": "Weekly sample audit plus a dashboard alert on rework minutes",
}

WORKFLOWS: list[tuple[Workflow, Timing | None]] = [
    # -- Engineering --------------------------------------------------------------------------------
    (
        _w(
            "eng-pr-review-prep",
            "Engineering",
            "PR review prep",
            manual_process="Reviewer reads the diff cold, opens linked tickets, hunts for risky files",
            data_touched="source_code; internal_docs",
            changes="drafts",
            customer_impact="internal",
            expected_output="A review brief on each pull request: summary, linked tickets, risky files",
            reviewer="Tech lead on the PR",
            review_requirement="spot_check",
            success_metric="Minutes of reviewer prep per pull request",
            checkpoints="Reviewer reads the brief before approving; Weekly sample audit of briefs",
            **ANSWERED,
        ),
        Timing(38, 0.55, 0.6, per_week=45, go_live_week=9),
    ),
    (
        _w(
            "eng-incident-summaries",
            "Engineering",
            "Incident timeline summaries",
            manual_process="On-call engineer reconstructs the incident timeline from chat and logs",
            data_touched="security_logs; internal_docs",
            changes="drafts",
            customer_impact="internal",
            expected_output="An internal incident summary draft for the postmortem",
            review_requirement="spot_check",
            success_metric="Minutes to a postmortem draft",
            checkpoints="",
            **ANSWERED,
        ),
        Timing(95, 0.45, 0.5, per_week=4, go_live_week=6, after_per_week=5),
    ),
    (
        _w(
            "eng-test-generation",
            "Engineering",
            "Unit test proposals for changed modules",
            manual_process="Engineers write missing unit tests by hand after review comments",
            data_touched="source_code",
            changes="team_workflow",
            customer_impact="internal",
            expected_output="Proposed unit tests in a branch for the author to keep or drop",
            review_requirement="approve_each",
            success_metric="Minutes per accepted test file",
            checkpoints="Author approves each proposed test",
            **ANSWERED,
        ),
        Timing(42, 0.96, 0.9, per_week=5, go_live_week=12),
    ),
    (
        _w(
            "eng-config-deploys",
            "Engineering",
            "Config changes deployed to production",
            manual_process="SRE edits feature flags and service config, then deploys",
            data_touched="source_code; credentials",
            changes="production",
            customer_impact="public",
            expected_output="Config change applied to production with a rollback note",
            review_requirement="spot_check",
            success_metric="Minutes per config change",
            checkpoints="On-call approves in chat",
            **ANSWERED,
        ),
        Timing(25, 0.6, 0.5, per_week=20, go_live_week=14),
    ),
    (
        _w(
            "eng-dependency-upgrades",
            "Engineering",
            "Dependency upgrade pull requests",
            manual_process="Engineer bumps versions, reads changelogs, fixes breakages, merges to main",
            data_touched="source_code",
            changes="production; drafts",
            customer_impact="internal",
            expected_output="An upgrade pull request with changelog notes, merged after CI and review",
            review_requirement="approve_each",
            success_metric="Engineer minutes per upgrade merged",
            checkpoints="Code owner approves each merge; CI must pass; Canary deploy watched for 1 hour",
            **ANSWERED,
        ),
        Timing(70, 0.5, 0.6, per_week=10, go_live_week=8),
    ),
    (
        _w(
            "eng-security-triage",
            "Engineering",
            "Security alert triage",
            manual_process="Security engineer reads each scanner alert and decides its severity",
            data_touched="security_logs",
            changes="security_settings",
            customer_impact="internal",
            expected_output="A severity proposal and a suppression rule draft per alert",
            review_requirement="two_person",
            reviewer="Security on-call",
            success_metric="Minutes per alert triaged",
            checkpoints="Two people confirm every suppression; Monthly audit of closed alerts",
            **ANSWERED,
        ),
        Timing(22, 0.7, 0.6, per_week=30, go_live_week=10),
    ),
    # -- Product -----------------------------------------------------------------------------------
    (
        _w(
            "prod-call-notes-to-specs",
            "Product",
            "Customer call notes to spec drafts",
            manual_process="PM rewrites call notes into a problem statement and a spec outline",
            data_touched="customer_data; internal_docs",
            changes="drafts",
            customer_impact="internal",
            expected_output="A spec draft with quotes linked to the call notes",
            review_requirement="approve_each",
            success_metric="PM minutes per spec draft",
            checkpoints="PM approves each draft",
            **ANSWERED,
        ),
        Timing(120, 0.6, 0.5, per_week=4, go_live_week=8, after_per_week=5),
    ),
    (
        _w(
            "prod-eng-handoff",
            "Product",
            "Product-to-engineering handoff briefs",
            manual_process="PM and tech lead meet to turn product requirements into tickets",
            data_touched="internal_docs",
            changes="team_workflow",
            customer_impact="internal",
            expected_output="A handoff brief and ticket drafts with acceptance criteria",
            reviewer="Tech lead",
            review_requirement="approve_each",
            success_metric="Minutes from approved spec to ready tickets",
            checkpoints="Tech lead approves the ticket set; Weekly handoff review",
            **ANSWERED,
        ),
        Timing(180, 0.62, 0.45, per_week=3, go_live_week=7, after_per_week=4),
    ),
    (
        _w(
            "prod-feedback-clustering",
            "Product",
            "Feedback clustering for the roadmap",
            manual_process="PM tags feedback by hand in a spreadsheet every Friday",
            data_touched="customer_data",
            changes="drafts",
            customer_impact="internal",
            expected_output="Clusters of feedback with counts and example quotes",
            review_requirement="spot_check",
            success_metric="PM minutes per weekly feedback pass",
            checkpoints="PM checks every cluster label",
            **ANSWERED,
        ),
        Timing(150, 0.7, 0.5, per_week=1, go_live_week=14),
    ),
    (
        _w(
            "prod-release-notes",
            "Product",
            "Public release notes",
            manual_process="PM writes release notes from merged tickets and posts them on the website",
            data_touched="internal_docs; public_info",
            changes="public_content",
            customer_impact="public",
            expected_output="Release notes published on the website",
            review_requirement="approve_each",
            success_metric="Minutes per release note",
            checkpoints="Marketing approves each note",
            **(ANSWERED | {"failure_detection": ""}),
        ),
        Timing(60, 0.55, 0.5, per_week=2, go_live_week=10),
    ),
    # -- Support -----------------------------------------------------------------------------------
    (
        _w(
            "sup-ticket-triage",
            "Support",
            "Support ticket triage",
            manual_process="Agent reads each new ticket, tags it, sets priority and routes it",
            data_touched="customer_data",
            changes="team_workflow",
            customer_impact="internal",
            expected_output="Tags, priority and queue for each new ticket",
            reviewer="Shift lead",
            review_requirement="spot_check",
            success_metric="Agent minutes per ticket triaged",
            checkpoints="Shift lead spot-checks 20 routed tickets a day; Misroute alert",
            **ANSWERED,
        ),
        Timing(
            6.5, 0.55, 0.8, per_week=7, go_live_week=9, loops_per_row=40, rework_share=0.15, rework_minutes=4
        ),
    ),
    (
        _w(
            "sup-reply-drafts",
            "Support",
            "Customer reply drafts",
            manual_process="Agent writes each reply from scratch using the help center",
            data_touched="customer_data; personal_data",
            changes="drafts",
            customer_impact="customer_facing",
            expected_output="A reply draft the agent edits and sends",
            reviewer="Sending agent",
            review_requirement="approve_each",
            success_metric="Agent minutes per reply sent",
            checkpoints="Agent approves and sends every reply; QA samples 5% weekly",
            **ANSWERED,
        ),
        Timing(11, 0.7, 0.7, per_week=60, go_live_week=8, rework_share=0.2, rework_minutes=4),
    ),
    (
        _w(
            "sup-refund-decisions",
            "Support",
            "Refund decisions under $50",
            manual_process="Agent checks the order and policy, then issues the refund",
            data_touched="customer_data; financial_data",
            changes="billing",
            customer_impact="customer_facing",
            expected_output="A refund decision with the policy clause it used",
            reviewer="Billing specialist",
            review_requirement="two_person",
            signed_off_by="Omar Haddad",
            success_metric="Minutes per refund decision",
            checkpoints="Two-person approval of every refund; Daily refund total alert",
            **ANSWERED,
        ),
        Timing(9, 1.3, 0.6, per_week=25, go_live_week=10, rework_share=0.35, rework_minutes=6),
    ),
    (
        _w(
            "sup-macro-drafts",
            "Support",
            "First-pass support macros",
            manual_process="Senior agent writes canned responses for new issues",
            data_touched="internal_docs",
            changes="drafts",
            customer_impact="internal",
            expected_output="Macro drafts for the team to edit",
            review_requirement="spot_check",
            success_metric="Minutes per macro published",
            checkpoints="Senior agent edits every macro",
            **ANSWERED,
        ),
        None,
    ),
    (
        _w(
            "sup-chat-autoreply",
            "Support",
            "Chat answers sent without review",
            manual_process="Agent answers chat questions about orders and accounts",
            data_touched="customer_data; personal_data",
            changes="drafts",
            customer_impact="customer_facing",
            expected_output="Answers sent straight to customers in chat",
            reviewer="",
            review_requirement="none",
            success_metric="Chats closed without an agent",
            checkpoints="",
            **ANSWERED,
        ),
        Timing(7, 0.35, 0.7, per_week=12, go_live_week=13, loops_per_row=25),
    ),
    (
        _w(
            "sup-ticket-translation",
            "Support",
            "Ticket translation",
            manual_process="Agent pastes tickets into a translator and fixes the result",
            data_touched="customer_data",
            changes="drafts",
            customer_impact="internal",
            expected_output="An English translation attached to each non-English ticket",
            review_requirement="spot_check",
            success_metric="Minutes per translated ticket",
            checkpoints="Agent reads the original when unsure",
            **ANSWERED,
        ),
        Timing(5, 0.6, 0.6, per_week=40, go_live_week=11),
    ),
    # -- Operations --------------------------------------------------------------------------------
    (
        _w(
            "ops-alert-enrichment",
            "Operations",
            "Operational issues caught before a person searches",
            manual_process="On-call searches dashboards and logs after every alert",
            data_touched="security_logs; internal_docs",
            changes="internal_records",
            customer_impact="internal",
            expected_output="Each alert enriched with likely cause, recent changes and runbook link",
            review_requirement="spot_check",
            success_metric="Minutes from alert to first action",
            checkpoints="On-call confirms the cause before acting; Weekly review of missed causes",
            **ANSWERED,
        ),
        Timing(28, 0.5, 0.7, per_week=35, go_live_week=8),
    ),
    (
        _w(
            "ops-vendor-invoice-matching",
            "Operations",
            "Vendor invoice matching",
            manual_process="Ops analyst matches invoices to purchase orders in the ERP",
            data_touched="financial_data",
            changes="internal_records",
            customer_impact="none",
            expected_output="Matched invoice and PO pairs with mismatches flagged",
            reviewer="AP specialist",
            review_requirement="approve_each",
            success_metric="Minutes per invoice matched",
            checkpoints="AP approves each match before payment; Monthly reconciliation",
            **ANSWERED,
        ),
        Timing(14, 0.65, 0.6, per_week=50, go_live_week=10, loops_per_row=10),
    ),
    (
        _w(
            "ops-access-provisioning",
            "Operations",
            "Access request provisioning",
            manual_process="IT reads the access request, checks the manager's approval, grants access",
            data_touched="personal_data; credentials",
            changes="permissions",
            customer_impact="internal",
            expected_output="Access granted in the identity provider",
            reviewer="IT admin",
            review_requirement="spot_check",
            success_metric="Minutes per request",
            checkpoints="IT admin spot-checks grants",
            **ANSWERED,
        ),
        Timing(18, 0.4, 0.5, per_week=25, go_live_week=15),
    ),
    (
        _w(
            "ops-runbook-answers",
            "Operations",
            "Runbook search answers",
            owner="",
            reviewer="",
            manual_process="Engineers search the wiki for the right runbook",
            data_touched="internal_docs",
            changes="none",
            customer_impact="internal",
            expected_output="An answer with links to the runbooks it used",
            review_requirement="none",
            success_metric="Minutes to find a runbook",
            checkpoints="",
            **(ANSWERED | {"failure_detection": ""}),
        ),
        Timing(12, 0.5, 0.6, per_week=15, go_live_week=12),
    ),
    (
        _w(
            "ops-capacity-report",
            "Operations",
            "Weekly capacity report",
            manual_process="Analyst pulls usage numbers and writes the capacity summary",
            data_touched="internal_docs",
            changes="drafts",
            customer_impact="internal",
            expected_output="An internal capacity summary draft",
            review_requirement="spot_check",
            success_metric="Analyst minutes per report",
            checkpoints="Analyst edits the draft",
            **ANSWERED,
        ),
        Timing(90, 0.6, 0.4, per_week=1, go_live_week=16),
    ),
    # -- Sales -------------------------------------------------------------------------------------
    (
        _w(
            "sales-follow-ups",
            "Sales",
            "Sales follow-up emails",
            manual_process="Account executive writes a follow-up after every call",
            data_touched="customer_data",
            changes="drafts",
            customer_impact="customer_facing",
            expected_output="A follow-up email draft with next steps from the call",
            review_requirement="approve_each",
            success_metric="Minutes from call end to follow-up sent",
            checkpoints="AE edits and sends every email; Manager reviews 10 a week",
            **ANSWERED,
        ),
        Timing(24, 0.45, 0.6, per_week=40, go_live_week=8, rework_share=0.25, rework_minutes=5),
    ),
    (
        _w(
            "sales-call-summaries",
            "Sales",
            "Call summaries into the CRM",
            manual_process="AE types call notes into the CRM after each call",
            data_touched="customer_data",
            changes="internal_records",
            customer_impact="internal",
            expected_output="A call summary logged on the CRM opportunity",
            review_requirement="spot_check",
            success_metric="Minutes per call logged",
            checkpoints="",
            **ANSWERED,
        ),
        Timing(12, 0.35, 0.5, per_week=45, go_live_week=7),
    ),
    (
        _w(
            "sales-lead-scoring",
            "Sales",
            "Inbound lead scoring",
            manual_process="SDR reads each inbound form and decides who to call first",
            data_touched="personal_data",
            changes="internal_records",
            customer_impact="internal",
            expected_output="A score and a reason for each inbound lead",
            review_requirement="spot_check",
            success_metric="",
            checkpoints="SDR reviews top 20",
            **ANSWERED,
        ),
        Timing(6, 0.5, 0.6, per_week=30, go_live_week=12),
    ),
    (
        _w(
            "sales-proposal-drafts",
            "Sales",
            "Proposal first drafts",
            manual_process="AE copies an old proposal and edits it for the new customer",
            data_touched="customer_data",
            changes="drafts",
            customer_impact="internal",
            expected_output="A proposal first draft from the opportunity notes",
            review_requirement="approve_each",
            success_metric="AE minutes per proposal",
            checkpoints="AE approves each draft",
            trigger="An opportunity reaches the proposal stage",
            failure_detection="Deal desk review",
        ),
        None,
    ),
    (
        _w(
            "sales-discount-quotes",
            "Sales",
            "Discount quotes",
            manual_process="Deal desk prices each non-standard discount request",
            data_touched="customer_data; financial_data",
            changes="billing",
            customer_impact="customer_facing",
            expected_output="A quote with the discount and its approval trail",
            reviewer="Deal desk",
            review_requirement="approve_each",
            signed_off_by="Omar Haddad",
            success_metric="Minutes per quote approved",
            checkpoints="Deal desk approves each quote; Finance reviews discounts above 20%",
            **ANSWERED,
        ),
        Timing(35, 0.9, 1.0, per_week=3, go_live_week=10),
    ),
    # -- Finance -----------------------------------------------------------------------------------
    (
        _w(
            "fin-close-notes",
            "Finance",
            "Month-end reconciliation notes",
            manual_process="Accountant explains each reconciling item in the close checklist",
            data_touched="financial_data",
            changes="internal_records",
            customer_impact="none",
            expected_output="Draft explanations for each reconciling item",
            reviewer="Controller",
            review_requirement="approve_each",
            success_metric="Accountant minutes per reconciling item",
            checkpoints="Controller approves each note; Auditor samples quarterly",
            **ANSWERED,
        ),
        Timing(16, 0.6, 0.6, per_week=20, go_live_week=9, loops_per_row=5),
    ),
    (
        _w(
            "fin-expense-preaudit",
            "Finance",
            "Expense report pre-audit",
            manual_process="Analyst checks each expense report against the travel policy",
            data_touched="financial_data; personal_data",
            changes="internal_records",
            customer_impact="internal",
            expected_output="Policy flags on each expense report",
            reviewer="Finance analyst",
            review_requirement="spot_check",
            success_metric="Minutes per expense report audited",
            checkpoints="Analyst confirms every flag",
            **ANSWERED,
        ),
        Timing(9, 0.55, 0.6, per_week=40, go_live_week=10),
    ),
    (
        _w(
            "fin-collections-reminders",
            "Finance",
            "Overdue invoice reminders",
            manual_process="AR specialist writes reminder emails for overdue invoices",
            data_touched="customer_data; financial_data",
            changes="drafts",
            customer_impact="customer_facing",
            expected_output="Reminder email drafts per overdue invoice",
            reviewer="AR specialist",
            review_requirement="approve_each",
            success_metric="Minutes per reminder sent",
            checkpoints="AR approves each reminder",
            **ANSWERED,
        ),
        Timing(15, 0.6, 0.5, per_week=2, go_live_week=18, after_per_week=2),
    ),
    (
        _w(
            "fin-forecast-commentary",
            "Finance",
            "Forecast variance commentary",
            manual_process="FP&A writes commentary on each forecast variance",
            data_touched="internal_docs",
            changes="drafts",
            customer_impact="internal",
            expected_output="Variance commentary drafts for the monthly pack",
            review_requirement="approve_each",
            success_metric="Minutes per commentary",
            checkpoints="FP&A lead approves",
            trigger="Forecast is locked",
            acceptable_output="",
            failure_plan="",
            failure_detection="FP&A lead reads all of it",
        ),
        Timing(45, 0.6, 0.5, per_week=3, go_live_week=10),
    ),
    # -- People ------------------------------------------------------------------------------------
    (
        _w(
            "people-resume-screening",
            "People",
            "Résumé screening shortlist",
            manual_process="Recruiter reads every application for the role",
            data_touched="personal_data",
            changes="decisions_about_people",
            customer_impact="internal",
            expected_output="A shortlist of candidates with reasons",
            reviewer="Hiring manager",
            review_requirement="two_person",
            success_metric="Recruiter minutes per application",
            checkpoints="Recruiter and hiring manager review every rejection; Quarterly bias audit",
            **ANSWERED,
        ),
        None,
    ),
    (
        _w(
            "people-policy-answers",
            "People",
            "Employee policy questions",
            manual_process="HR partner answers policy questions in the HR inbox",
            data_touched="personal_data; internal_docs",
            changes="drafts",
            customer_impact="internal",
            expected_output="An answer draft citing the handbook",
            reviewer="HR partner",
            review_requirement="approve_each",
            success_metric="Minutes per question answered",
            checkpoints="HR partner approves every answer",
            **ANSWERED,
        ),
        Timing(14, 0.5, 0.6, per_week=25, go_live_week=9),
    ),
    (
        _w(
            "people-onboarding-checklists",
            "People",
            "Onboarding checklist drafts",
            manual_process="HR coordinator builds each new hire's checklist from a template",
            data_touched="internal_docs",
            changes="drafts",
            customer_impact="internal",
            expected_output="A first draft of the new hire's checklist",
            review_requirement="spot_check",
            success_metric="Minutes per checklist",
            checkpoints="",
            **ANSWERED,
        ),
        Timing(40, 0.4, 0.5, per_week=4, go_live_week=8, after_per_week=5),
    ),
]


def _lognormal_minutes(rng: np.random.Generator, mean: float, sigma: float, size: int) -> np.ndarray:
    return rng.lognormal(np.log(mean) - sigma**2 / 2, sigma, size)


def timing_rows(
    workflow_id: str, timing: Timing, rng: np.random.Generator, as_of: date = AS_OF
) -> pd.DataFrame:
    """Canonical timing rows for one workflow: per-loop rows, or daily aggregates of many loops."""
    first_week = as_of - timedelta(weeks=timing.weeks)
    rows = []
    for week in range(timing.weeks):
        after = week >= timing.go_live_week
        volume = (timing.after_per_week or timing.per_week) if after else timing.per_week
        count = max(int(rng.poisson(volume)), 0)
        mean = timing.baseline_minutes * (timing.ratio if after else 1.0)
        for _ in range(count):
            loops = (
                timing.loops_per_row
                if timing.loops_per_row == 1
                else max(1, int(rng.poisson(timing.loops_per_row)))
            )
            minutes = float(_lognormal_minutes(rng, mean, timing.sigma, loops).sum())
            rework = 0.0
            if after and timing.rework_share:
                reworked = rng.random(loops) < timing.rework_share
                rework = float(rng.exponential(timing.rework_minutes, loops)[reworked].sum())
            moment = datetime.combine(first_week + timedelta(weeks=week), datetime.min.time()) + timedelta(
                minutes=float(rng.uniform(0, 7 * 24 * 60))
            )
            rows.append(
                (
                    workflow_id,
                    "after" if after else "before",
                    moment.isoformat(" ", "seconds"),
                    round(minutes, 2),
                    loops,
                    round(rework, 2),
                )
            )
    return pd.DataFrame(
        rows, columns=["workflow_id", "phase", "measured_at", "duration_minutes", "loops", "rework_minutes"]
    )


def build_demo(path: str | Path, as_of: date = AS_OF) -> Store:
    """(Re)create the demo database at ``path`` and return it open."""
    if not is_postgres(path):  # a PostgreSQL database is used as given (create it empty)
        path = Path(path)
        for stale in (path, path.with_name(path.name + ".wal")):
            stale.unlink(missing_ok=True)
    store = Store(path)
    admin = Actor(name=email("Alex Morgan"), role="admin")
    governance.apply_policy(store, admin, store.policy)
    workflows = [w for w, _ in WORKFLOWS]
    store.write(admin, lambda tx: save_workflows(tx, workflows, "demo"))
    _upload_timings(store, as_of)
    _governance_history(store, admin)
    seed_demo_money(store, admin)  # company name, currency, hourly costs, AI costs (views/demo_company.toml)
    return store


def _upload_timings(store: Store, as_of: date) -> None:
    rng = np.random.default_rng(SEED)
    frames: dict[str, list[pd.DataFrame]] = {}
    for workflow, timing in WORKFLOWS:
        if timing is not None:
            frame = timing_rows(workflow.workflow_id, timing, rng, as_of)
            frames.setdefault(workflow.department, []).append(frame)
    with tempfile.TemporaryDirectory(prefix="aiops-demo-") as tmp:
        for department, parts in frames.items():
            lead = Actor(name=email(LEADS[department]), role="lead", departments=(department,))
            file = Path(tmp) / f"{department.lower()}_timings.csv"
            pd.concat(parts).to_csv(file, index=False)
            import_timings(store, lead, file)


def _governance_history(store: Store, admin: Actor) -> None:
    """A few audited governance events, so the ladder and the audit log have a history."""
    sign_off(store, admin, "eng-dependency-upgrades", "Priya Raman")
    remove_checkpoint(store, admin, "eng-dependency-upgrades", "Canary deploy watched for 1 hour")
    record_incident(
        store,
        admin,
        "sup-refund-decisions",
        "Refund issued twice for one order; caught by the daily total alert",
    )
