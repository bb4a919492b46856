"""Errors say what went wrong (issue 25, item 10): an import that runs out of memory is not called
"not CSV", and inputs that ended in a traceback end in one line and exit 1."""

from __future__ import annotations

import pytest

from aiops.errors import IngestError
from aiops.ingest.timings import import_timings
from aiops.inventory import save_workflow
from aiops.store import Store
from tests.conftest import answered_workflow, cli_text


def test_an_import_out_of_memory_says_so_not_that_the_file_is_not_csv(tmp_path, admin):
    upload = tmp_path / "big.csv"
    rows = (f"wf-1,before,2026-01-{1 + i % 28:02d},{i % 97 + 0.5}\n" for i in range(300_000))
    upload.write_text("workflow_id,phase,measured_at,duration_minutes\n" + "".join(rows))
    with Store(tmp_path / "small.duckdb") as store:
        save_workflow(store, admin, answered_workflow())
        store.query("SET temp_directory = ''")  # nowhere to spill: the limit is hard
        store.query("SET memory_limit = '16MB'")
        with pytest.raises(IngestError) as refused:
            import_timings(store, admin, upload)
    assert "ran out of memory" in str(refused.value) and "AIOPS_MEMORY_LIMIT" in str(refused.value)
    assert "CSV" not in str(refused.value)


@pytest.mark.parametrize("command", ["workflows", "timings"])
def test_a_utf8_bom_with_invalid_utf8_is_one_line_and_exit_1(capsys, tmp_path, command):
    upload = tmp_path / "bom.csv"
    upload.write_bytes(b"\xef\xbb\xbfname,department,workflow_id\nTriage \xc3,Support,x\n")
    code, out, err = cli_text(capsys, command, "import", str(upload), "--db", str(tmp_path / "t.duckdb"))
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert "byte-order mark but holds bytes that are not UTF-8" in err
