"""Per-chat conversation state in Redis, shared by every bot process: the interface of :class:`bot.state.StateStore`.

Each chat is one hash, ``<prefix>chat:<chat id>``, holding its language, previous question, turn
counter and its last ``history_size`` turns (``t:<n>`` JSON, ``s:<n>`` furthest passage shown).
One key per chat makes every write a single atomic Lua script and lets the whole chat expire
after ``ttl`` seconds of quiet (each write refreshes it) instead of an LRU over all chats.
A sorted set ``<prefix>chats`` of last-write times serves :meth:`RedisStateStore.chat_count`.

Sync API on purpose: the handlers call it from worker threads, like the SQLite store. Needs a
single Redis (or a primary behind Sentinel), not Redis Cluster: scripts touch two keys.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

from .connections import StoreUnavailable, sync_redis
from .state import StoredHit, Turn, _stored_hit

log = logging.getLogger(__name__)

DEFAULT_TTL = 7 * 24 * 3600

# KEYS[1] the chat hash, KEYS[2] the chats sorted set; ARGV[1] ttl in ms, ARGV[2] chat id, ARGV[3] now (s).
# Every write ends with _TOUCH: the chat lives ttl more, and chats quiet for longer leave the set.
_TOUCH = """
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[1]) / 1000)
"""

# ARGV[4] field, ARGV[5] value, ARGV[6] '1' to unset it (None).
_SET_FIELD = (
    """
if ARGV[6] == '1' then redis.call('HDEL', KEYS[1], ARGV[4]) else redis.call('HSET', KEYS[1], ARGV[4], ARGV[5]) end
"""
    + _TOUCH
)

# ARGV[4] the turn's JSON, ARGV[5] history size. Turn numbers come from HINCRBY inside the script,
# so concurrent processes get distinct numbers; turns that fall out of the history are deleted.
_ADD_TURN = (
    """
local n = redis.call('HINCRBY', KEYS[1], 'next', 1)
redis.call('HSET', KEYS[1], 't:' .. n, ARGV[4])
local oldest = n - tonumber(ARGV[5])
for _, name in ipairs(redis.call('HKEYS', KEYS[1])) do
  local number = string.match(name, '^[ts]:(%d+)$')
  if number and tonumber(number) <= oldest then redis.call('HDEL', KEYS[1], name) end
end
"""
    + _TOUCH
    + "return n\n"
)

# ARGV[4] turn, ARGV[5] index: keep the largest index shown, only for a turn that still exists.
_MARK_SHOWN = (
    """
if redis.call('HEXISTS', KEYS[1], 't:' .. ARGV[4]) == 0 then return 0 end
local shown = tonumber(redis.call('HGET', KEYS[1], 's:' .. ARGV[4]) or '0')
if tonumber(ARGV[5]) > shown then redis.call('HSET', KEYS[1], 's:' .. ARGV[4], ARGV[5]) end
"""
    + _TOUCH
    + "return 1\n"
)

# ARGV[1] ttl in ms, ARGV[2] now (s).
_COUNT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[1]) / 1000)
return redis.call('ZCARD', KEYS[1])
"""


@contextmanager
def redis_errors(what: str = "Redis") -> Iterator[None]:
    """Translate "Redis did not answer" into :class:`StoreUnavailable`."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailable(f"{what} did not answer: {exc}") from exc


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class RedisStateStore:
    """Per-chat state in Redis: bounded per chat (``history_size`` turns) and in time (``ttl`` seconds of quiet)."""

    def __init__(
        self,
        client_or_url: redis.Redis | str,
        *,
        history_size: int = 10,
        ttl: float = DEFAULT_TTL,
        prefix: str = "summit:",
    ) -> None:
        self._owns_client = isinstance(client_or_url, str)
        self.client: redis.Redis = sync_redis(client_or_url) if isinstance(client_or_url, str) else client_or_url
        self.history_size = max(1, history_size)
        self.ttl = ttl
        self._ttl_ms = max(1, int(ttl * 1000))
        self.prefix = prefix
        self._chats = f"{prefix}chats"
        self._set_field = self.client.register_script(_SET_FIELD)
        self._add_turn = self.client.register_script(_ADD_TURN)
        self._mark_shown = self.client.register_script(_MARK_SHOWN)
        self._count = self.client.register_script(_COUNT)

    def _key(self, chat_id: int) -> str:
        return f"{self.prefix}chat:{int(chat_id)}"

    def _touch_args(self, chat_id: int) -> list[Any]:
        return [self._ttl_ms, int(chat_id), time.time()]

    def close(self) -> None:
        """Release the connection pool if this store made it; safe to call twice."""
        if self._owns_client:
            self.client.close()

    # -- chats ------------------------------------------------------------------------------

    def _get(self, chat_id: int, name: str) -> str | None:
        with redis_errors():
            return _text(self.client.hget(self._key(chat_id), name))

    def _set(self, chat_id: int, name: str, value: str | None) -> None:
        unset = "1" if value is None else "0"
        with redis_errors():
            self._set_field(
                keys=[self._key(chat_id), self._chats], args=[*self._touch_args(chat_id), name, value or "", unset]
            )

    def language(self, chat_id: int) -> str | None:
        """The chat's reply language, or None for auto."""
        return self._get(chat_id, "language")

    def set_language(self, chat_id: int, language: str | None) -> None:
        """Remember ``language`` ('ar', 'en') for the chat, or None for auto."""
        self._set(chat_id, "language", language)

    def previous(self, chat_id: int) -> str | None:
        """The previous question of the chat (with its own context), for follow-ups."""
        return self._get(chat_id, "previous")

    def set_previous(self, chat_id: int, previous: str | None) -> None:
        self._set(chat_id, "previous", previous)

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
        payload = json.dumps(
            {
                "question": question[:4096],
                "language": language,
                "confidence": confidence,
                "truncated": bool(truncated),
                "hits": [{"id": h.passage_id, "highlights": h.highlights} for h in hits],
            },
            ensure_ascii=False,
        )
        with redis_errors():
            turn = self._add_turn(
                keys=[self._key(chat_id), self._chats], args=[*self._touch_args(chat_id), payload, self.history_size]
            )
        return int(turn)

    def turn(self, chat_id: int, turn: int) -> Turn | None:
        """A stored turn, or None when it never existed, has been evicted or expired."""
        with redis_errors():
            raw, shown = self.client.hmget(self._key(chat_id), [f"t:{int(turn)}", f"s:{int(turn)}"])
        if raw is None:
            return None
        try:
            data = json.loads(_text(raw) or "")
            hits = tuple(_stored_hit(h) for h in data["hits"])
            return Turn(
                chat_id,
                turn,
                str(data["question"]),
                str(data["language"]),
                str(data["confidence"]),
                bool(data["truncated"]),
                hits,
                int(_text(shown) or 0),
            )
        except (ValueError, TypeError, KeyError):
            log.warning("turn %s of a chat has unreadable data; treating it as expired", turn)
            return None

    def mark_shown(self, chat_id: int, turn: int, index: int) -> None:
        """Remember the furthest passage shown for a turn (the largest index wins)."""
        with redis_errors():
            self._mark_shown(
                keys=[self._key(chat_id), self._chats], args=[*self._touch_args(chat_id), int(turn), int(index)]
            )

    def chat_count(self) -> int:
        """Chats written to within ``ttl`` (approximate: by the writers' clocks, and counting chats Redis evicted)."""
        with redis_errors():
            return int(self._count(keys=[self._chats], args=[self._ttl_ms, time.time()]))
