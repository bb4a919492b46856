"""Token references: where a source's API token is read from, never the token itself.

A reference is ``env:NAME`` (an environment variable of the process that pulls) or ``file:/path``
(a file only the service user can read: owned by it, no group or other permission bits). The token
is read at pull time, sent in one request header and never stored, logged, audited or shown: every
message names the reference instead.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from aiops.errors import IngestError, MappingError

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_TOKEN_BYTES = 16 * 1024


class TokenError(IngestError):
    """A token reference that cannot be read (unset variable, unsafe or missing file)."""


@dataclass(frozen=True)
class TokenRef:
    kind: str  # env or file
    where: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.where}"

    def read(self) -> str:
        """The token (stripped); refused with the reference named, never the value."""
        token = self._env() if self.kind == "env" else self._file()
        token = token.strip()
        if not token:
            raise TokenError(f"the token reference {self} is empty", "put the API token there")
        return token

    def _env(self) -> str:
        value = os.environ.get(self.where)
        if value is None:
            raise TokenError(
                f"the token reference {self} is not set in this process's environment",
                f"export {self.where}=... for the user that runs the pull (cron, systemd: Environment=)",
            )
        return value

    def _file(self) -> str:
        path = Path(self.where)
        try:
            info = path.stat()
        except OSError as e:
            raise TokenError(f"the token file of {self} cannot be read", "check the path") from e
        if not stat.S_ISREG(info.st_mode):
            raise TokenError(f"the token file of {self} is not a regular file", "point it at a file")
        if info.st_uid != os.getuid() or info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise TokenError(
                f"the token file of {self} is readable by others than the user that pulls",
                f"chown it to that user and chmod 600 {self.where}",
            )
        if info.st_size > MAX_TOKEN_BYTES:
            raise TokenError(f"the token file of {self} is too large for a token", "check the path")
        return path.read_text("utf-8")


def parse_token_ref(text: str) -> TokenRef:
    """``env:NAME`` or ``file:/absolute/path``; anything else (a pasted token, say) is refused."""
    kind, sep, where = text.strip().partition(":")
    if sep and kind == "env" and _ENV_NAME.fullmatch(where):
        return TokenRef("env", where)
    if sep and kind == "file" and where.startswith("/"):
        return TokenRef("file", where)
    raise MappingError(
        "the token reference must be env:VARIABLE_NAME or file:/absolute/path",
        "never paste the token itself (it would be stored): put it in an environment variable or a"
        " private file",
    )
