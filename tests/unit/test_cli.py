"""The command line: exit codes, --json purity, one-line errors, help on every command."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata

import pytest

from aiops.cli import build_parser, main
from tests.conftest import DATA, ROOT, cli_text, realdata


def test_workflows_import_json_is_the_only_stdout(capsys, tmp_path):
    db = str(tmp_path / "cli.duckdb")
    code, out, err = cli_text(
        capsys, "workflows", "import", str(DATA / "workflows_valid.csv"), "--db", db, "--json"
    )
    assert code == 0
    payload = json.loads(out)
    assert (payload["rows"], payload["accepted"], payload["rejected"], payload["created"]) == (2, 2, 0, 2)


def test_rejected_rows_exit_1_and_write_nothing(capsys, tmp_path):
    db = str(tmp_path / "cli.duckdb")
    code, out, _ = cli_text(capsys, "workflows", "import", str(DATA / "workflows_bad_rows.csv"), "--db", db)
    assert code == 1
    assert "1 rejected — workflow_id: missing value — line 3" in out and "Nothing was written" in out
    code, out, _ = cli_text(capsys, "workflows", "list", "--db", db, "--json")
    assert code == 0 and json.loads(out) == []


@pytest.mark.slow
def test_map_option_imports_the_federal_inventory(capsys, tmp_path):
    db = str(tmp_path / "cli.duckdb")
    code, out, _ = cli_text(
        capsys,
        "workflows",
        "import",
        str(realdata("ai_inventory", "2024_consolidated_ai_inventory_raw_v2.csv")),
        "--map",
        "name=Use Case Name",
        "--map",
        "department=Agency",
        "--db",
        db,
        "--json",
    )
    assert code == 0 and json.loads(out)["accepted"] == 2133


def test_workflows_list_json_has_risk_and_status(capsys, demo_path):
    code, out, _ = cli_text(capsys, "workflows", "list", "--db", str(demo_path), "--json")
    rows = {w["workflow_id"]: w for w in json.loads(out)}
    assert code == 0 and len(rows) >= 30
    assert rows["sup-chat-autoreply"]["status"] == "paused"
    assert rows["sup-chat-autoreply"]["stop_conditions"] == ["customer_data_without_review"]
    assert rows["eng-config-deploys"]["risk"] == "high"


def test_usage_error_exits_2(capsys, tmp_path):
    code, _, err = cli_text(
        capsys,
        "workflows",
        "import",
        str(DATA / "workflows_valid.csv"),
        "--map",
        "colour=name",
        "--db",
        str(tmp_path / "x.duckdb"),
    )
    assert code == 2 and err.startswith("aiops: error: unknown field")


@pytest.mark.slow
def test_missing_file_is_one_line_on_stderr_without_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "aiops.cli",
            "workflows",
            "import",
            "nope.csv",
            "--db",
            str(tmp_path / "x.duckdb"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "aiops: error: no such file: nope.csv (check the path)"
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_export_writes_csv(capsys, demo_path, tmp_path):
    out_file = tmp_path / "workflows.csv"
    code, out, _ = cli_text(capsys, "workflows", "export", "--out", str(out_file), "--db", str(demo_path))
    assert code == 0 and out_file.read_text().startswith("workflow_id,name,department")


def _leaf_parsers(parser, prefix=()):
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        for name, sub in action.choices.items():
            if sub._subparsers:
                yield from _leaf_parsers(sub, (*prefix, name))
            else:
                yield (*prefix, name)


@pytest.mark.parametrize("command", list(_leaf_parsers(build_parser())), ids=" ".join)
def test_every_command_has_help_and_the_common_options(capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--db", "--json", "--policy", "--actor"):
        assert option in text


@pytest.mark.parametrize(
    ("value", "reason"), [("", "is empty"), ("  ", "is empty"), ("lots", "'lots' is not a size")]
)
def test_a_bad_memory_limit_is_named_as_the_setting_not_blamed_on_the_database(
    capsys, demo_path, monkeypatch, value, reason
):
    monkeypatch.setenv("AIOPS_MEMORY_LIMIT", value)
    code, out, err = cli_text(capsys, "report", "summary", "--db", str(demo_path))
    assert code == 1 and out == ""
    assert err.startswith("aiops: error: setting memory_limit (AIOPS_MEMORY_LIMIT") and reason in err
    assert "DuckDB file" not in err and err.count("\n") == 1


def test_the_installed_command_runs_main_then_freezes_the_heap(tmp_path):
    """`aiops` (the console script) is ``command``: ``main``'s output and exit code, and every object
    frozen before the process ends (its last collection over pandas & co. skipped; see ``command``).
    A new, empty database: the same path through ``main`` as the demo's summary, whose figures take
    the process from 0.7 to 1.9 s of CPU (/usr/bin/time) and are tested in-process elsewhere."""
    db = tmp_path / "new.duckdb"
    scripts = {e.name: e.value for e in metadata.entry_points(group="console_scripts")}
    assert scripts["aiops"] == "aiops.cli:command"
    code = (
        "import gc, sys; from aiops.cli import command; "
        f"sys.argv = ['aiops', 'report', 'summary', '--json', '--db', {str(db)!r}]; "
        "code = command(); print(code, gc.get_freeze_count() > 0, file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stderr.split()[-2:] == ["0", "True"], result.stderr
    assert json.loads(result.stdout)["company"]["workflows"] == 0
