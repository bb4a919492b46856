"""Print a board pack in a child process that is killed when nobody waits for it any more.

The dashboard prints a PDF when a user clicks its download button; Streamlit runs that in a worker
thread, and a thread cannot be stopped. WeasyPrint runs in a child process instead
(``python -m aiops.report.printing``, HTML file in, PDF file out): the caller polls
``still_wanted()`` (the dashboard: "is the browser session that asked still connected?") and the
clock, and kills the child as soon as the answer is no or the time is up. The pack's figures and
charts are built by the caller (cached and bounded); only the printing, the costly and
input-dependent part, runs in the child.

A fresh interpreter rather than a fork: the server is multi-threaded, and a forked child could
inherit a lock another thread holds (fontconfig, logging). It costs the child's start-up and
WeasyPrint's import, about a second.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from aiops.errors import AiopsError
from aiops.report.board import BoardPack, render_html

logger = logging.getLogger(__name__)

PDF_TIMEOUT_S = 60.0  # a demo pack prints in ~3 s; one that takes 20 times that is stopped
# The printer's data (heap) limit: 5,000 workflows print in ~150 MB; the pack's figures live in
# the caller, so the two together stay within about 1 GB.
PDF_MEMORY_BYTES = 512 * 1024 * 1024
POLL_S = 0.1


class RenderStopped(AiopsError):
    """The child printing a pack was stopped (killed) before it finished."""

    def __init__(self, message: str, hint: str, pid: int, exitcode: int | None) -> None:
        super().__init__(message, hint)
        self.pid = pid
        self.exitcode = exitcode  # -9: killed (SIGKILL)


class RenderCancelled(RenderStopped):
    """Nobody waits for the pack any more (the browser session that asked has gone)."""


class RenderTimedOut(RenderStopped):
    """The pack took longer than its time bound."""


def run_bounded(
    command: list[str],
    still_wanted: Callable[[], bool],
    timeout: float = PDF_TIMEOUT_S,
    log: Path | None = None,
    poll: float = POLL_S,
) -> int:
    """Run ``command`` as a child process and return its exit code; kill it (SIGKILL) as soon as
    ``still_wanted()`` is false or ``timeout`` seconds have passed, and raise. The child's stderr
    goes to ``log`` (a file: a pipe nobody reads could block it)."""
    deadline = time.monotonic() + timeout
    with open(log or "/dev/null", "wb") as errors:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors)
    try:
        while True:
            try:
                return child.wait(poll)
            except subprocess.TimeoutExpired:
                pass
            if not still_wanted():
                raise _stopped(RenderCancelled, "the board pack was cancelled: nobody waits for it", child)
            if time.monotonic() > deadline:
                raise _stopped(RenderTimedOut, f"the board pack took over {timeout:.0f} s: stopped", child)
    finally:
        if child.poll() is None:  # any other way out (an interrupt): the child goes too
            child.kill()
            child.wait()


def _stopped(kind: type[RenderStopped], message: str, child: subprocess.Popen[bytes]) -> RenderStopped:
    """Kill the child now (and reap it) and name it in the error: its pid and how it ended."""
    child.kill()
    child.wait()
    return kind(message, "download the pack again when you need it", child.pid, child.returncode)


def print_pdf_bounded(
    html: str,
    still_wanted: Callable[[], bool],
    timeout: float = PDF_TIMEOUT_S,
    memory: int | None = None,
) -> bytes:
    """``html`` printed to PDF by a child process that dies with the request (``run_bounded``) and
    may not grow past ``memory`` bytes of data (default ``PDF_MEMORY_BYTES``)."""
    memory = memory or PDF_MEMORY_BYTES
    with tempfile.TemporaryDirectory(prefix="saved-loops-pack-") as folder:
        source, target, log = Path(folder, "pack.html"), Path(folder, "pack.pdf"), Path(folder, "errors")
        source.write_text(html, encoding="utf-8")
        command = [sys.executable, "-m", "aiops.report.printing", str(source), str(target), str(memory)]
        code = run_bounded(command, still_wanted, timeout, log)
        if code != 0 or not target.exists():
            # The printer's own words (a traceback) go to the server log, not to the reader.
            logger.error("board pack printer exited %s:\n%s", code, log.read_text(errors="replace"))
            raise AiopsError("the board pack could not be printed", "see the server log")
        return target.read_bytes()


def render_pdf_bounded(
    pack: BoardPack, still_wanted: Callable[[], bool], timeout: float = PDF_TIMEOUT_S
) -> bytes:
    """The pack's PDF, printed by a child process that dies with the request."""
    return print_pdf_bounded(render_html(pack), still_wanted, timeout)
