"""Issue 14, finding 6: a pack being printed for a session that went away is killed, not finished;
a pack that runs past its time bound is killed too."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from aiops.report.bounded import RenderCancelled, RenderTimedOut, print_pdf_bounded, run_bounded

# Enough paragraphs to print for many seconds: the session goes away while the child is at work.
PARAGRAPHS = "".join(f"<p>Line {i} of a very long pack.</p>" for i in range(40_000))
SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


def _gone(pid: int) -> bool:
    """Killed and reaped: no such process any more."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.slow  # prints a PDF for seconds
def test_session_that_goes_away_mid_render_kills_the_printer():
    started = time.monotonic()

    def still_wanted() -> bool:  # the browser session: connected for 1.5 s, then closed
        return time.monotonic() - started < 1.5

    with pytest.raises(RenderCancelled) as stopped:
        print_pdf_bounded(f"<html><body>{PARAGRAPHS}</body></html>", still_wanted, timeout=300)
    # Killed (a child that finished printing exits 0): no wall-clock bound, the suite shares cores.
    assert stopped.value.exitcode == -signal.SIGKILL
    assert _gone(stopped.value.pid)


def test_a_render_past_its_time_bound_is_killed():
    with pytest.raises(RenderTimedOut) as stopped:
        run_bounded(SLEEP, lambda: True, timeout=0.5)
    assert stopped.value.exitcode == -signal.SIGKILL and _gone(stopped.value.pid)


@pytest.mark.slow  # starts a PDF printer
def test_a_wanted_render_returns_the_pdf():
    pdf = print_pdf_bounded("<html><body><p>One page.</p></body></html>", lambda: True, timeout=120)
    assert pdf.startswith(b"%PDF")
