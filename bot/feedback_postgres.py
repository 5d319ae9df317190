"""Votes and usage counters in PostgreSQL, shared by every bot process: the same interface as ``FeedbackStore``.

Chat ids are stored only as salted SHA-256 hashes, as in SQLite; the salt comes from the
settings (SUMMIT_FEEDBACK_SALT) so that a chat hashes alike in every process. A vote is an
idempotent upsert: a button press handled by two processes counts once, and a changed vote
replaces the earlier one. Counters add up atomically in the database.
"""

from __future__ import annotations

import logging

from psycopg_pool import ConnectionPool

from .connections import PostgresTables, postgres_errors
from .feedback import Stats, chat_hash

log = logging.getLogger(__name__)

# Any fixed number: the advisory lock that serializes schema creation among processes starting together
# (concurrent CREATE TABLE IF NOT EXISTS can still collide on the catalogue's unique indexes).
SCHEMA_LOCK = 0x5_0B_FEED
_SCHEMA = """
CREATE TABLE IF NOT EXISTS votes (
    chat_hash text NOT NULL,
    answer text NOT NULL,           -- one answer of the chat (turn number + question hash)
    passage_id text NOT NULL,
    question text NOT NULL,
    vote smallint NOT NULL CHECK (vote IN (-1, 1)),
    time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chat_hash, answer, passage_id)
);
CREATE TABLE IF NOT EXISTS counters (
    name text PRIMARY KEY,
    value bigint NOT NULL
);
"""


class PostgresFeedbackStore(PostgresTables):
    """Votes (one per chat, answer and passage) and counters in PostgreSQL; safe to share between threads."""

    schema = _SCHEMA
    schema_lock = SCHEMA_LOCK

    def __init__(self, dsn_or_pool: str | ConnectionPool, *, salt: bytes) -> None:
        if not salt:
            raise ValueError("a shared salt is required: every process must hash chat ids alike")
        self._salt = bytes(salt)
        super().__init__(dsn_or_pool)

    def chat_hash(self, chat_id: int) -> str:
        """The salted hash stored instead of the chat id."""
        return chat_hash(self._salt, chat_id)

    def vote(self, chat_id: int, *, answer: str, question: str, passage_id: str, value: int) -> None:
        """Record +1/-1; pressing again (either button, any process) replaces the chat's earlier vote."""
        if value not in (-1, 1):
            raise ValueError("a vote is +1 or -1")
        with postgres_errors(), self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO votes (chat_hash, answer, passage_id, question, vote) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (chat_hash, answer, passage_id) DO UPDATE SET vote = excluded.vote, time = now()",
                (self.chat_hash(chat_id), answer, passage_id, question[:1000], value),
            )

    def count(self, name: str, by: int = 1) -> None:
        """Add ``by`` to counter ``name``."""
        with postgres_errors(), self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO counters (name, value) VALUES (%s, %s) "
                "ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value",
                (name, by),
            )

    def stats(self) -> Stats:
        with postgres_errors(), self.pool.connection() as conn:
            counters = dict(conn.execute("SELECT name, value FROM counters").fetchall())
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE vote = 1), count(*) FILTER (WHERE vote = -1) FROM votes"
            ).fetchone()
        up, down = row if row is not None else (0, 0)
        return Stats(int(counters.get("questions", 0)), int(counters.get("refusals", 0)), int(up), int(down))
