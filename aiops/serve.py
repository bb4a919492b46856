"""`aiops serve`: the dashboard as a Streamlit child process, on this machine only unless asked.

Without sign-in (local mode) everyone who reaches the dashboard acts as the admin, so it listens on
127.0.0.1 unless ``--address`` names another interface, and then a warning says what that means.
The child gets the signals `aiops serve` gets (SIGTERM from a service manager, SIGINT from Ctrl-C)
and is waited for: stopping `aiops serve` never leaves a server holding the port and the database.
"""

from __future__ import annotations

import ipaddress
import signal
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

LOOPBACK = "127.0.0.1"
DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard.py"
FORWARDED = (signal.SIGTERM, signal.SIGINT)


def sign_in_configured(folder: Path) -> bool:
    """Whether Streamlit, started in ``folder``, finds an ``[auth]`` section in its secrets files
    (``~/.streamlit/secrets.toml`` and ``FOLDER/.streamlit/secrets.toml``)."""
    for path in (Path.home() / ".streamlit" / "secrets.toml", folder / ".streamlit" / "secrets.toml"):
        try:
            secrets = tomllib.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        if "auth" in secrets:
            return True
    return False


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def open_warning(address: str, folder: Path) -> str | None:
    """What to tell whoever serves a local-mode dashboard on an address others can reach."""
    if is_loopback(address) or sign_in_configured(folder):
        return None
    return (
        f"local mode (no sign-in configured) on {address}: everyone who can reach it acts as the admin; "
        "configure sign-in ([auth] in .streamlit/secrets.toml) or leave --address out (127.0.0.1)"
    )


def streamlit_command(address: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(DASHBOARD),
        "--server.address", address, "--server.port", str(port), "--server.headless", "true",
    ]  # fmt: skip


def run_forwarding_signals(command: list[str], env: Mapping[str, str]) -> int:
    """Run ``command``, pass it SIGTERM and SIGINT, wait for it; its exit code (128 + the signal
    when a signal ended it, as a shell reports it)."""
    child = subprocess.Popen(command, env=env)

    def forward(signum: int, _frame: FrameType | None) -> None:
        child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in FORWARDED}
    try:
        code = child.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return code if code >= 0 else 128 - code
