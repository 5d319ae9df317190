"""Knowledge gaps in PostgreSQL, so that every bot process records, lists and decides the same gaps.

:class:`PostgresGapStore` stores what :class:`bot.gaps.GapStore` stores in SQLite, in tables
prefixed ``gap_`` (they live beside the votes tables in the one database); the rules (normalising a
question, grouping, what a decision records, applying decisions) are :class:`bot.gaps.GapStoreBase`'s,
shared with SQLite.

Several processes write at once, so two things SQLite's single writer gave for free are explicit:

* Writers of gaps and decisions take one transaction-scoped advisory lock. Decisions then commit
  in the order of their versions, so :meth:`~PostgresGapStore.decisions_since` (polled by every
  process) never skips one; gap ids commit in order too (the digest's "newer than the mark" misses
  none), and two processes' prunes cannot deadlock. The lock is held for a few milliseconds per
  refused or voted question.
* The daily digest mark moves by compare-and-set (:meth:`~PostgresGapStore.claim_digest`).

A server that does not answer (connection refused, lost, or no pooled connection within the pool's
timeout) raises :class:`bot.stores.StoreUnavailable`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from .connections import StoreUnavailable, postgres_pool
from .feedback import chat_hash
from .gaps import (
    DECISION_COLUMNS,
    GAP_COLUMNS,
    MAX_AGE_DAYS,
    MAX_GAPS,
    Decision,
    GapRow,
    GapStoreBase,
    Group,
    Verdict,
    versioned_decisions,
)

TIMEOUT = 5.0  # seconds to wait for a pooled connection (and to connect) before StoreUnavailable


def _lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``: the same in every process and release."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


SCHEMA_LOCK = _lock_key("summit-bot gap schema")  # N processes starting together create the tables once
WRITE_LOCK = _lock_key("summit-bot gap writes")  # gaps and decisions commit in id / version order

# The same columns as SQLite's (bot/gaps.py), so the shared code reads rows of either alike:
# times are Unix seconds, candidates JSON text, vectors float32 bytes.
SCHEMA = """
CREATE TABLE IF NOT EXISTS gap_decisions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time DOUBLE PRECISION NOT NULL,
    question TEXT NOT NULL,
    language TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('answer', 'refuse', 'ignore')),
    passage_id TEXT,            -- 'answer' only: the paragraph that answers it
    doc TEXT,
    paragraph INTEGER,
    version BIGINT NOT NULL,    -- raised by every decide(), committed in order: decisions_since()
    UNIQUE (question, language)
);
CREATE INDEX IF NOT EXISTS gap_decisions_version ON gap_decisions (version);
CREATE TABLE IF NOT EXISTS gap_records (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time DOUBLE PRECISION NOT NULL,
    chat_hash TEXT NOT NULL,    -- salted SHA-256 of the chat id, never the id
    question TEXT NOT NULL,
    language TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('refused', 'medium', 'down', 'up')),
    candidates TEXT NOT NULL,   -- JSON list of passage ids, best first
    reply TEXT NOT NULL,
    vector BYTEA,               -- float32 question vector, for grouping
    decided BIGINT              -- gap_decisions.id once an editor decided its group
);
CREATE INDEX IF NOT EXISTS gap_records_open ON gap_records (decided, id);
CREATE TABLE IF NOT EXISTS gap_marks (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
-- The row exists from the start, so claiming the digest is one conditional UPDATE.
INSERT INTO gap_marks (name, value) VALUES ('digest', 0) ON CONFLICT (name) DO NOTHING;
"""


class PostgresGapStore(GapStoreBase):
    """Gaps and decisions in PostgreSQL, bounded; shared by any number of processes, safe between threads.

    ``dsn`` is a ``postgresql://`` URL (the store opens and closes a pool of its own) or an open
    :class:`ConnectionPool` to share (e.g. the one the votes use; the caller closes it). ``salt`` is the
    secret every process hashes chat ids with (``Settings.salt()``), so hashes agree across processes.
    Raises :class:`StoreUnavailable` when the server does not answer while the tables are created.
    """

    def __init__(
        self,
        dsn: str | ConnectionPool,
        *,
        salt: bytes,
        max_gaps: int = MAX_GAPS,
        max_age_days: float = MAX_AGE_DAYS,
        timeout: float = TIMEOUT,
    ) -> None:
        if not salt:
            raise ValueError("PostgresGapStore needs the shared salt (SUMMIT_FEEDBACK_SALT)")
        self._salt = salt
        self.max_gaps = max(1, max_gaps)
        self.max_age = max_age_days * 86400
        self._owns_pool = isinstance(dsn, str)
        # Read Committed (the server's default) is assumed: each statement sees what committed
        # before it, which the advisory-lock ordering below relies on.
        self._pool = postgres_pool(dsn, max_size=4, timeout=timeout) if isinstance(dsn, str) else dsn
        try:
            self._create_schema()
        except BaseException:
            self.close()
            raise

    def _create_schema(self) -> None:
        with self._connection() as conn, conn.transaction():
            # CREATE ... IF NOT EXISTS is not safe against itself: two processes creating the same
            # table at once can both pass the check and one fails on the catalogue's unique index.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            conn.execute(SCHEMA)

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection; a server that does not answer becomes :class:`StoreUnavailable`."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:  # PoolTimeout: no connection within the timeout
            raise StoreUnavailable(f"the gaps database did not answer: {exc}") from exc

    def close(self) -> None:
        if self._owns_pool and not self._pool.closed:
            self._pool.close()

    def chat_hash(self, chat_id: int) -> str:
        return chat_hash(self._salt, chat_id)

    # -- storage primitives -----------------------------------------------------------------

    def _insert_gap(self, row: GapRow, *, skip_if_decided: bool) -> int | None:
        with self._connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            if skip_if_decided:
                decided = conn.execute(
                    "SELECT 1 FROM gap_decisions WHERE question = %s AND language = %s", (row.question, row.language)
                ).fetchone()
                if decided is not None:
                    return None
            inserted = conn.execute(
                "INSERT INTO gap_records (time, chat_hash, question, language, kind, candidates, reply, vector) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                tuple(row),
            ).fetchone()
            conn.execute("DELETE FROM gap_records WHERE time < %s", (row.time - self.max_age,))
            conn.execute(
                "DELETE FROM gap_records WHERE id <= (SELECT id FROM gap_records ORDER BY id DESC LIMIT 1 OFFSET %s)",
                (self.max_gaps,),
            )
        assert inserted is not None
        return int(inserted[0])

    def _open_gaps(self) -> list[tuple[Any, ...]]:
        with self._connection() as conn:
            return conn.execute(f"SELECT {GAP_COLUMNS} FROM gap_records WHERE decided IS NULL ORDER BY id").fetchall()

    def _newest_gap(self) -> int:
        with self._connection() as conn:
            row = conn.execute("SELECT COALESCE(MAX(id), 0) FROM gap_records").fetchone()
        return int(row[0]) if row else 0

    def _write_decisions(
        self, group: Group, now: float, verdict: Verdict, passage_id: str | None, doc: str | None, paragraph: int | None
    ) -> list[int] | None:
        with self._connection() as conn, conn.transaction():
            # Under the lock, the version taken here commits before any higher one is taken.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            latest = conn.execute("SELECT COALESCE(MAX(version), 0) FROM gap_decisions").fetchone()
            version = (int(latest[0]) if latest else 0) + 1
            ids = []
            for language, question in group.wordings:
                written = conn.execute(
                    "INSERT INTO gap_decisions (time, question, language, verdict, passage_id, doc, paragraph, "
                    "version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (question, language) DO UPDATE "
                    "SET time = excluded.time, verdict = excluded.verdict, passage_id = excluded.passage_id, "
                    "doc = excluded.doc, paragraph = excluded.paragraph, version = excluded.version RETURNING id",
                    (now, question, language, verdict, passage_id, doc, paragraph, version),
                ).fetchone()
                assert written is not None
                ids.append(int(written[0]))
            updated = conn.execute(
                "UPDATE gap_records SET decided = %s WHERE id = ANY(%s) AND decided IS NULL",
                (ids[0], list(group.gap_ids)),
            ).rowcount
            if updated:
                return ids
            # Every gap was decided meanwhile (the same button pressed in another process): undo.
            raise psycopg.Rollback()
        return None

    # -- reading ----------------------------------------------------------------------------

    def count(self, *, open_only: bool = True) -> int:
        where = "WHERE decided IS NULL" if open_only else ""
        with self._connection() as conn:
            row = conn.execute(f"SELECT COUNT(*) FROM gap_records {where}").fetchone()
        return int(row[0]) if row else 0

    def decisions(self) -> list[Decision]:
        with self._connection() as conn:
            rows = conn.execute(f"SELECT {DECISION_COLUMNS} FROM gap_decisions ORDER BY id").fetchall()
        return [Decision(*row) for row in rows]

    def decisions_since(self, marker: int) -> tuple[list[Decision], int]:
        with self._connection() as conn:
            rows: Sequence[tuple[Any, ...]] = conn.execute(
                f"SELECT {DECISION_COLUMNS}, version FROM gap_decisions WHERE version > %s ORDER BY version, id",
                (marker,),
            ).fetchall()
        return versioned_decisions(rows, marker)

    # -- digest -----------------------------------------------------------------------------

    def digest_mark(self) -> int:
        with self._connection() as conn:
            row = conn.execute("SELECT value FROM gap_marks WHERE name = 'digest'").fetchone()
        return int(row[0]) if row else 0

    def mark_digest(self, newest: int) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT INTO gap_marks (name, value) VALUES ('digest', %s) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (newest,),
            )

    def claim_digest(self, seen: int, newest: int) -> bool:
        with self._connection() as conn:
            # A second claimant blocks on the row, then re-reads it: the mark is no longer `seen`.
            moved = conn.execute(
                "UPDATE gap_marks SET value = %s WHERE name = 'digest' AND value = %s", (newest, seen)
            ).rowcount
        return moved == 1
