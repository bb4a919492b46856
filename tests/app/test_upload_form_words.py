"""The upload form (issue 24): start and end are guessed only from timestamp columns (else empty
with a hint), the date order and time zone are there before a go-live is picked, and the preview's
messages name the page's controls, which are in sight (not in a collapsed expander)."""

from __future__ import annotations

from datetime import date

from tests.app.conftest import open_page, shown


def _by_label(widgets, label: str):
    return next(w for w in widgets if w.label.startswith(label))


def _upload(app, content: str, name: str = "tickets.csv"):
    at = open_page(app.run(), "upload")
    at.file_uploader[0].upload(name, content.encode(), "text/csv").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


NO_NAMED_STAMPS = "ticket,status,t1,t2\nT-1,open,2024-05-01T09:00:00Z,2024-05-01T10:00:00Z\n"


def test_start_and_end_are_empty_with_a_hint_when_no_timestamp_column_is_named_like_one(app):
    at = _upload(app, NO_NAMED_STAMPS)
    assert _by_label(at.selectbox, "Start column").value is None  # never the first column, a text id
    assert _by_label(at.selectbox, "End column").value is None
    hints = [shown(c.value) for c in at.caption]
    assert (
        "No timestamp column is named like the start column: choose it (timestamp columns: t1, t2)." in hints
    )


def test_a_text_column_named_like_a_start_is_never_guessed(app):
    at = _upload(
        app, "ticket,created,closed\nT-1,yesterday,2024-05-01T10:00:00Z\nT-2,today,2024-05-02T10:00:00Z\n"
    )
    assert _by_label(at.selectbox, "Start column").value is None
    assert _by_label(at.selectbox, "End column").value == "closed"


def test_date_order_and_time_zone_are_asked_before_the_go_live(app):
    at = _upload(app, NO_NAMED_STAMPS)
    assert _by_label(at.date_input, "Go-live date").value is None
    assert _by_label(at.selectbox, "Dates like 03/04/2024 are").value == "decide from the data"
    assert _by_label(at.text_input, "Time zone of timestamps without an offset").value == "UTC"


def test_an_unknown_time_zone_is_named_on_the_page(app):
    at = _upload(app, NO_NAMED_STAMPS)
    _by_label(at.selectbox, "Workflow").set_value("eng-pr-review-prep")
    _by_label(at.selectbox, "Start column").set_value("t1")
    _by_label(at.selectbox, "End column").set_value("t2")
    _by_label(at.date_input, "Go-live date").set_value(date(2024, 4, 15))
    _by_label(at.text_input, "Time zone of timestamps without an offset").set_value("Mars/Phobos").run()
    assert any("time zone 'Mars/Phobos' is not known" in shown(w.value) for w in at.warning)


LONG_LOOPS = "ticket,opened,solved\n" + "".join(
    f"T{i},2024-0{m}-0{d}T09:00:00Z,2024-0{m}-0{d + 1}T11:00:00Z\n"
    for i, (m, d) in enumerate([(m, d) for m in (3, 4, 5, 6) for d in (1, 3, 5)])
)


def test_a_message_names_the_pages_control_and_the_control_is_in_sight(app):
    at = _upload(app, LONG_LOOPS)
    _by_label(at.selectbox, "Workflow").set_value("eng-pr-review-prep")
    _by_label(at.date_input, "Go-live date").set_value(date(2024, 4, 15)).run()
    at.button(key="preview").click().run()
    assert not at.exception
    warning = next(shown(w.value) for w in at.warning if "calendar time" in w.value)
    assert "--time-kind" not in warning
    assert "(“Hands-on working time, or elapsed open → close calendar time” set to elapsed)" in warning
    in_expanders = {w.label for e in at.expander for w in e.selectbox}
    assert not any(label.startswith("Hands-on working time") for label in in_expanders)
    assert _by_label(at.selectbox, "Hands-on working time, or elapsed")  # rendered on the page itself
