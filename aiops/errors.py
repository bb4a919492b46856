"""The domain's errors: one base with a message and a hint, one subclass per kind of failure.

Driver errors are translated where they happen (``raise StoreError(...) from e``); the CLI maps each
class to an exit code and prints one line, the dashboard shows the message through one helper.
"""

from __future__ import annotations


class AiopsError(Exception):
    """A failure the user can act on: ``message`` says what happened, ``hint`` what to do."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class IngestError(AiopsError):
    """A file could not be read or imported; nothing was written."""


class MappingError(AiopsError):
    """A column mapping does not fit the file (unknown column, missing required field)."""

    exit_code = 2


class PolicyError(AiopsError):
    """A policy file is not valid; the message names the key and the problem."""


class StoreError(AiopsError):
    """The database could not be opened or written."""


class PermissionDenied(AiopsError):
    """The acting user's role does not allow this write."""


class NotFound(AiopsError):
    """A workflow, batch or preset that does not exist."""


class Conflict(AiopsError):
    """The write contradicts what is stored (a duplicate upload, a checkpoint that must stay)."""


def exit_code_for(error: BaseException) -> int:
    return error.exit_code if isinstance(error, AiopsError) else 1
