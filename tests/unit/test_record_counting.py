"""Every record counted (issue 12, case 8 and 9): the number of records is what Python's csv module
reads, for CRLF, CR-only and LF files, BOMs, quoted multi-line headers and cells, and over-long
lines (rejected with their line, never dropped); accepted + rejected = records, always."""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiops.auth import Actor
from aiops.ingest.reader import MAX_LINE_BYTES
from aiops.ingest.sniff import open_source
from aiops.ingest.timings import TimingMapping, import_timings
from aiops.ingest.workflows import read_workflows

WF = "eng-pr-review-prep"
ADMIN = Actor(name="admin@test", role="admin")
MAPPING = TimingMapping(workflow=WF, start_column="opened", end_column="closed (UTC)", go_live="2024-03-01")


def csv_records(path: Path) -> int:
    """Records after the header, as Python's csv module reads them (no size limit)."""
    csv.field_size_limit(1 << 30)
    with path.open(encoding="utf-8-sig", newline="") as f:
        return sum(1 for row in csv.reader(f) if row) - 1


def rows(n: int = 7) -> list[str]:
    return [f"T{i},2024-0{1 + i % 6}-10T09:00:00Z,2024-0{1 + i % 6}-11T09:30:00Z" for i in range(n)]


def check(demo, path: Path, expected: int):
    assert csv_records(path) == expected
    report = import_timings(demo, ADMIN, path, MAPPING, dry_run=True)
    assert report.rows == expected
    assert report.accepted + report.rejected == report.rows
    return report


def test_a_crlf_file_with_a_line_break_in_a_quoted_header_cell_counts_every_record(demo, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(('id,opened,"closed\r\n(UTC)"\r\n' + "\r\n".join(rows()) + "\r\n").encode())
    assert check(demo, path, 7).accepted == 7


def test_a_bom_and_a_quoted_multi_line_header_add_no_phantom_record(demo, tmp_path):
    path = tmp_path / "bom.csv"
    body = 'id,"opened","closed\n(UTC)"\r\n' + "\r\n".join([*rows(), "T9,soon,2024-01-01T00:00:00Z"])
    path.write_bytes(codecs.BOM_UTF8 + body.encode())
    report = check(demo, path, 8)
    assert (report.accepted, report.rejected) == (7, 1)
    assert report.rejects.iloc[0].line == 10  # the header spans lines 1-2


def test_old_mac_cr_only_line_endings_are_read_not_called_empty(demo, tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(("id,opened,closed (UTC)\r" + "\r".join(rows()) + "\r").encode())
    report = check(demo, path, 7)
    assert report.accepted == 7
    assert any("CR only" in n for n in report.notes)


def test_a_bare_cr_in_an_unquoted_cell_ends_a_record_as_python_csv_reads_it(demo, tmp_path):
    # DuckDB 1.5.5 stopped the whole file here ("The CSV Parser state machine reached an invalid state").
    path = tmp_path / "bare-cr.csv"
    body = rows()
    body[2] = body[2].replace("T2,", "T2 a\rb,")  # Python's csv: a record "T2 a", then "b,..."
    path.write_bytes(("id,opened,closed (UTC)\n" + "\n".join(body) + "\n").encode())
    report = check(demo, path, 8)
    assert (report.accepted, report.rejected) == (7, 1)
    assert report.rejects.iloc[0][["line", "reason"]].tolist() == [4, "wrong field count (too few fields)"]
    assert any("Line breaks are mixed" in n for n in report.notes)


def test_a_bare_lf_in_a_crlf_file_loses_no_record(demo, tmp_path):
    # DuckDB 1.5.5, told the file ends records with CRLF, read 0 records and reported no reject.
    path = tmp_path / "bare-lf.csv"
    body = rows()
    body[4] += "\n" + body[4].replace("T4,", "T44,")  # one record ended by LF alone
    path.write_bytes(('id,opened,"closed\n(UTC)"\r\n' + "\r\n".join(body) + "\r\n").encode())
    assert check(demo, path, 8).accepted == 8


def test_an_excel_crlf_file_with_line_feeds_in_quoted_cells_is_not_mixed(demo, tmp_path):
    # Excel: CRLF between records, a bare LF inside a quoted multi-line cell. Only breaks outside
    # quotes end records, so nothing is mixed: no rewrite through Python, no note.
    path = tmp_path / "excel-notes.csv"
    path.write_bytes(b'id,notes\r\n1,"line one\nline two"\r\n2,plain\r\n')
    with open_source(path) as source:
        assert (source.mixed_breaks, source.path, source.dialect.newline) == (False, path, "\r\n")
    path = tmp_path / "excel-timings.csv"
    body = [row + (',"line one\nline two"' if i % 2 else ",plain") for i, row in enumerate(rows())]
    path.write_bytes(("id,opened,closed (UTC),notes\r\n" + "\r\n".join(body) + "\r\n").encode())
    report = check(demo, path, 7)
    assert report.accepted == 7
    assert not any("Line breaks are mixed" in n for n in report.notes)


UNCLOSED = ["id,opened,closed (UTC)", *rows(4)]
UNCLOSED_CASES = {  # case: (the record made malformed, how, the line breaks after each line)
    "unclosed after a CRLF": (1, ("T0,", 'T0,"'), ["\r\n", "\r\n", "\n", "\r\n", "\r\n"]),
    "unclosed after a bare LF": (2, ("T1,", 'T1,"'), ["\r\n", "\n", "\r\n", "\r\n", "\n"]),
    "text after a closing quote": (2, ("T1,", '"T1"x,'), ["\r\n", "\r\n", "\n", "\r\n", "\r\n"]),
}


@pytest.mark.parametrize("case", UNCLOSED_CASES)
def test_malformed_quoting_with_mixed_breaks_is_rejected_as_in_an_lf_file(demo, tmp_path, case):
    # The rewrite of mixed breaks read leniently: an unclosed quote swallowed records unseen.
    index, (old, new), ends = UNCLOSED_CASES[case]
    lines = [*UNCLOSED[:index], UNCLOSED[index].replace(old, new), *UNCLOSED[index + 1 :]]
    mixed, plain = tmp_path / "mixed.csv", tmp_path / "plain.csv"
    mixed.write_bytes("".join(line + end for line, end in zip(lines, ends, strict=True)).encode())
    plain.write_bytes("".join(line + "\n" for line in lines).encode())
    expected = import_timings(demo, ADMIN, plain, MAPPING, dry_run=True)
    report = check(demo, mixed, expected.rows)
    assert (report.accepted, report.rejected) == (expected.accepted, expected.rejected)
    assert report.rejects.line.tolist() == expected.rejects.line.tolist()
    line, reason = report.rejects[["line", "reason"]].values.tolist()[0]
    assert line == index + 1  # the record's own line
    if case != "unclosed after a CRLF":  # mixed outside quotes: rewritten, the record named malformed
        assert reason == "malformed quoting"


def test_the_reviewed_unclosed_quote_is_one_reject_not_one_accepted_record(demo, tmp_path):
    path = tmp_path / "unclosed.csv"
    path.write_bytes(b'a,b\r\n1,"x\r\n2,3\n4,5\r\n6,7\r\n')
    mapping = TimingMapping(workflow=WF, start_column="a", end_column="b", go_live="2024-03-01")
    report = import_timings(demo, ADMIN, path, mapping, dry_run=True)
    assert (report.rows, report.rejected) == (1, 1)
    assert report.rejects[["line", "reason"]].values.tolist() == [[2, "malformed quoting"]]


def test_a_field_over_128_kb_near_the_top_is_read_not_called_empty(demo, tmp_path):
    path = tmp_path / "wide.csv"
    first, *rest = rows()
    path.write_text("id,opened,closed (UTC)\n" + "x" * 200_000 + first[2:] + "\n" + "\n".join(rest) + "\n")
    assert check(demo, path, 7).accepted == 7


def test_an_over_long_line_is_rejected_with_its_line_never_dropped(demo, tmp_path):
    path = tmp_path / "long.csv"
    body = rows()
    body[3] = body[3].replace("T3,", "T3" + "y" * (2 * MAX_LINE_BYTES) + ",")  # above DuckDB's buffer too
    path.write_text("id,opened,closed (UTC)\n" + "\n".join(body) + "\n")
    report = check(demo, path, 7)
    assert (report.accepted, report.rejected) == (6, 1)
    assert report.rejects.iloc[0].record == "T3" + "y" * 198  # its text, cut at 200 characters
    assert report.rejects.iloc[0].to_dict() | {"value": None, "id": None, "record": None} == {
        "line": 5,
        "column": "(whole record)",
        "reason": "line too long",
        "value": None,
        "id": None,
        "record": None,
    }


def test_workflows_rows_that_omit_the_trailing_empty_field_are_read_with_a_note(demo, tmp_path):
    path = tmp_path / "short.csv"
    path.write_text(
        "workflow_id,name,department,owner,manual_process,expected_output\n"
        "sup-a,Triage A,Support,Dana,agent reads,\n"
        "sup-b,Triage B,Support,Dana,agent approves\n"
        "sup-c,Triage C,Support,Dana,agent routes,queue\n"
    )
    report = read_workflows(demo, path)
    assert (report.rows, report.accepted, report.rejected) == (3, 3, 0)
    assert report.notes == [
        "1 record has fewer fields than the header (as many tools write), on line 3: "
        "the missing trailing fields were read as empty."
    ]


def test_timing_rows_that_omit_trailing_fields_are_read_with_a_note(demo, tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("id,opened,closed (UTC),comment\n" + "\n".join(r + ",ok" for r in rows(3)) + "\n"
                    + "\n".join(rows(7)[3:]) + "\n")  # fmt: skip
    report = check(demo, path, 7)
    assert report.accepted == 7
    assert (
        "4 records have fewer fields than the header (as many tools write), on lines 5, 6, 7, 8: "
        "the missing trailing fields were read as empty." in report.notes
    )


# -- the property: generated files, counted by Python's csv module ---------------------------------

TEXT = st.text(alphabet=st.sampled_from(list("abc ,;\"'\n\r\t-:0123456789éß")), min_size=0, max_size=12)
STAMP = st.sampled_from(["2024-01-05T09:00:00Z", "2024-05-06T10:30:00Z", "2024-02-01 08:00", "soon", ""])
NEWLINE = st.sampled_from(["\n", "\r\n", "\r"])
LONG = st.integers(min_value=130_000, max_value=200_000).map(lambda n: "z" * n)


@st.composite
def generated_csv(draw) -> tuple[bytes, str]:
    newline = draw(NEWLINE)
    records = draw(
        st.lists(
            st.tuples(
                st.one_of(TEXT, st.just("T1"), LONG) if draw(st.booleans()) else st.just("T1"),
                STAMP,
                STAMP,
                st.lists(TEXT, max_size=1),  # sometimes a field too many
            ),
            min_size=1,
            max_size=25,
        )
    )
    always_quote = draw(st.booleans())
    # Not RFC 4180, as real exports are: line breaks and quotes left unquoted inside cells (a
    # break there ends the record for Python's csv), records ended by mixed CR, LF and CRLF.
    rfc4180 = draw(st.booleans())

    def cell(value: str) -> str:
        # RFC 4180: a field holding a delimiter, a quote or a line break is quoted.
        if newline == "\r":  # old-Mac files break lines inside cells with CR too
            value = value.replace("\r\n", "\r").replace("\n", "\r")
        if always_quote or any(c in value for c in (',"\r\n' if rfc4180 else ",")):
            return '"' + value.replace('"', '""') + '"'
        return "x" + value if value.startswith('"') else value  # a quote opens a field only first

    header = ["id", "opened", "closed\n(UTC)" if draw(st.booleans()) else "closed (UTC)"]
    lines = [",".join('"' + h + '"' if "\n" in h else h for h in header)]
    lines += [",".join(cell(v) for v in (i, o, c, *extra)) for i, o, c, extra in records]
    n = len(lines)
    ends = [newline] * n if rfc4180 else draw(st.lists(NEWLINE, min_size=n, max_size=n))
    text = "".join(line + end for line, end in zip(lines, ends, strict=True))
    text = text if draw(st.booleans()) else text.removesuffix(ends[-1])
    bom = codecs.BOM_UTF8 if draw(st.booleans()) else b""
    return bom + text.encode(), newline


@pytest.mark.slow  # a property run: 30 generated files
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(generated_csv())
def test_generated_files_accepted_plus_rejected_equals_records_counted_by_python_csv(demo, tmp_path, case):
    content, _ = case
    path = tmp_path / "generated.csv"
    path.write_bytes(content)
    expected = csv_records(path)
    report = import_timings(demo, ADMIN, path, MAPPING, dry_run=True)
    assert report.rows == expected
    assert report.accepted + report.rejected == expected


@pytest.mark.parametrize(
    ("tail", "encoding"),
    [
        ("12345é,x\n", "utf-8"),  # bytes 15-16: split by the chunk boundary, ASCII after
        ("\x81,x\n", "latin-1"),  # Windows-1252 leaves 0x81 undefined
        ("\x92,x\n", "cp1252"),  # a curly apostrophe: Windows-1252, not UTF-8
        ("12345\xc3,x\n", "cp1252"),  # a UTF-8 lead byte with no continuation, ASCII after
    ],
)
def test_the_encoding_scan_reads_characters_across_ascii_chunks(tmp_path, monkeypatch, tail, encoding):
    # The scan skips decoding ASCII chunks; a character split across chunks is still decoded.
    from aiops.ingest import sniff

    monkeypatch.setattr(sniff, "CHUNK", 8)
    path = tmp_path / "f.csv"
    body = "a,b\n123,x\n" + tail + "456,y\n" * 3
    path.write_bytes(body.encode("utf-8") if encoding == "utf-8" else body.encode("latin-1"))
    assert sniff.detect_encoding(path) == encoding


def test_the_upload_is_hashed_and_its_lines_counted_beside_the_detection(tmp_path, monkeypatch):
    # The digest and the line count need every byte but nothing before DuckDB's read: a thread
    # reads them while the file is sniffed and read (0.3 s of a 3M-row import's 4.3 s).
    import hashlib
    import threading

    from aiops.ingest import sniff

    detected, read_whole = threading.Event(), sniff._read_whole

    def after_detection(path):
        assert detected.wait(10), "the whole file was read before the file was detected"
        return read_whole(path)

    monkeypatch.setattr(sniff, "_read_whole", after_detection)
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n1,x\n2,y")  # the last line has no line feed: it counts
    with open_source(path) as source:
        detected.set()
        assert source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert source.line_count == 3


def test_the_lines_counted_are_those_of_the_utf8_copy_duckdb_reads(tmp_path):
    # In UTF-16 a line feed byte is also half of other characters ("Ċ" is 0A 01): the uploaded
    # bytes would count one line too many for each.
    path = tmp_path / "f.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + "a,b\r\n1,Ċ\r\n2,Ċ\r\n".encode("utf-16-le"))
    with open_source(path) as source:
        assert source.path != path
        assert source.line_count == source.path.read_bytes().count(b"\n") == 3
