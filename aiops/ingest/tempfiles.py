"""Where uploads wait between preview and confirm: a private directory (mode 0700) per user of the
system temp folder, one sub-directory per upload, deleted on confirm, cancel or session end, and
swept of old ones at startup (also the world-readable files older versions left behind).

An import's working copies (a UTF-8 copy, JSON as CSV) live there too, in ``ingest-<pid>-*``, each
file mode 0600: a process killed mid-import leaves its folder, and the sweep removes it once that
process is gone, whatever its age."""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiops.errors import IngestError

MAX_AGE_SECONDS = 24 * 3600
LEGACY_PATTERNS = ("aiops-upload-*", "aiops-workflows-*.csv", "aiops-ingest-*")
WORKDIR = re.compile(r"^ingest-(\d+)-")


def upload_root() -> Path:
    """The private parent of every upload; refused if another user owns it or could read it."""
    root = Path(tempfile.gettempdir()) / f"aiops-uploads-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    info = root.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise IngestError(f"{root} is not a private directory of this user", "remove it, then upload again")
    if stat.S_IMODE(info.st_mode) != 0o700:
        root.chmod(0o700)
    return root


def keep_bytes(content: bytes, name: str) -> Path:
    """The upload written to its own private directory; returns the file's path."""
    directory = Path(tempfile.mkdtemp(prefix="upload-", dir=upload_root()))  # mode 0700
    path = directory / (Path(name).name or "upload.csv")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    return path


@contextmanager
def ingest_workdir() -> Iterator[Path]:
    """A private folder for one import's working copies, named after this process; removed after."""
    directory = Path(tempfile.mkdtemp(prefix=f"ingest-{os.getpid()}-", dir=upload_root()))  # mode 0700
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def make_private(directory: Path) -> None:
    """Every file in ``directory`` readable by its owner only (writers create them 0644)."""
    for path in directory.iterdir():
        if path.is_file() and not path.is_symlink():
            path.chmod(0o600)


def _abandoned(path: Path) -> bool:
    """An import's folder whose process has ended (killed mid-import)."""
    match = WORKDIR.match(path.name)
    if match is None:
        return False
    try:
        os.kill(int(match[1]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


def discard(path: Path | str) -> None:
    """Delete an upload kept by ``keep_bytes`` (its whole directory); nothing else."""
    directory = Path(path).parent
    if directory.parent == upload_root():
        shutil.rmtree(directory, ignore_errors=True)


def sweep(max_age_seconds: float = MAX_AGE_SECONDS) -> int:
    """Delete uploads older than ``max_age_seconds`` (abandoned previews) and the working copies of
    imports whose process has ended; returns how many."""
    cutoff, removed = time.time() - max_age_seconds, 0
    candidates = list(upload_root().iterdir())
    for pattern in LEGACY_PATTERNS:
        candidates += Path(tempfile.gettempdir()).glob(pattern)
    for path in candidates:
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if (info.st_mtime >= cutoff and not _abandoned(path)) or info.st_uid != os.getuid():
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed += 1
    return removed
