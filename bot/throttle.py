"""Per-user rate limiting and per-chat ordering for the Telegram handlers, in one process or across many.

:class:`RateLimiter` is a moving window from the ``limits`` library, kept in memory or in Redis
(then every process counts the same questions). :class:`KeyedLocks` orders a chat's updates
inside one process; :class:`RedisChatLocks` does it across processes with auto-expiring Redis
locks. Both satisfy :class:`ChatLocks`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Protocol

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from .connections import StoreUnavailable, redis_options

if TYPE_CHECKING:
    import redis.asyncio

log = logging.getLogger(__name__)

RATE_WINDOW = 60  # seconds; settings.rate_limit is questions per this window


class RateLimiter:
    """Moving-window limit of questions per user (``per_window`` per ``window`` seconds); says when to tell the user.

    Memory storage by default (this process only); with ``redis_url`` the window lives in Redis under
    ``prefix`` and every process shares it.
    """

    def __init__(
        self, per_window: int, window: int = RATE_WINDOW, *, redis_url: str | None = None, prefix: str = "summit:"
    ) -> None:
        self.per_window = per_window
        self.window = int(window)
        self.item = RateLimitItemPerSecond(per_window, self.window, namespace="questions")
        self.storage: Storage
        self._errors: tuple[type[Exception], ...] = ()
        if redis_url:
            import redis

            # limits builds its own redis.asyncio client from the URL ("async+" selects the asyncio storage).
            self.storage = RedisStorage(
                f"async+{redis_url}",
                implementation="redispy",
                key_prefix=f"{prefix}limits",
                **redis_options(asynchronous=True),
            )
            self._errors = (redis.ConnectionError, redis.TimeoutError)
        else:
            self.storage = MemoryStorage()
        self.strategy = MovingWindowRateLimiter(self.storage)

    async def hit(self, key: int) -> tuple[float, bool]:
        """(seconds to wait, whether to say so); (0, False) means go ahead, and counts the question."""
        try:
            if await self.strategy.hit(self.item, str(key)):
                return 0.0, False
            reset, _ = await self.strategy.get_window_stats(self.item, str(key))
            wait = max(reset - time.time(), 0.0)
            # One notice per window: a flood of messages must not become a flood of replies. The first
            # refused question of a window creates this counter, expiring when the window frees up.
            told = await self.storage.incr(f"questions/told/{key}", max(1, math.ceil(wait)))
        except self._errors as exc:
            raise StoreUnavailable(f"Redis (rate limits) did not answer: {exc}") from exc
        return max(wait, 1.0), told == 1

    async def ping(self) -> None:
        """:class:`StoreUnavailable` unless the storage answers."""
        if not await self.storage.check():
            raise StoreUnavailable("Redis (rate limits) did not answer")

    async def aclose(self) -> None:
        """Close the Redis storage's connections (nothing to do in memory)."""
        if isinstance(self.storage, RedisStorage):
            await self.storage.bridge.get_connection().aclose()


class ChatLocks(Protocol):
    """``async with locks.hold(chat_id):`` runs one update of a chat at a time."""

    def hold(self, key: int) -> AbstractAsyncContextManager[None]: ...


class KeyedLocks:
    """One asyncio lock per chat, dropped when unused, so a chat's questions are answered in order (one process)."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class RedisChatLocks:
    """One Redis lock per chat across processes; it expires after ``timeout`` s so a crashed holder frees the chat.

    A holder waits at most ``wait`` seconds, then gets :class:`StoreUnavailable` (retry the update later).
    """

    def __init__(
        self, client: redis.asyncio.Redis, *, prefix: str = "summit:", timeout: float = 30.0, wait: float = 10.0
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.timeout = timeout
        self.wait = wait

    @asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[None]:
        import redis.exceptions

        # A new Lock object per hold, its token kept on the object (not thread-local): tasks never share one.
        lock = self.client.lock(
            f"{self.prefix}lock:{int(key)}",
            timeout=self.timeout,
            sleep=0.05,
            blocking_timeout=self.wait,
            thread_local=False,
        )
        try:
            acquired = await lock.acquire()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StoreUnavailable(f"Redis (chat locks) did not answer: {exc}") from exc
        if not acquired:
            raise StoreUnavailable(f"chat {key} stayed locked by another update for {self.wait:g} s")
        try:
            yield
        finally:
            try:
                await lock.release()
            except redis.exceptions.LockError:
                # Held past its timeout: another update may have run meanwhile. Worth knowing, not failing for.
                log.warning("a chat lock expired before its update finished (timeout %g s)", self.timeout)
            except (redis.ConnectionError, redis.TimeoutError):
                log.warning("could not release a chat lock (Redis did not answer); it expires in %g s", self.timeout)
