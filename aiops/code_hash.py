"""What code computed a kept figure: a digest of every module of the package.

Kept estimates and periods' figures (``aiops.estimates.cache``, ``aiops.views.part_store``) carry
it in their keys: a figure computed by other code (an upgrade, or any module edited: the estimates
read the clock, the calendar and the t quantiles from modules outside their own package) is
computed again, never read back. Read once, when this module is first imported, with the package
(a digest read later could describe files upgraded meanwhile).
"""

from __future__ import annotations

import hashlib
from importlib import resources
from importlib.resources.abc import Traversable


def package_hash(root: Traversable | None = None) -> str:
    """The digest of every module (``.py``) under ``root`` (default: the installed package), by
    its path and bytes."""
    digest = hashlib.sha256()
    for path, source in sorted(_sources(root or resources.files("aiops"), "aiops")):
        digest.update(path.encode() + b"\0" + source + b"\0")
    return digest.hexdigest()


def _sources(folder: Traversable, prefix: str) -> list[tuple[str, bytes]]:
    found = []
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name != "__pycache__":
            found += _sources(entry, f"{prefix}/{entry.name}")
        elif entry.name.endswith(".py"):
            found.append((f"{prefix}/{entry.name}", entry.read_bytes()))
    return found


PACKAGE = package_hash()
