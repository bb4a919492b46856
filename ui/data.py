"""Cached reads. Every loader takes the store revision, so a write anywhere invalidates them."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import streamlit as st

from aiops import governance
from aiops.classifier import Classification
from aiops.ingest.batches import list_batches
from aiops.period import Period
from aiops.views import CompanySettings, View, load_company, view_for
from aiops.workflow import Workflow
from aiops.workflow_reads import get_workflow, known_department, known_workflow_id
from ui.context import store


def view(revision: str, start: date | None = None, end: date | None = None) -> View:
    """The read model for one period: built once per (period, revision) and shared by every page
    and session (``aiops.views.view_for``: the same object, not a copy per rerun)."""
    return view_for(store(), Period(start, end), at_revision=revision.partition("#")[2])


def default_view(revision: str) -> View:
    """The view of the period every surface opens on (the last complete quarter with data), found
    in the same read (``View.default``, ``default_reason``; the data's bounds: ``data_first``,
    ``data_through``); its frame lists every workflow."""
    return view_for(store(), None, at_revision=revision.partition("#")[2])


def metrics(revision: str) -> pd.DataFrame:
    """Every workflow with its all-time figures (the all-time view's workflow frame)."""
    return view(revision).workflows


@st.cache_data(show_spinner=False, max_entries=16)
def company_settings(revision: str) -> CompanySettings:
    return load_company(store())


@st.cache_data(show_spinner=False, max_entries=64)
def classification(revision: str, workflow_id: str) -> Classification:
    return governance.stored_classification(store(), workflow_id)


@st.cache_data(show_spinner=False, max_entries=16)
def precedent_highs(revision: str) -> frozenset[str]:
    return governance.precedent_highs(store())


@st.cache_data(show_spinner=False, max_entries=16)
def batches(revision: str) -> pd.DataFrame:
    return list_batches(store())


@st.cache_data(show_spinner=False, max_entries=16)
def audit_log(revision: str) -> pd.DataFrame:
    frame = store().query_df(
        "SELECT audit_id, recorded_at, actor, action, entity, entity_id, detail::VARCHAR AS detail "
        "FROM audit_log ORDER BY audit_id DESC"
    )
    frame["detail"] = frame.detail.map(lambda d: json.dumps(json.loads(d), ensure_ascii=False)[:400])
    return frame


@st.cache_data(show_spinner=False, max_entries=64)
def samples(revision: str, workflow_id: str) -> pd.DataFrame:
    # The sample clause applies before WHERE, so filter in a subquery first.
    return store().query_df(
        "SELECT * FROM (SELECT phase, (duration_minutes + rework_minutes) / loops AS minutes_per_loop "
        "FROM committed_samples WHERE workflow_id = ?) USING SAMPLE reservoir(4000 ROWS) REPEATABLE (3)",
        [workflow_id],
    )


@st.cache_data(show_spinner=False, max_entries=64)
def audit_detail(revision: str, audit_id: int) -> str | None:
    """One audit entry's whole detail (the table shows the first 400 characters)."""
    row = store().query_one("SELECT detail FROM audit_log WHERE audit_id = ?", [audit_id])
    return row[0] if row else None


@st.cache_data(show_spinner=False, max_entries=64)
def stored_workflow_id(revision: str, workflow_id: str) -> str | None:
    """The stored spelling of a workflow id, matched ignoring case and spacing."""
    return known_workflow_id(store(), workflow_id)


@st.cache_data(show_spinner=False, max_entries=64)
def stored_department(revision: str, name: str) -> str | None:
    """The stored spelling of a department name, matched ignoring case and spacing."""
    return known_department(store(), name)


@st.cache_data(show_spinner=False, max_entries=64)
def stored_workflow(revision: str, workflow_id: str) -> Workflow | None:
    """The stored workflow with this id (matched ignoring case and spacing), or None."""
    found = known_workflow_id(store(), workflow_id)
    return None if found is None else get_workflow(store(), found)
