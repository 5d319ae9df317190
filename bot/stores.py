"""The shared-state layer: one interface per store, and :func:`open_stores` choosing the backends.

A laptop install keeps everything in SQLite and memory (one process). With ``SUMMIT_REDIS_URL``,
conversation state, rate limits, chat locks and update leases move to Redis; with
``SUMMIT_DATABASE_URL``, votes, counters and the index catalogue move to PostgreSQL. Then any
number of bot processes can answer the same bot side by side.

The Redis and PostgreSQL client libraries (the ``scale`` extra) are imported only when used.
The clients, timeouts and :class:`StoreUnavailable` live in :mod:`bot.connections`, which the
backends import; this module imports the backends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .connections import StoreUnavailable, async_redis, postgres_pool, redis_url, sync_redis
from .feedback import Stats
from .settings import Settings, SettingsError
from .state import StoredHit, Turn

if TYPE_CHECKING:
    import redis
    import redis.asyncio
    from psycopg_pool import ConnectionPool

    from .catalogue import IndexCatalogue
    from .leases import Leases
    from .throttle import ChatLocks, RateLimiter

PING_TIMEOUT = 2.0  # /readyz must answer quickly
# How long an update waits for its chat's Redis lock before giving up (to be retried later).
LOCK_WAIT = 10.0


@runtime_checkable
class ChatState(Protocol):
    """Per-chat conversation state: :class:`bot.state.StateStore` (SQLite) or ``RedisStateStore``."""

    def language(self, chat_id: int) -> str | None: ...
    def set_language(self, chat_id: int, language: str | None) -> None: ...
    def previous(self, chat_id: int) -> str | None: ...
    def set_previous(self, chat_id: int, previous: str | None) -> None: ...
    def add_turn(
        self,
        chat_id: int,
        *,
        question: str,
        language: str,
        confidence: str,
        truncated: bool,
        hits: list[StoredHit],
    ) -> int: ...
    def turn(self, chat_id: int, turn: int) -> Turn | None: ...
    def mark_shown(self, chat_id: int, turn: int, index: int) -> None: ...
    def chat_count(self) -> int: ...
    def close(self) -> None: ...


@runtime_checkable
class Feedback(Protocol):
    """Votes and counters: :class:`bot.feedback.FeedbackStore` (SQLite) or ``PostgresFeedbackStore``."""

    def vote(self, chat_id: int, *, answer: str, question: str, passage_id: str, value: int) -> None: ...
    def count(self, name: str, by: int = 1) -> None: ...
    def stats(self) -> Stats: ...
    def chat_hash(self, chat_id: int) -> str: ...
    def close(self) -> None: ...


@dataclass
class Stores:
    """The stores one bot process uses; built by :func:`open_stores`."""

    state: ChatState
    feedback: Feedback
    limiter: RateLimiter
    locks: ChatLocks
    leases: Leases
    catalogue: IndexCatalogue | None = None
    # The shared clients behind the stores, checked by ping() and closed by close()/aclose().
    redis: redis.Redis | None = field(default=None, repr=False)
    aredis: redis.asyncio.Redis | None = field(default=None, repr=False)
    pool: ConnectionPool | None = field(default=None, repr=False)

    async def ping(self) -> None:
        """Check every shared store answers within PING_TIMEOUT (for /readyz); else :class:`StoreUnavailable`."""
        checks: dict[str, Awaitable[Any]] = {}
        if self.redis is not None:
            checks["Redis"] = asyncio.to_thread(self.redis.ping)
        if self.aredis is not None:
            checks["Redis (async)"] = self.aredis.ping()
        checks["the rate limiter's storage"] = self.limiter.ping()
        if self.pool is not None:
            checks["PostgreSQL"] = asyncio.to_thread(_ping_postgres, self.pool)
        results = await asyncio.gather(
            *(asyncio.wait_for(check, PING_TIMEOUT) for check in checks.values()), return_exceptions=True
        )
        for name, result in zip(checks, results, strict=True):
            if isinstance(result, StoreUnavailable):
                raise result
            if isinstance(result, TimeoutError):
                raise StoreUnavailable(f"{name} did not answer within {PING_TIMEOUT:g} s")
            if isinstance(result, Exception):  # any failure to answer means "not ready"
                raise StoreUnavailable(f"{name} did not answer: {result}") from result

    def close(self) -> None:
        """Close the sync stores and the PostgreSQL pool; safe to call twice. The async Redis client needs aclose()."""
        for closer in (self.state.close, self.feedback.close):
            with contextlib.suppress(Exception):
                closer()
        if self.catalogue is not None:
            self.catalogue.close()
        if self.redis is not None:
            self.redis.close()
        if self.pool is not None:
            self.pool.close()

    async def aclose(self) -> None:
        """close() plus the async Redis clients (locks, leases, limiter): call from the event loop at shutdown."""
        await asyncio.to_thread(self.close)
        await self.limiter.aclose()
        if self.aredis is not None:
            await self.aredis.aclose()


def _ping_postgres(pool: ConnectionPool) -> None:
    import psycopg
    import psycopg_pool

    try:
        with pool.connection(timeout=PING_TIMEOUT) as conn:
            conn.execute("SELECT 1")
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
        raise StoreUnavailable(f"PostgreSQL did not answer: {exc}") from exc


def open_stores(settings: Settings, *, prefix: str) -> Stores:
    """The stores the settings ask for: Redis and/or PostgreSQL when their URLs are set, else SQLite and memory.

    ``prefix`` namespaces every Redis key (e.g. ``"summit:<bot id>:"``) so bots can share one Redis.
    Raises :class:`SettingsError` when SUMMIT_DATABASE_URL is set without SUMMIT_FEEDBACK_SALT, and
    :class:`StoreUnavailable` when PostgreSQL does not answer at start (its schema is created then).
    """
    salt = settings.salt()
    if settings.database_url and not salt:
        raise SettingsError(
            "SUMMIT_FEEDBACK_SALT is not set: with SUMMIT_DATABASE_URL every process must hash chat ids with the "
            'same secret (make one with: python -c "import secrets; print(secrets.token_urlsafe(32))")'
        )
    # Imported here: these modules import StoreUnavailable from this one.
    from .feedback import FeedbackStore
    from .leases import MemoryLeases
    from .state import StateStore
    from .throttle import KeyedLocks, RateLimiter

    stores: dict[str, Any] = {}
    try:
        if settings.redis_url:
            from .leases import RedisLeases
            from .state_redis import RedisStateStore
            from .throttle import RedisChatLocks

            stores["redis"] = sync_redis(settings.redis_url)
            stores["aredis"] = aredis = async_redis(settings.redis_url)
            stores["state"] = RedisStateStore(
                stores["redis"], history_size=settings.history_size, ttl=settings.state_ttl, prefix=prefix
            )
            stores["limiter"] = RateLimiter(settings.rate_limit, redis_url=redis_url(settings.redis_url), prefix=prefix)
            # A chat lock expires with the update's lease: past it, the update is someone else's anyway.
            stores["locks"] = RedisChatLocks(
                aredis, prefix=prefix, timeout=settings.update_lease, wait=min(LOCK_WAIT, settings.update_lease)
            )
            stores["leases"] = RedisLeases(aredis, prefix=prefix, lease_seconds=settings.update_lease)
        else:
            stores["state"] = StateStore(settings.state_file, history_size=settings.history_size)
            stores["limiter"] = RateLimiter(settings.rate_limit)
            stores["locks"] = KeyedLocks()
            stores["leases"] = MemoryLeases(lease_seconds=settings.update_lease)
        if settings.database_url:
            from .catalogue import IndexCatalogue
            from .feedback_postgres import PostgresFeedbackStore

            assert salt is not None
            stores["pool"] = pool = postgres_pool(settings.database_url)
            stores["feedback"] = PostgresFeedbackStore(pool, salt=salt)
            stores["catalogue"] = IndexCatalogue(pool)
        else:
            stores["feedback"] = FeedbackStore(settings.feedback_db)
    except BaseException:
        _close_partial(stores)
        raise
    return Stores(**stores)


def _close_partial(stores: dict[str, Any]) -> None:
    """Close what open_stores had opened before it failed (the async Redis client has no connection yet)."""
    for name in ("state", "feedback", "catalogue", "redis", "pool"):
        if (store := stores.get(name)) is not None:
            with contextlib.suppress(Exception):
                store.close()
