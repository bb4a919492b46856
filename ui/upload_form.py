"""The upload flow's pieces: keep the uploaded file, recognise it, and the mapping form."""

from __future__ import annotations

import hashlib
import re
import weakref
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import streamlit as st
from pydantic import ValidationError
from streamlit.runtime.uploaded_file_manager import UploadedFile

from aiops.auth import Actor
from aiops.clock import utcnow
from aiops.errors import AiopsError, Conflict, MappingError
from aiops.identity import identity_key
from aiops.ingest.guards import check_roles
from aiops.ingest.mapping import MEASURE_OPTIONS, UNITS, field_choices, parse_go_live
from aiops.ingest.presets import Preset, PresetTarget, check_preset_target
from aiops.ingest.recognise import FileRecognition, recognise_file
from aiops.ingest.sniff import open_source
from aiops.ingest.tempfiles import discard, keep_bytes, sweep
from aiops.ingest.timings import TimingMapping, discard_upload
from aiops.workflow_reads import departments
from ui.context import actor, run_action, settings, store
from ui.text import md_escape

NONE = "—"
LOOP_MODES = {
    "span": "Start and end timestamps",
    "duration": "A duration column",
    "events": "An event log (case + timestamp)",
}


# The columns each way of measuring a loop needs (the phase column too, when it is the phase's source).
REQUIRED_COLUMNS = {
    "span": ("start_column", "end_column", "phase_column"),
    "duration": ("duration_column", "measured_at_column", "phase_column"),
    "events": ("case_column", "timestamp_column", "phase_column"),
}


@dataclass(frozen=True)
class Upload:
    """An uploaded file kept in a private temp dir for DuckDB, with what was recognised about it."""

    path: Path
    name: str
    digest: str
    headers: tuple[str, ...]
    encoding: str
    dialect: str
    recognition: FileRecognition | None = None
    refusal: str | None = None  # why this file cannot be a timings upload (a workflows sheet...)

    @property
    def key(self) -> str:
        return self.digest[:12]

    def describe(self, header: str) -> str:
        profile = self.recognition.profiles.get(header) if self.recognition else None
        return f"{header} — {profile.describe()}" if profile else header


@st.cache_resource(show_spinner=False)
def _swept_at_startup() -> int:
    return sweep()


def keep_upload(uploaded: UploadedFile) -> Upload:
    """Save the upload once per content (session state) in a private temp dir, and recognise it.
    The previous upload of the session is deleted; the last one goes with the session."""
    _swept_at_startup()
    content = uploaded.getvalue()
    digest = hashlib.sha256(content).hexdigest()
    kept: Upload | None = st.session_state.get("upload_file")
    if kept is not None and kept.digest == digest and kept.name == uploaded.name:
        return kept
    forget_upload()
    path = keep_bytes(content, uploaded.name)
    try:
        with open_source(path, uploaded.name, max_bytes=settings().max_upload_bytes) as source:
            recognition, refusal = None, None
            try:
                recognition = recognise_file(store(), source, actor())
            except MappingError as e:
                refusal = f"{e.message} — {e.hint}"
            kept = Upload(
                path,
                uploaded.name,
                digest,
                tuple(source.header),
                source.encoding,
                source.dialect.describe(),
                recognition,
                refusal,
            )
    except BaseException:
        discard(path)
        raise
    st.session_state["upload_file"] = kept
    # Deleted with the session's state when the session ends (the browser tab closes).
    st.session_state["upload_file_cleanup"] = _Cleanup(path)
    st.session_state.pop("upload_report", None)
    return kept


class _Cleanup:
    def __init__(self, path: Path) -> None:
        self.path = path
        weakref.finalize(self, discard, path)


def forget_upload() -> None:
    """Delete the session's kept upload (confirmed, cancelled or replaced), and its preview's rows."""
    kept: Upload | None = st.session_state.pop("upload_file", None)
    st.session_state.pop("upload_file_cleanup", None)
    discard_preview()
    if kept is not None:
        discard(kept.path)


def discard_preview() -> None:
    """Forget the session's preview; the pending batch it wrote (if any) goes with it."""
    held = st.session_state.pop("upload_report", None)
    if held is not None and held[2].pending_batch is not None:
        discard_upload(store(), actor(), held[2])


def workflow_choices(metrics: pd.DataFrame, batches: pd.DataFrame, me: Actor) -> dict[str, str]:
    """Workflows the actor may upload for: their own departments first, then the most recently
    uploaded on top, then by department and name."""
    last_used: dict[str, pd.Timestamp] = {}
    for b in batches.itertuples(index=False):
        if b.undone_at is None or str(b.undone_at) == "NaT":
            for workflow_id in b.workflow_ids:
                key = identity_key(workflow_id)
                last_used[key] = max(last_used.get(key, b.uploaded_at), b.uploaded_at)
    rows = [w for w in metrics.itertuples(index=False) if me.can_write(w.department)]
    rows.sort(key=lambda w: (identity_key(w.department), w.name.casefold()))
    rows.sort(key=lambda w: last_used.get(identity_key(w.workflow_id), pd.Timestamp.min), reverse=True)
    rows.sort(key=lambda w: not me.leads(w.department))
    return {w.workflow_id: f"{w.department} · {w.name}" for w in rows}


def keep_sheet(content: bytes, name: str) -> Path:
    """A workflows sheet kept once per content in a private temp dir (mode 0700), replaced and
    deleted like an upload."""
    _swept_at_startup()
    digest = hashlib.sha256(content).hexdigest()
    kept = st.session_state.get("bulk_sheet")
    if kept is not None and kept[0] == digest:
        return kept[1]
    forget_sheet()
    path = keep_bytes(content, name)
    st.session_state["bulk_sheet"] = (digest, path, _Cleanup(path))
    return path


def forget_sheet() -> None:
    kept = st.session_state.pop("bulk_sheet", None)
    if kept is not None:
        discard(kept[1])


def recognised(upload: Upload) -> tuple[Preset | None, str, dict[str, object]]:
    """A preset (and why), or the canonical columns, or guesses, to pre-fill the form."""
    r = upload.recognition
    if r is None:
        return None, upload.refusal or "", {}
    return r.preset, r.reason, dict(r.prefill)


def _column(label: str, upload: Upload, default: object, key: str, optional: bool = False) -> str | None:
    """A column picker showing each column's kind and three sample values. A required role with
    no guess starts empty, with a hint: never the file's first column (often a text id)."""
    options = ([NONE] if optional else []) + list(upload.headers)
    index = options.index(default) if default in options else (0 if optional else None)
    picked = st.selectbox(
        label,
        options,
        index=index,
        key=key,
        placeholder="Choose a column",
        format_func=lambda h: h if h == NONE else upload.describe(h),
    )
    if picked is None:
        st.caption(md_escape(_hint(label, upload)))
    return None if picked in (NONE, None) else picked


def _hint(label: str, upload: Upload) -> str:
    """Why a required column picker is empty, and what to pick."""
    role = label.split(" (")[0].lower()
    profiles = upload.recognition.profiles if upload.recognition else {}
    stamps = [h for h, p in profiles.items() if p.kind == "timestamp"]
    if "timestamp" in role or role in ("start column", "end column"):
        if not stamps:
            return f"No column of this file holds timestamps: the {role} needs one."
        listed = ", ".join(stamps)
        return f"No timestamp column is named like the {role}: choose it (timestamp columns: {listed})."
    return f"Choose the {role}: each column shows its kind and sample values."


def _measure_controls(upload: Upload, prefill: dict[str, object], key: str) -> dict[str, object]:
    """What the upload measures: one control per ``MEASURE_OPTIONS`` field (the CLI's --time-kind,
    --phase, --ai-assisted-column, --segment-column), labelled and checked by its declaration."""
    answers: dict[str, object] = {}
    # In sight, not in a collapsed expander: the preview's messages point at these controls.
    st.markdown("**What the loops measure**")
    cells = st.columns(2)
    for number, name in enumerate(MEASURE_OPTIONS):
        text = str(TimingMapping.model_fields[name].description)
        label, wkey = control_label(name), f"{key}_{name}"
        with cells[number % 2]:
            choices = field_choices(name)
            if choices is None:  # a column of the file
                answers[name] = _column(label, upload, prefill.get(name), wkey, optional=True)
                continue
            options: list[str] = [NONE, *map(str, choices)]
            given = str(prefill.get(name, NONE))
            answers[name] = st.selectbox(
                label,
                options,
                index=options.index(given) if given in options else 0,
                format_func=lambda c: "not said (the default)" if c == NONE else str(c).replace("_", "-"),
                help=text,
                key=wkey,
            )
    return {name: None if value == NONE else value for name, value in answers.items()}


def control_label(name: str) -> str:
    """The form's label for a mapping field, from its declaration (as the CLI's help is)."""
    if name in LABELS:
        return LABELS[name]
    text = str(TimingMapping.model_fields[name].description)
    label = text.split(" (")[0].split(":")[0]
    return (label[:1].upper() + label[1:]).replace("_", "-")


# Controls whose label is not their field's description.
LABELS = {
    "date_order": "Dates like 03/04/2024 are",
    "timezone": "Time zone of timestamps without an offset",
    "go_live": "Go-live date",
}
_ORDER_WORDS = {"dmy": "day first (03 April)", "mdy": "month first (March 4)"}
_FLAG = re.compile(r"--([a-z][a-z-]+)(?:[ =]([A-Za-z_]+))?")


def page_words(text: str) -> str:
    """A domain message in the page's words: a CLI option it names (`--time-kind elapsed`) becomes
    the control of this form that sets it (“Hands-on working time, or elapsed…” set to elapsed)."""

    def control(match: re.Match[str]) -> str:
        flag, value = match[1], match[2]
        name = "phase_only" if flag == "phase" else flag.replace("-", "_")
        if name not in TimingMapping.model_fields:
            return match[0]
        shown = _ORDER_WORDS.get(value or "", (value or "").replace("_", "-"))
        return f"“{control_label(name)}” set to {shown}" if value else f"“{control_label(name)}”"

    return _FLAG.sub(control, text)


def _date_controls(prefill: dict[str, object], key: str) -> dict[str, object]:
    """How the file's timestamps are read: the date order and the zone of values without an offset."""
    st.markdown("**Dates and times**")
    d1, d2 = st.columns(2)
    order = d1.selectbox(
        control_label("date_order"),
        ["decide from the data", "dmy", "mdy"],
        format_func=lambda o: _ORDER_WORDS.get(o, o),
        key=f"{key}_order",
    )
    zone = d2.text_input(
        control_label("timezone"), value=str(prefill.get("timezone", "UTC")), key=f"{key}_tz"
    )
    return {"date_order": None if order == "decide from the data" else order, "timezone": zone}


def mapping_form(
    upload: Upload, workflows: dict[str, str], prefill: dict[str, object], preset: Preset | None
) -> TimingMapping | None:
    """The mapping, pre-filled from the preset or the guesses; None while it is incomplete."""
    headers = list(upload.headers)
    base = k = f"map_{upload.key}"
    if preset is not None and preset.cannot_measure:
        st.warning(preset.cannot_measure, icon=":material/block:")
    elif preset is not None:
        option = preset.loops[0]
        if len(preset.loops) > 1:
            option = st.selectbox(
                "Which loop to measure", preset.loops, format_func=lambda o: o.label, key=f"{k}_loop"
            )
        st.caption(md_escape(f"Loop: {option.label}. {option.note}".strip()))
        if option.mapping.get("business_hours"):
            st.info(
                "This loop counts business hours only, not calendar time: its figures say so.",
                icon=":material/schedule:",
            )
        prefill = run_action(lambda: preset.fields_for(headers, option.name)) or {}
        k = f"{base}_{option.name}"  # widgets prefilled from the loop start afresh when it changes

    st.markdown("**Which workflow**")
    by_column = st.radio(
        "Workflow",
        ["One workflow for the whole file", "A column in the file"],
        index=1 if prefill.get("workflow_column") else 0,
        horizontal=True,
        key=f"{k}_wmode",
        label_visibility="collapsed",
    )
    fields: dict[str, object] = {}
    if by_column == "One workflow for the whole file":
        if not workflows:
            st.warning("You may not upload for any workflow. Ask an admin for the lead role.")
            return None
        asked = st.query_params.get("workflow")  # an upload asked for from My department
        fields["workflow"] = st.selectbox(
            "Workflow",
            list(workflows),
            # never a default: a lead says which workflow this file measures (or came asking for one)
            index=list(workflows).index(asked) if asked in workflows else None,
            placeholder="Choose the workflow this file measures",
            format_func=lambda w: workflows[w],
            key=f"{base}_workflow",
        )
        if fields["workflow"] is None:
            st.caption("Choose the workflow this file measures.")
    else:
        fields["workflow_column"] = _column(
            "Workflow column", upload, prefill.get("workflow_column"), f"{k}_wcol"
        )

    st.markdown("**How long each loop took**")
    default_mode = (
        "events"
        if prefill.get("case_column")
        else "duration"
        if prefill.get("duration_column") and not prefill.get("start_column")
        else "span"
    )
    mode = st.radio(
        "Loop time",
        list(LOOP_MODES),
        format_func=LOOP_MODES.get,
        index=list(LOOP_MODES).index(default_mode),
        horizontal=True,
        key=f"{k}_mode",
        label_visibility="collapsed",
    )
    left, right = st.columns(2)
    if mode == "span":
        with left:
            fields["start_column"] = _column(
                "Start column", upload, prefill.get("start_column"), f"{k}_start"
            )
        with right:
            fields["end_column"] = _column("End column", upload, prefill.get("end_column"), f"{k}_end")
    elif mode == "duration":
        with left:
            fields["duration_column"] = _column(
                "Duration column", upload, prefill.get("duration_column"), f"{k}_dur"
            )
            fields["measured_at_column"] = _column(
                "When it ran (timestamp column)", upload, prefill.get("measured_at_column"), f"{k}_meas"
            )
        with right:
            units = list(UNITS)
            fields["unit"] = st.selectbox(
                "Unit",
                units,
                index=units.index(str(prefill.get("unit", "minutes"))),
                format_func=lambda u: "h:mm:ss text" if u == "hms" else u,
                key=f"{k}_unit",
            )
    else:
        with left:
            fields["case_column"] = _column("Case id column", upload, prefill.get("case_column"), f"{k}_case")
        with right:
            fields["timestamp_column"] = _column(
                "Event timestamp column", upload, prefill.get("timestamp_column"), f"{k}_ts"
            )

    fields |= _measure_controls(upload, prefill, k)
    fields |= _date_controls(prefill, k)  # before the go-live: they say how its day is read too
    st.markdown("**Before or after AI**")
    phase_mode = st.radio(
        "Phase",
        ["Split at a go-live date", "A phase column"],
        index=1 if prefill.get("phase_column") else 0,
        horizontal=True,
        key=f"{k}_pmode",
        label_visibility="collapsed",
    )
    if phase_mode == "Split at a go-live date":
        # Explicit bounds: Streamlit's default window (ten years back) would hide older exports.
        fields["go_live"] = st.date_input(
            f"{control_label('go_live')} (loops that started on or after it are 'after')",
            value=None,
            min_value=date(1990, 1, 1),
            max_value=utcnow().date() + timedelta(days=366),
            key=f"{base}_golive",
        )
        at = st.text_input(
            "Go-live time of day (optional, e.g. 09:00 or 09:00+02:00)",
            key=f"{base}_golive_time",
            help="Without a time, go-live is the start of the day in the time zone below.",
        ).strip()
        if fields["go_live"] is None and not fields["phase_only"]:
            st.caption("Pick the date the AI workflow went live (or say the file is one phase only).")
            return None
        if at and fields["go_live"] is not None:
            try:
                day = pd.Timestamp(fields["go_live"]).date().isoformat()
                fields["go_live"] = parse_go_live(f"{day}T{at}")
            except MappingError as e:
                st.warning(md_escape(f"{e.message} — {e.hint}"))
                return None
    else:
        fields["phase_column"] = _column(
            "Phase column (before/after, baseline/with_ai…)",
            upload,
            prefill.get("phase_column"),
            f"{k}_phase",
        )

    with st.expander("Optional columns and formats"):
        o1, o2 = st.columns(2)
        with o1:
            fields["loops_column"] = _column(
                "Loops per row", upload, prefill.get("loops_column"), f"{k}_loops", optional=True
            )
            fields["rework_column"] = _column(
                "Rework minutes", upload, prefill.get("rework_column"), f"{k}_rework", optional=True
            )
            if mode != "duration":
                fields["measured_at_column"] = _column(
                    "Measured at (default: the end timestamp)",
                    upload,
                    prefill.get("measured_at_column"),
                    f"{k}_meas_opt",
                    optional=True,
                )
        with o2:
            fields["business_hours"] = st.checkbox(
                "Durations are business hours",
                value=bool(prefill.get("business_hours", False)),
                key=f"{k}_bh",
            )
    if any(fields.get(f, "") is None for f in REQUIRED_COLUMNS[mode]) or (
        "workflow_column" in fields and fields["workflow_column"] is None
    ):
        return None  # a required column is not chosen yet: its hint says so
    try:
        mapping = TimingMapping(**{f: v for f, v in fields.items() if v is not None})
    except ValidationError as e:
        if "workflow" not in fields or fields["workflow"] is not None:
            st.warning(md_escape(page_words(e.errors()[0]["msg"].removeprefix("Value error, "))))
        return None
    try:
        check_roles(mapping.roles())
    except MappingError as e:
        st.error(
            md_escape(page_words(f"{e.message[:1].upper()}{e.message[1:]} — {e.hint}")),
            icon=":material/error:",
        )
        return None
    return mapping


def preset_target_form(me: Actor, name: str) -> PresetTarget | None:
    """Who a preset is saved for, and, when the name is taken there, an explicit "replace" (None
    until it is ticked: saving over a preset is never silent)."""
    scopes = {"personal": "Just me"}
    choices = list(me.departments) if me.role != "admin" else departments(store())
    if choices:
        scopes["department"] = "A department"
    if me.role == "admin":
        scopes["company"] = "Everyone (company-wide)"
    scope = st.radio(
        "Who can use it", list(scopes), format_func=scopes.get, horizontal=True, key="preset_scope"
    )
    department = (
        st.selectbox("Department", choices, key="preset_department") if scope == "department" else None
    )
    target = PresetTarget(name.strip(), scope, department)
    try:
        check_preset_target(store(), me, target)
    except Conflict:
        replace = st.checkbox(
            f"A {scope} preset named '{name.strip()}' exists: replace it", key="preset_replace"
        )
        return PresetTarget(target.name, scope, department, replace=True) if replace else target
    except AiopsError:
        return target  # a bad name or scope: refused with its message when the upload is confirmed
    return target
