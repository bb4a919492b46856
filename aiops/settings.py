"""Settings: environment (``AIOPS_*``) first, then an optional ``aiops.toml``, then defaults.

Built once per entry point (CLI run, dashboard process) and passed in; never an import-time global.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIOPS_", toml_file="aiops.toml", extra="ignore")

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
        try:
            duckdb.connect(config={"memory_limit": value}).close()
        except duckdb.Error:
            raise ValueError(f"{value!r} is not a size (e.g. 1GB or 512MB)") from None
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
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024
