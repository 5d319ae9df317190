"""The index catalogue in PostgreSQL: which index versions exist, where they are, and which one is active.

Every bot process polls :meth:`IndexCatalogue.active` and loads the version it names, so one
``activate`` switches all of them. At most one version is active (a partial unique index).
"""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from .connections import PostgresTables, postgres_errors

SCHEMA_LOCK = 0x5_0B_CA7A  # serializes schema creation and activations among processes
_SCHEMA = """
CREATE TABLE IF NOT EXISTS index_versions (
    version text PRIMARY KEY,
    created timestamptz NOT NULL DEFAULT now(),
    manifest jsonb NOT NULL,
    location text NOT NULL,         -- where the artifact is (a path or URL the processes can read)
    active boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX IF NOT EXISTS index_versions_one_active ON index_versions (active) WHERE active;
"""


class IndexCatalogue(PostgresTables):
    """Index versions (version, created, manifest, location, active) with one active version."""

    schema = _SCHEMA
    schema_lock = SCHEMA_LOCK

    def register(self, version: str, manifest: dict[str, Any], location: str) -> None:
        """Record a version (inactive); registering it again updates its manifest and location."""
        with postgres_errors(), self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO index_versions (version, manifest, location) VALUES (%s, %s, %s) "
                "ON CONFLICT (version) DO UPDATE SET manifest = excluded.manifest, location = excluded.location",
                (version, Jsonb(manifest), location),
            )

    def activate(self, version: str) -> None:
        """Make ``version`` the one active version; KeyError if it was never registered."""
        with postgres_errors(), self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            if conn.execute("SELECT 1 FROM index_versions WHERE version = %s", (version,)).fetchone() is None:
                raise KeyError(f"index version {version!r} is not registered")
            conn.execute("UPDATE index_versions SET active = false WHERE active AND version <> %s", (version,))
            conn.execute("UPDATE index_versions SET active = true WHERE version = %s", (version,))

    def active(self) -> str | None:
        """The active version, or None before the first activation."""
        with postgres_errors(), self.pool.connection() as conn:
            row = conn.execute("SELECT version FROM index_versions WHERE active").fetchone()
        return row[0] if row else None

    def versions(self) -> list[dict[str, Any]]:
        """Every version, oldest first: dicts with version, created, manifest, location and active."""
        with postgres_errors(), self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
            cursor.execute(
                "SELECT version, created, manifest, location, active FROM index_versions ORDER BY created, version"
            )
            return list(cursor.fetchall())
