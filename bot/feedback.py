"""Votes and usage counters in SQLite, for /stats and for judging answers later.

Chat ids are stored only as salted SHA-256 hashes: enough to count one vote per
chat and answer, not enough to find the person. The salt is random per install
and lives beside the database, so hashes cannot be matched across installs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .state import connect

log = logging.getLogger(__name__)

SALT_FILE = "feedback.salt"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS votes (
    chat_hash TEXT NOT NULL,
    answer TEXT NOT NULL,       -- identifies one answer of the chat (turn number + question hash)
    passage_id TEXT NOT NULL,
    question TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    time REAL NOT NULL,
    PRIMARY KEY (chat_hash, answer, passage_id)
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Stats:
    """What /stats shows."""

    questions: int
    refusals: int
    up: int
    down: int


def _load_salt(path: Path) -> bytes:
    try:
        salt = bytes.fromhex(path.read_text(encoding="ascii").strip())
        if len(salt) >= 16:
            return salt
        log.warning("%s is too short; writing a new salt", path)
    except FileNotFoundError:
        pass
    except (ValueError, UnicodeDecodeError):
        log.warning("%s is unreadable; writing a new salt (old votes keep their hashes)", path)
    salt = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(salt.hex() + "\n")
    return salt


def chat_hash(salt: bytes, chat_id: int) -> str:
    """The salted SHA-256 stored instead of a chat id (votes and knowledge gaps alike)."""
    return hashlib.sha256(salt + str(chat_id).encode()).hexdigest()


class SaltedStore:
    """A SQLite store (WAL) whose rows name chats only by their salted hash; safe to share between threads.

    The salt is the install's one salt (``feedback.salt`` beside the database), so votes and
    knowledge gaps of one chat hash alike, and hashes cannot be matched across installs.
    """

    schema: str = ""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._salt = _load_salt(path.with_name(SALT_FILE))
        self._lock = threading.Lock()
        self._db = connect(path, self.schema)

    def close(self) -> None:
        """Checkpoint and close; safe to call twice."""
        with self._lock:
            if self._db is not None:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._db.close()
                self._db = None  # type: ignore[assignment]

    def chat_hash(self, chat_id: int) -> str:
        """The salted hash stored instead of the chat id."""
        return chat_hash(self._salt, chat_id)


class FeedbackStore(SaltedStore):
    """Votes (one per chat, answer and passage) and counters."""

    schema = _SCHEMA

    def vote(self, chat_id: int, *, answer: str, question: str, passage_id: str, value: int) -> None:
        """Record +1/-1; pressing again (either button) replaces the chat's earlier vote."""
        if value not in (-1, 1):
            raise ValueError("a vote is +1 or -1")
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO votes VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (chat_hash, answer, passage_id) DO UPDATE SET vote = excluded.vote, time = excluded.time",
                (self.chat_hash(chat_id), answer, passage_id, question[:1000], value, time.time()),
            )

    def count(self, name: str, by: int = 1) -> None:
        """Add ``by`` to counter ``name``."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO counters VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                (name, by),
            )

    def stats(self) -> Stats:
        with self._lock:
            counters = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
            up, down = self._db.execute(
                "SELECT COALESCE(SUM(vote = 1), 0), COALESCE(SUM(vote = -1), 0) FROM votes"
            ).fetchone()
        return Stats(int(counters.get("questions", 0)), int(counters.get("refusals", 0)), int(up), int(down))
