"""The board pack: one template to PDF and offline HTML, every figure with its interval, n and
evidence, hostile workflow names inert in HTML, PDF and CSV, and the `aiops report board` command."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from aiops.auth import Actor
from aiops.cli import main
from aiops.errors import AiopsError
from aiops.estimates import DESIGN_HELP
from aiops.ingest.timings import import_timings
from aiops.inventory import save_workflow
from aiops.metrics import Period
from aiops.report import board, bounded
from aiops.report import format as fmt
from aiops.report.board import (
    board_csv,
    build_board_pack,
    period_name,
    previous_period,
    render_html,
    render_pdf,
    write_board_pack,
)
from aiops.report.summary import summarize
from aiops.store import Store
from aiops.workflow import Workflow

pytestmark = pytest.mark.slow  # renders board packs (PDF, HTML, charts): seconds each
# The pack read from PostgreSQL: a comparison of two quarters and an empty database (the rendering
# after the read is the same code on both stores).
both_stores = pytest.mark.both_stores

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("x")'
Q3 = Period.quarter(2026, 3)
DEPARTMENTS = ["Engineering", "Finance", "Operations", "People", "Product", "Sales", "Support"]


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def flat(text: str) -> str:
    """Text with line breaks and runs of spaces folded: PDF extraction wraps where the layout did."""
    return re.sub(r"\s+", " ", text)


def _timings_csv(path: Path, workflow_ids: list[str]) -> Path:
    """25 before and 25 after loops per workflow in Q3: enough for evidence, a visible saving."""
    lines = ["workflow_id,phase,measured_at,duration_minutes,loops,rework_minutes"]
    start = datetime(2026, 7, 2, 9)
    for workflow_id in workflow_ids:
        for i in range(25):
            lines.append(f"{workflow_id},before,{start + timedelta(days=i):%Y-%m-%d %H:%M},{30 + i % 7},1,0")
            moment = start + timedelta(days=40 + i)
            lines.append(f"{workflow_id},after,{moment:%Y-%m-%d %H:%M},{12 + i % 5},1,{i % 3}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hostile_db(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo (copied) plus two workflows with hostile names, each with an open stop condition
    and timings, so they reach every table, the stop-conditions list and the totals."""
    folder = tmp_path_factory.mktemp("board")
    path = folder / "hostile.duckdb"
    shutil.copy(demo_template, path)
    admin = Actor(name="admin@test", role="admin")
    with Store(path) as store:
        save_workflow(
            store,
            admin,
            Workflow(
                workflow_id="hostile-script",
                name=SCRIPT,
                department="Support",
                data_touched="customer_data",
                changes="drafts",
                customer_impact="internal",
                success_metric="Minutes per ticket",
            ),
        )
        save_workflow(
            store,
            admin,
            Workflow(
                workflow_id="hostile-formula",
                name=FORMULA,
                department="Sales",
                owner="@owner",
                reviewer="+reviewer",
                review_requirement="spot_check",
                changes="drafts",
                customer_impact="internal",
                failure_detection="Weekly audit",
            ),
        )
        timings = _timings_csv(folder / "hostile_timings.csv", ["hostile-script", "hostile-formula"])
        import_timings(store, admin, timings)
    return path


@pytest.fixture(scope="module")
def hostile_pack(hostile_db: Path):
    with Store(hostile_db) as store:
        return build_board_pack(store, Q3, as_of=datetime(2026, 11, 16))


@pytest.fixture(scope="module")
def hostile_html(hostile_pack) -> str:
    return render_html(hostile_pack)


@pytest.fixture(scope="module")
def hostile_pdf(hostile_pack) -> bytes:
    return render_pdf(hostile_pack)


# -- content ------------------------------------------------------------------------------------------


def test_pdf_text_holds_period_company_totals_every_department_and_methodology(hostile_pack, hostile_pdf):
    text = flat(pdf_text(hostile_pdf))
    company = hostile_pack.company
    assert "2026 Q3" in text and "2026-07-01 to 2026-09-30" in text
    assert f"{fmt.number(company.hours_returned)} h" in text
    assert fmt.interval(company.hours_returned_low, company.hours_returned_high) in text
    assert f"{fmt.number(company.hours_at_risk)} h" in text  # at risk, beside the headline
    assert fmt.money(company.value, "USD") in text and fmt.money(company.net_value, "USD") in text
    assert fmt.interval(company.value_low, company.value_high) in text
    assert fmt.n_phrase(company.samples_before, company.samples_after) in text  # never without its n
    for department in DEPARTMENTS:
        assert department in text
    for phrase in (
        "How the figures are made",
        "Decisions for the board",
        "Hours at risk",
        "fewer than 20 timing samples",
        f"version {hostile_pack.policy_version}",
        "Data freshness",
        "Open stop conditions and their owners",
        "What must stay human",
    ):
        assert phrase in text, phrase
    # The methodology names every design's interval as aiops.estimates says it, never "Welch" for all
    # (compared without spaces: a line may break after a hyphen, "difference-in-" / "differences").
    bare = "".join(text.split())
    assert "".join(fmt.intervals_note().capitalize().split()) in bare
    for code in fmt.ESTIMATE_DESIGNS:
        assert "".join(DESIGN_HELP[code].split()) in bare, code


def test_pdf_has_title_page_and_numbered_pages(hostile_pack, hostile_pdf):
    reader = PdfReader(io.BytesIO(hostile_pdf))
    pages = len(reader.pages)
    title = flat(reader.pages[0].extract_text())
    assert "Board pack" in title and "2026 Q3" in title and "Northwind Labs" in title
    assert f"Generated {hostile_pack.generated_at:%Y-%m-%d %H:%M} UTC" in title
    assert "Page 1 of" not in title  # no footer on the title page
    assert f"Page 2 of {pages}" in reader.pages[1].extract_text()
    assert f"Page {pages} of {pages}" in reader.pages[-1].extract_text()
    # Cover, a two-page executive summary, one page for all departments, then the appendix.
    kickers = [flat(page.extract_text()).lower() for page in reader.pages]
    assert kickers[1].startswith("executive summary") and kickers[2].startswith("executive summary")
    assert kickers[3].startswith("departments") and kickers[4].startswith("appendix a")
    assert not any(k.startswith(("executive summary", "departments")) for k in kickers[4:])


def test_pdf_draws_the_vector_charts_in_hours_with_readable_labels(hostile_pdf):
    # WeasyPrint draws the SVG's text as text: the axis titles prove the charts were rendered.
    text = flat(pdf_text(hostile_pdf))
    assert "hours returned in the period" in text and "hours returned per week" in text
    assert "open stop conditions" in text
    assert "Changes permissions, billing or production" in text
    assert "changes_permissions_billing_production" not in text  # no raw codes in a chart or table


def test_pdf_has_no_scripts_and_no_external_links(hostile_pdf):
    assert b"/JavaScript" not in hostile_pdf and b"/JS " not in hostile_pdf
    assert b"/URI" not in hostile_pdf


def test_totals_come_from_the_same_domain_functions_as_the_summary(hostile_db, hostile_pack):
    with Store(hostile_db) as store:
        summary = summarize(store, Q3, as_of=datetime(2026, 11, 16))
    assert hostile_pack.company.hours_returned == pytest.approx(summary["company"]["hours_returned"])
    assert hostile_pack.company.loops_removed_low == pytest.approx(summary["company"]["loops_removed_low"])
    by_name = {d["department"]: d for d in summary["departments"]}
    for section in hostile_pack.departments:
        assert section.totals.hours_returned == pytest.approx(by_name[section.name]["hours_returned"])
        assert section.totals.samples_after == by_name[section.name]["samples_after"]


def test_stop_conditions_list_names_each_owner_or_its_absence(hostile_pack, hostile_html):
    stops = {s.workflow.workflow_id: s for s in hostile_pack.stops}
    assert {"no_owner", "customer_data_without_review", "failure_invisible"} <= {
        code for code, _ in stops["hostile-script"].conditions
    }
    assert [code for code, _ in stops["hostile-formula"].conditions] == ["success_not_measurable"]
    assert stops["hostile-formula"].workflow.owner == "@owner"
    stops_page = hostile_html.split('id="stops"')[1].split("</section>")[0]
    assert "no owner" in stops_page and "@owner" in stops_page


# -- periods ------------------------------------------------------------------------------------------


@both_stores
def test_a_quarter_is_compared_with_the_previous_quarter(demo):
    assert previous_period(Period.quarter(2026, 4)) == Q3
    assert previous_period(Period.quarter(2026, 1)) == Period.quarter(2025, 4)
    pack = build_board_pack(demo, Period.quarter(2026, 4), as_of=datetime(2026, 11, 16), charts=False)
    q3 = summarize(demo, Q3, as_of=datetime(2026, 11, 16))["company"]
    assert pack.comparison is not None and pack.comparison.name == "2026 Q3"
    assert pack.comparison.previous.hours_returned == pytest.approx(q3["hours_returned"])
    assert pack.comparison.per_week  # Q4 is not complete: per week, never part against whole
    weeks = pack.comparison.current_weeks, pack.comparison.previous_weeks
    change = pack.company.hours_returned / weeks[0] - q3["hours_returned"] / weeks[1]
    assert pack.comparison.hours_change == pytest.approx(change)
    assert pack.in_progress and "2026 Q4 is not complete" in pack.period_note
    assert pack.period_name == "2026 Q4 to date"
    assert "compared per week with 2026 Q3" in render_html(pack)


def test_all_time_says_no_comparison_is_possible(demo):
    pack = build_board_pack(demo, Period(), charts=False)
    assert pack.comparison is None and period_name(Period()) == "all time"
    assert "the period is all time" in pack.no_comparison
    assert pack.no_comparison in render_html(pack)


def test_a_previous_period_without_evidence_is_not_compared(demo):
    # The demo's timings start in June: 2026 Q2 has no after-phase loops, so no honest change.
    pack = build_board_pack(demo, Q3, as_of=datetime(2026, 11, 16), charts=False)
    assert pack.comparison is None
    assert "no workflow had enough evidence in 2026 Q2" in pack.no_comparison


def test_a_date_range_uses_the_period_of_the_same_length_before():
    period = Period(date(2026, 8, 1), date(2026, 9, 1))
    assert previous_period(period) == period.previous()
    assert period_name(period) == "2026-08-01 to 2026-08-31"


@both_stores
def test_an_empty_database_gives_a_pack_that_says_so(store):
    pack = build_board_pack(store, Q3)
    assert pack.workflows == () and not pack.company.has_estimate and pack.charts == {}
    html = render_html(pack)
    assert "has a proven saving yet" in html and "No open stop conditions" in html
    assert pdf_text(render_pdf(pack)).count("Page ") >= 5


# -- offline HTML and escaping ------------------------------------------------------------------------


def test_html_holds_no_external_url(hostile_html):
    assert not re.search(r"https?://", hostile_html, re.IGNORECASE)
    assert "url(" not in hostile_html and "@import" not in hostile_html
    sources = re.findall(r'(?:src|href)="([^"]*)"', hostile_html)
    assert sources and all(s.startswith(("data:image/svg+xml;base64,", "#")) for s in sources)


def test_charts_are_embedded_svg_rendered_from_the_app_specs(hostile_html):
    uris = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', hostile_html)
    assert len(uris) == 3  # hours by department, the weekly trend, stop conditions
    svgs = [base64.b64decode(u).decode("utf-8") for u in uris]
    assert all(svg.startswith("<svg") for svg in svgs)
    # Fixed pixel widths (not "container"): the chart fits an A4 page.
    assert all(int(re.search(r'width="(\d+)"', svg)[1]) <= 700 for svg in svgs)


def test_hostile_names_are_escaped_in_html(hostile_html):
    assert SCRIPT not in hostile_html
    assert "<script" not in hostile_html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile_html
    assert "=HYPERLINK(&#34;x&#34;)" in hostile_html


def test_hostile_names_are_literal_text_in_pdf(hostile_pdf):
    text = pdf_text(hostile_pdf)
    assert SCRIPT in text
    assert FORMULA in text


def test_board_csv_escapes_formula_cells(hostile_pack):
    rows = {r["workflow_id"]: r for r in csv.DictReader(io.StringIO(board_csv(hostile_pack)))}
    assert rows["hostile-formula"]["name"] == "'" + FORMULA
    assert rows["hostile-formula"]["owner"] == "'@owner"
    assert rows["hostile-script"]["name"] == SCRIPT  # text, not a formula: kept as is
    assert len(rows) == len(hostile_pack.workflows)
    for row in rows.values():
        assert not row["name"].startswith(("=", "+", "-", "@"))
    # Negative numbers stay numbers (only text cells are escaped).
    assert any(row["saved_per_loop"].startswith("-") for row in rows.values())


def test_board_csv_header_is_the_declared_columns_each_filled_from_its_frame_column(hostile_pack):
    text = board_csv(hostile_pack)
    assert tuple(next(csv.reader(io.StringIO(text)))) == board.BOARD_CSV_COLUMNS
    frame = hostile_pack.view.workflows.set_index("workflow_id")
    for row in csv.DictReader(io.StringIO(text)):
        workflow = frame.loc[row["workflow_id"]]
        assert int(row["period_loops_after"]) == workflow.period_loops_after
        assert row["blocking"] == "; ".join(workflow.blocking)
        assert row["proven"] == str(bool(workflow.proven))


# -- writing files and the command line ----------------------------------------------------------------


def test_write_board_pack_refuses_an_unknown_suffix(demo, tmp_path):
    with pytest.raises(AiopsError) as error:
        write_board_pack(demo, tmp_path / "pack.docx", Q3)
    assert "pack.docx" in error.value.message and ".pdf or .html" in error.value.hint
    assert not (tmp_path / "pack.docx").exists()


def test_cli_report_board_writes_a_pdf(capsys, demo_path, tmp_path):
    out = tmp_path / "board.pdf"
    code = main(["report", "board", "--out", str(out), "--db", str(demo_path), "--period", "2026Q3"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert out.read_bytes().startswith(b"%PDF")
    assert "2026-07-01 to 2026-09-30" in captured.out and captured.err == ""
    assert "2026 Q3" in pdf_text(out.read_bytes())


def test_cli_report_board_writes_html_with_json(capsys, demo_path, tmp_path):
    out = tmp_path / "board.html"
    argv = ["report", "board", "--out", str(out), "--db", str(demo_path), "--period", "2026Q4", "--json"]
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    payload = json.loads(captured.out)
    assert payload["out"] == str(out) and payload["period"] == "2026-10-01 to 2026-12-31"
    assert payload["seconds"] >= 0 and payload["bytes"] == out.stat().st_size
    html = out.read_text(encoding="utf-8")
    assert "2026 Q4 to date" in html and "compared with 2026 Q3" in html


def test_cli_report_board_unknown_suffix_exits_1_with_one_line(capsys, demo_path, tmp_path):
    out = tmp_path / "board.docx"
    code = main(["report", "board", "--out", str(out), "--db", str(demo_path)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.count("\n") == 1 and captured.err.startswith("aiops: error: ")
    assert "Traceback" not in captured.err and captured.out == ""
    assert not out.exists()


def test_a_2000_character_name_is_cut_for_display_and_full_only_in_appendix_a(demo_path, tmp_path):
    """Behaviour only: how fast it renders is measured by bench/board.py (a ratio against the
    normal pack in the same run), not asserted here, where the suite's parallel workers share cores."""
    admin = Actor(name="admin@test", role="admin")
    long_name = ("Summarise " + "very long " * 199).strip()  # ~2,000 characters
    with Store(demo_path) as store:
        save_workflow(
            store,
            admin,
            Workflow(workflow_id="long-name", name="Summarise", department="Support", owner="Dana Lee"),
        )
        # Names are bounded at the domain now (400 characters); a database written before the bound
        # may still hold a longer one, and the pack must still render it.
        store.write(
            admin,
            lambda tx: tx.execute(
                "UPDATE workflows SET name = ? WHERE workflow_id = 'long-name'", [long_name]
            ),
        )
        import_timings(store, admin, _timings_csv(tmp_path / "long.csv", ["long-name"]))
        pack = build_board_pack(store, Q3, as_of=datetime(2026, 11, 16))
    html = render_html(pack)
    before_appendix, appendix_a = html.split('id="workflows"')
    appendix_a, after_appendix_a = appendix_a.split('id="stops"')
    assert long_name not in before_appendix and long_name not in after_appendix_a  # cut everywhere ...
    assert long_name in appendix_a  # ... but in the appendix table, where it is in full
    assert len(PdfReader(io.BytesIO(render_pdf(pack))).pages) <= 14  # 11 for the demo, + the long row


def _appendix(html: str, section: str) -> str:
    found = re.search(rf'<section class="page[^"]*" id="{section}".*?</section>', html, re.S)
    assert found is not None
    return found.group(0)


def test_an_appendix_past_its_bound_lists_the_most_hours_and_attaches_every_workflow(demo, monkeypatch):
    """5,000 workflows made a 1,190-page pack: past APPENDIX_ROWS (here 5), Appendix A lists the
    workflows returning the most hours with a summary by department, Appendix B the first stops, and
    every workflow travels as a CSV attached to the PDF (a download link in the HTML)."""
    monkeypatch.setattr(board, "APPENDIX_ROWS", 5)
    pack = build_board_pack(demo, Q3)
    assert len(pack.workflows) > 5 and len(pack.stops) > 5
    html = render_html(pack)
    appendix_a, appendix_b = _appendix(html, "workflows"), _appendix(html, "stops")
    assert "More workflows than a printed appendix holds (5 rows)" in appendix_a
    most = sorted(pack.workflows, key=lambda w: -(w.hours_returned or 0))[:5]
    listed = re.findall(r'<td class="wname">(.*?)</td>', appendix_a)
    assert sorted(listed) == sorted(w.name for w in most)
    assert appendix_b.count('<span class="wid">') == 5 and f"and {len(pack.stops) - 5} more" in appendix_b
    for name, count, _, _ in pack.appendix_by_department:
        assert f'<td>{name}</td><td class="num">{count}</td>' in appendix_a
    uri = re.search(r'download="saved-loops-workflows.csv" href="data:text/csv;base64,([^"]+)"', html)
    assert uri is not None
    attached = base64.b64decode(uri.group(1)).decode("utf-8")
    assert attached == board_csv(pack)
    ids = [row["workflow_id"] for row in csv.DictReader(io.StringIO(attached))]
    assert sorted(ids) == sorted(w.workflow_id for w in pack.workflows)
    reader = PdfReader(io.BytesIO(render_pdf(pack)))
    files = [
        annotation.get_object()["/FS"].get_object()
        for page in reader.pages
        for annotation in page.get("/Annots", []) or []
        if annotation.get_object().get("/Subtype") == "/FileAttachment"
    ]
    assert [f["/F"] for f in files] == ["saved-loops-workflows.csv"]
    assert files[0]["/EF"]["/F"].get_object().get_data().decode("utf-8") == attached


def test_cli_report_board_prints_in_a_child_bounded_in_memory(capsys, demo_path, tmp_path, monkeypatch):
    """The CLI prints as the dashboard does: a child process with a time and a memory bound (a
    printer that needs more than its bound fails with one line, the CLI does not grow)."""
    monkeypatch.setattr(bounded, "PDF_MEMORY_BYTES", 32 * 2**20)
    out = tmp_path / "board.pdf"
    code = main(["report", "board", "--out", str(out), "--db", str(demo_path), "--period", "2026Q3"])
    captured = capsys.readouterr()
    assert code == 1 and not out.exists()
    assert captured.err.startswith("aiops: error: the board pack could not be printed")
    assert "Traceback" not in captured.err
