"""A throwaway PostgreSQL cluster for the tests, and databases in it.

``python -m tests.pg_cluster start DIR`` initialises a cluster in DIR (as the ``postgres`` user
when run as root: the server refuses root), starts it on a free port bound to 127.0.0.1 and
prints its URL; ``python -m tests.pg_cluster stop DIR`` stops it (``restart DIR`` restarts it).
The test session does the same when ``AIOPS_TEST_PG`` names no server (see ``tests/conftest.py``).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

URL_FILE = "url"


class Unavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine (or the cluster would not start)."""


def bin_dir() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent  # Debian links a version's tools into PATH
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not versions:
        raise Unavailable("no initdb found (apt-get install postgresql)")
    return Path(versions[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def start(directory: str | Path) -> str:
    """Initialise and start a cluster in ``directory``; return its URL (user postgres, trust)."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    binaries = bin_dir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data, log, port = root / "pg", root / "log", _free_port()
    run = {"check": True, "capture_output": True, "text": True}
    try:
        subprocess.run(
            _as_owner([str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]), **run
        )
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
        subprocess.run(
            _as_owner(
                [str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "start", "-w"]
            ),
            **run,
        )
    except (OSError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", "") or str(e)
        raise Unavailable(f"the PostgreSQL cluster did not start: {detail.strip()[:500]}") from e
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    (root / URL_FILE).write_text(url)
    return url


def restart(directory: str | Path) -> None:
    """Restart the cluster in ``directory`` (fast: every connection is terminated), same port.
    The server's output goes to its log: a pipe would be inherited and never closed."""
    root = Path(directory)
    subprocess.run(
        _as_owner([str(bin_dir() / "pg_ctl"), "-D", str(root / "pg"), "-l", str(root / "log"),
                   "restart", "-m", "fast", "-w"]),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
    )  # fmt: skip


def stop(directory: str | Path) -> None:
    data = Path(directory) / "pg"
    if data.exists():
        subprocess.run(
            _as_owner([str(bin_dir() / "pg_ctl"), "-D", str(data), "stop", "-m", "immediate"]),
            capture_output=True,
        )
    shutil.rmtree(directory, ignore_errors=True)


def psql(url: str, *statements: str) -> str:
    """Run statements with psql against ``url`` (each its own transaction); return the output."""
    cmd = [str(bin_dir() / "psql"), "-qXAt", "-v", "ON_ERROR_STOP=1", "-d", url]
    for statement in statements:
        cmd += ["-c", statement]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def create_database(server: str, template: str | None = None) -> str:
    """A new empty database (or a copy of ``template``) on ``server``; its URL."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    psql(server, f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    return with_database(server, name)


def drop_database(server: str, url: str) -> None:
    name = url.rpartition("/")[2]
    psql(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


_EMPTY = """
SET lock_timeout = '10s';
DO $$
DECLARE tables text; seq record;
BEGIN
  SELECT string_agg(format('%I', tablename), ', ') INTO tables
  FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_version';
  IF tables IS NOT NULL THEN EXECUTE 'TRUNCATE ' || tables; END IF;
  FOR seq IN SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' LOOP
    PERFORM setval(format('%I', seq.sequencename), 1, false);
  END LOOP;
END $$;
"""


def empty_database(url: str) -> None:
    """Delete every row but the schema version and start every id sequence again at 1 (as a new
    database would), in one statement."""
    psql(url, _EMPTY)


if __name__ == "__main__":
    action, folder = sys.argv[1], sys.argv[2]
    if action == "start":
        print(start(folder))
    elif action == "stop":
        stop(folder)
    elif action == "restart":
        restart(folder)
    else:
        sys.exit(f"usage: python -m tests.pg_cluster start|stop|restart DIR (not {action})")
