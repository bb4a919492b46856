"""`aiops serve` and `make run`: this machine only unless asked, a warning when local mode is opened
to others, and a SIGTERM that stops the Streamlit child too."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from aiops import serve
from aiops.cli import main
from tests.browser.conftest import _free_port, _wait_healthy
from tests.conftest import ROOT


@pytest.fixture
def started(monkeypatch, tmp_path) -> list[list[str]]:
    """The commands `aiops serve` would run (nothing is started), in a folder without secrets."""
    commands: list[list[str]] = []
    monkeypatch.setattr(serve, "run_forwarding_signals", lambda command, env: commands.append(command) or 0)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return commands


def _address(command: list[str]) -> str:
    return command[command.index("--server.address") + 1]


def test_serve_listens_on_this_machine_only_by_default(started, capsys):
    assert main(["serve", "--port", "8599"]) == 0
    assert _address(started[0]) == "127.0.0.1" and capsys.readouterr().err == ""


def test_another_address_in_local_mode_is_served_with_a_warning(started, capsys):
    assert main(["serve", "--address", "0.0.0.0"]) == 0
    assert _address(started[0]) == "0.0.0.0"
    err = capsys.readouterr().err
    assert (
        err.startswith("aiops: warning: local mode (no sign-in configured) on 0.0.0.0")
        and err.count("\n") == 1
    )


def test_another_address_with_sign_in_configured_needs_no_warning(started, capsys, tmp_path):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(
        '[auth]\nredirect_uri = "https://x/oauth2callback"\n'
    )
    assert main(["serve", "--address", "0.0.0.0"]) == 0
    assert main(["serve", "--address", "::1"]) == 0
    assert [_address(c) for c in started] == ["0.0.0.0", "::1"] and capsys.readouterr().err == ""


def test_make_run_goes_through_aiops_serve():
    dry = subprocess.run(
        ["make", "-n", "run", "DB=data/x.duckdb"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "aiops serve" in dry and "--address" not in dry and "streamlit run" not in dry
    dry = subprocess.run(
        ["make", "-n", "run", "DB=data/x.duckdb", "ADDRESS=0.0.0.0"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    assert "--address 0.0.0.0" in dry


def _nobody_listens(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited (an orphan waits for init to reap it)


@pytest.mark.slow  # starts a Streamlit server
def test_sigterm_to_aiops_serve_stops_its_streamlit_child(demo_path):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "aiops.cli", "serve", "--port", str(port), "--db", str(demo_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    children: list[int] = []
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", process, timeout=120)
        children = _children(process.pid)
        assert len(children) == 1
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        assert not _alive(children[0]), "the Streamlit child outlived aiops serve"
        assert _nobody_listens(port)
    finally:
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        process.kill()
        process.wait()
