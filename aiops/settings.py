"""Settings: environment (``AIOPS_*``) first, then an optional ``aiops.toml``, then defaults.

Built once per entry point (CLI run, dashboard process) and passed in; never an import-time global.
The dashboard reads them through ``current_settings``: built again when their sources change.
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import duckdb
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from aiops.bounded_input import load_toml
from aiops.errors import AiopsError


@lru_cache(maxsize=16)
def _duckdb_size(value: str) -> bool:
    """Whether DuckDB takes ``value`` as its memory limit (asked once per process and value: an
    in-memory database opened and closed)."""
    try:
        duckdb.connect(config={"memory_limit": value}).close()
    except duckdb.Error:
        return False
    return True


class Settings(BaseSettings):
    # Frozen: ``current_settings`` shares one with every session of the dashboard.
    model_config = SettingsConfigDict(
        env_prefix="AIOPS_", toml_file="aiops.toml", extra="ignore", allow_inf_nan=False, frozen=True
    )

    db: str = Field(
        "data/aiops.duckdb",
        description="the DuckDB database file, or postgresql://user[:password]@host:port/dbname "
        "(the password may come from PGPASSWORD or ~/.pgpass instead)",
    )
    policy: Path | None = Field(None, description="the company's policy file (default: built in)")
    roles_file: Path | None = Field(None, description="who has which role, when sign-in is on")
    max_upload_mb: int = Field(200, ge=1, description="largest upload accepted, in megabytes")
    lock_timeout_s: float = Field(5.0, ge=0, description="how long to wait for a busy database")
    memory_limit: str = Field("1GB", description="DuckDB's memory limit; beyond it, it spills to disk")

    @field_validator("memory_limit")
    @classmethod
    def _a_size(cls, value: str) -> str:
        """Checked here, by DuckDB itself: a bad value used to surface as a database that would
        not open ("is it a DuckDB file?")."""
        if not value.strip():
            raise ValueError("is empty: give a size such as 1GB or 512MB")
        if not _duckdb_size(value):
            raise ValueError(f"{value!r} is not a size (e.g. 1GB or 512MB)")
        return value

    @field_validator("db", mode="before")
    @classmethod
    def _path_as_text(cls, value: object) -> object:
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _MeasuredToml(settings_cls))

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


class _MeasuredToml(TomlConfigSettingsSource):
    """``aiops.toml`` read as every TOML file people write: measured before it is parsed."""

    def _read_file(self, file_path: Path | Traversable) -> dict[str, Any]:
        return load_toml(file_path.read_text("utf-8"), str(file_path), AiopsError)


_CURRENT: dict[tuple[object, ...], Settings] = {}


def current_settings() -> Settings:
    """``load_settings()``, built again only when what it reads has changed: the ``AIOPS_*``
    variables, the working directory, ``aiops.toml``'s size and time. The dashboard asks for the
    settings at every store access, a dozen times a run, and a build costs about a millisecond."""
    toml = Path("aiops.toml")
    try:
        stat = toml.stat()
        file: tuple[int, ...] | None = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    except OSError:
        file = None
    variables = tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith("AIOPS_")))
    key = (variables, os.getcwd(), file)
    current = _CURRENT.get(key)
    if current is None:
        current = load_settings()
        _CURRENT.clear()  # the last sources' only: settings change seldom
        _CURRENT[key] = current
    return current


def load_settings(**overrides: Any) -> Settings:
    """The settings, or one line saying which setting (an ``AIOPS_*`` variable or a key of
    ``aiops.toml``) is wrong and why: never a traceback."""
    try:
        return Settings(**overrides)
    except ValidationError as e:
        first = e.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "a setting"
        reason = first["msg"].removeprefix("Value error, ")
        raise AiopsError(
            f"setting {name} (AIOPS_{name.upper()} or aiops.toml): {reason}",
            "fix the environment variable or aiops.toml",
        ) from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as e:
        raise AiopsError(f"cannot read aiops.toml: {e}", "fix or remove aiops.toml") from e
