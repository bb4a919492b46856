"""Cached reads. Every loader takes the store revision, so a write anywhere invalidates them."""

from __future__ import annotations

import json
from datetime import date, datetime

import pandas as pd
import streamlit as st

from aiops import governance
from aiops.classifier import Classification
from aiops.ingest.batches import list_batches
from aiops.metrics import Period, rollup, weekly_series, workflow_metrics
from aiops.metrics import freshness as department_freshness
from ui.context import store


@st.cache_data(show_spinner=False, max_entries=32)
def metrics(revision: str, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    s = store()
    return workflow_metrics(s, s.policy.evidence, Period(start, end))


@st.cache_data(show_spinner=False, max_entries=32)
def departments(revision: str, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    return rollup(metrics(revision, start, end), "department", store().policy.evidence.interval_level)


@st.cache_data(show_spinner=False, max_entries=32)
def company(revision: str, start: date | None = None, end: date | None = None) -> dict:
    frame = rollup(metrics(revision, start, end), None, store().policy.evidence.interval_level)
    return frame.iloc[0].to_dict()


@st.cache_data(show_spinner=False, max_entries=32)
def weekly(revision: str, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    return weekly_series(store(), metrics(revision, start, end), Period(start, end))


@st.cache_data(show_spinner=False, max_entries=16)
def data_bounds(revision: str) -> tuple[datetime | None, datetime | None]:
    return store().query_one("SELECT min(measured_at), max(measured_at) FROM timing_samples")


@st.cache_data(show_spinner=False, max_entries=16)
def stops_by_department(revision: str) -> pd.DataFrame:
    return store().query_df(
        "SELECT w.department, code, count(*) AS workflows, string_agg(w.name, '; ') AS names "
        "FROM classifications c JOIN workflows w USING (workflow_id), unnest(c.stop_conditions) AS t(code) "
        "GROUP BY ALL ORDER BY 1, 2"
    )


@st.cache_data(show_spinner=False, max_entries=16)
def freshness(revision: str) -> pd.DataFrame:
    return department_freshness(store())


@st.cache_data(show_spinner=False, max_entries=64)
def classification(revision: str, workflow_id: str) -> Classification:
    return governance.stored_classification(store(), workflow_id)


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
        "FROM timing_samples WHERE workflow_id = ?) USING SAMPLE reservoir(4000 ROWS) REPEATABLE (3)",
        [workflow_id],
    )
