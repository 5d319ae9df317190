"""Per-chat conversation state in SQLite: reply language, previous question, recent answers.

Kept outside PTB's persistence because it must be bounded (turns per chat, chats
overall) and readable without unpickling anything. Each answer is a "turn"
numbered per chat; buttons carry the turn number, and a turn that has been
evicted makes its buttons stale rather than wrong.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_MAX_CHATS = 10_000
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS chats (
    chat_id INTEGER PRIMARY KEY,
    language TEXT,              -- 'ar', 'en' or NULL for auto
    previous TEXT,              -- the previous question, for follow-ups
    next_turn INTEGER NOT NULL DEFAULT 1,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS chats_updated ON chats(updated);
CREATE TABLE IF NOT EXISTS turns (
    chat_id INTEGER NOT NULL,
    turn INTEGER NOT NULL,
    question TEXT NOT NULL,
    language TEXT NOT NULL,     -- the reply language
    confidence TEXT NOT NULL,
    truncated INTEGER NOT NULL,
    hits TEXT NOT NULL,         -- JSON: [{"id": passage id, "highlights": {lang: sentence}}]
    shown INTEGER NOT NULL,     -- furthest passage index shown so far
    created REAL NOT NULL,
    PRIMARY KEY (chat_id, turn)
);
"""


class StateCorrupt(Exception):
    """The state file exists but is not a usable database."""


@dataclass(frozen=True, slots=True)
class StoredHit:
    """What a button needs of a passage: its id and best sentence per language."""

    passage_id: str
    highlights: dict[str, str]


@dataclass(frozen=True, slots=True)
class Turn:
    """One answered question of a chat."""

    chat_id: int
    turn: int
    question: str
    language: str
    confidence: str
    truncated: bool
    hits: tuple[StoredHit, ...]
    shown: int


def connect(path: Path, schema: str) -> sqlite3.Connection:
    """Open ``path`` in WAL mode and apply ``schema``; a corrupt file is moved aside and a fresh one started.

    The bad file (and its ``-wal``, which belongs to it) is kept as
    ``NAME.<unix time>.bad[-wal]`` for inspection, never deleted.
    """
    try:
        return _connect(path, schema)
    except sqlite3.DatabaseError as exc:
        bad = path.with_name(f"{path.name}.{int(time.time())}.bad")
        log.warning("%s is not a usable database (%s); moved it to %s and starting fresh", path, exc, bad.name)
        path.replace(bad)
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            wal.replace(bad.with_name(bad.name + "-wal"))
        path.with_name(path.name + "-shm").unlink(missing_ok=True)  # an index of the WAL, rebuilt from it
        return _connect(path, schema)


def _connect(path: Path, schema: str) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created user-only before SQLite opens it: SQLite gives the -wal and -shm files the database's mode.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    path.chmod(0o600)
    # Handlers use the store from the event loop; /reload and shutdown may come from other threads.
    db = sqlite3.connect(path, timeout=5.0, check_same_thread=False, isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL survives process crashes
        # quick_check reads every page: garbage that passes the header check fails here.
        row = db.execute("PRAGMA quick_check").fetchone()
        if row is None or row[0] != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {row[0] if row else 'no result'}")
        db.executescript(schema)
    except sqlite3.DatabaseError:
        db.close()
        raise
    return db


class StateStore:
    """Per-chat state, bounded per chat (``history_size`` turns) and overall (``max_chats``, LRU)."""

    def __init__(self, path: Path, *, history_size: int = 10, max_chats: int = DEFAULT_MAX_CHATS) -> None:
        self.path = path
        self.history_size = max(1, history_size)
        self.max_chats = max(1, max_chats)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = connect(path, _SCHEMA)

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the state store is closed")
        return self._db

    def close(self) -> None:
        """Checkpoint and close; safe to call twice."""
        with self._lock:
            if self._db is not None:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._db.close()
                self._db = None

    # -- chats ------------------------------------------------------------------------------

    def _touch(self, chat_id: int) -> None:
        """Create or refresh the chat row (caller holds the lock, inside a transaction)."""
        now = time.time()
        cursor = self.db.execute("UPDATE chats SET updated = ? WHERE chat_id = ?", (now, chat_id))
        if cursor.rowcount:
            return
        self.db.execute("INSERT INTO chats (chat_id, updated) VALUES (?, ?)", (chat_id, now))
        # A new chat may push the oldest ones out: bounded memory beats remembering everyone.
        (count,) = self.db.execute("SELECT COUNT(*) FROM chats").fetchone()
        if count > self.max_chats:
            old = [
                r[0]
                for r in self.db.execute(
                    "SELECT chat_id FROM chats ORDER BY updated LIMIT ?", (count - self.max_chats,)
                ).fetchall()
            ]
            self.db.executemany("DELETE FROM chats WHERE chat_id = ?", [(c,) for c in old])
            self.db.executemany("DELETE FROM turns WHERE chat_id = ?", [(c,) for c in old])

    def language(self, chat_id: int) -> str | None:
        """The chat's reply language, or None for auto."""
        with self._lock:
            row = self.db.execute("SELECT language FROM chats WHERE chat_id = ?", (chat_id,)).fetchone()
        return row[0] if row else None

    def set_language(self, chat_id: int, language: str | None) -> None:
        """Remember ``language`` ('ar', 'en') for the chat, or None for auto."""
        with self._lock, self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self._touch(chat_id)
            self.db.execute("UPDATE chats SET language = ? WHERE chat_id = ?", (language, chat_id))

    def previous(self, chat_id: int) -> str | None:
        """The previous question of the chat (with its own context), for follow-ups."""
        with self._lock:
            row = self.db.execute("SELECT previous FROM chats WHERE chat_id = ?", (chat_id,)).fetchone()
        return row[0] if row else None

    def set_previous(self, chat_id: int, previous: str | None) -> None:
        with self._lock, self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self._touch(chat_id)
            self.db.execute("UPDATE chats SET previous = ? WHERE chat_id = ?", (previous, chat_id))

    # -- turns ------------------------------------------------------------------------------

    def add_turn(
        self,
        chat_id: int,
        *,
        question: str,
        language: str,
        confidence: str,
        truncated: bool,
        hits: list[StoredHit],
    ) -> int:
        """Store an answer and return its turn number; only the last ``history_size`` turns are kept."""
        payload = json.dumps([{"id": h.passage_id, "highlights": h.highlights} for h in hits], ensure_ascii=False)
        with self._lock, self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self._touch(chat_id)
            (turn,) = self.db.execute("SELECT next_turn FROM chats WHERE chat_id = ?", (chat_id,)).fetchone()
            self.db.execute("UPDATE chats SET next_turn = ? WHERE chat_id = ?", (turn + 1, chat_id))
            self.db.execute(
                "INSERT OR REPLACE INTO turns VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
                (chat_id, turn, question[:4096], language, confidence, int(truncated), payload, time.time()),
            )
            self.db.execute("DELETE FROM turns WHERE chat_id = ? AND turn <= ?", (chat_id, turn - self.history_size))
        return int(turn)

    def turn(self, chat_id: int, turn: int) -> Turn | None:
        """A stored turn, or None when it never existed or has been evicted."""
        with self._lock:
            row = self.db.execute(
                "SELECT question, language, confidence, truncated, hits, shown FROM turns "
                "WHERE chat_id = ? AND turn = ?",
                (chat_id, turn),
            ).fetchone()
        if row is None:
            return None
        try:
            hits = tuple(_stored_hit(h) for h in json.loads(row[4]))
        except (ValueError, TypeError, KeyError):
            log.warning("turn %s of a chat has unreadable hits; treating it as expired", turn)
            return None
        return Turn(chat_id, turn, row[0], row[1], row[2], bool(row[3]), hits, int(row[5]))

    def mark_shown(self, chat_id: int, turn: int, index: int) -> None:
        """Remember the furthest passage shown for a turn."""
        with self._lock, self.db:
            self.db.execute(
                "UPDATE turns SET shown = MAX(shown, ?) WHERE chat_id = ? AND turn = ?", (index, chat_id, turn)
            )

    def chat_count(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT COUNT(*) FROM chats").fetchone()[0])


def _stored_hit(data: Any) -> StoredHit:
    highlights = data["highlights"]
    if not isinstance(data["id"], str) or not isinstance(highlights, dict):
        raise TypeError("malformed hit")
    return StoredHit(data["id"], {str(k): str(v) for k, v in highlights.items()})
