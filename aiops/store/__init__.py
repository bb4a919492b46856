"""The store (a DuckDB file, or PostgreSQL attached by DuckDB): schema, migrations, the one write path."""

from aiops.store.store import Reader, Store, Tx, latest_schema_version, utcnow

__all__ = ["Reader", "Store", "Tx", "latest_schema_version", "utcnow"]
