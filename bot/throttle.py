"""Per-user rate limiting and per-chat ordering for the Telegram handlers."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

RATE_WINDOW = 60.0  # seconds; settings.rate_limit is questions per this window


class RateLimiter:
    """Sliding-window limit of questions per user; says when to tell the user (once per window)."""

    def __init__(self, per_window: int, window: float = RATE_WINDOW, clock: Callable[[], float] = time.monotonic):
        self.per_window = per_window
        self.window = window
        self.clock = clock
        self._hits: dict[int, deque[float]] = {}
        self._told_until: dict[int, float] = {}

    def hit(self, key: int) -> tuple[float, bool]:
        """(seconds to wait, whether to say so); (0, False) means go ahead, and counts the question."""
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) < self.per_window:
            hits.append(now)
            self._prune(now)
            return 0.0, False
        wait = hits[0] + self.window - now
        tell = self._told_until.get(key, 0.0) <= now
        if tell:
            # One notice per window: a flood of messages must not become a flood of replies.
            self._told_until[key] = now + wait
        return max(wait, 1.0), tell

    def _prune(self, now: float) -> None:
        if len(self._hits) < 10_000:
            return
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]
            self._told_until.pop(key, None)


class KeyedLocks:
    """One asyncio lock per chat, dropped when unused, so a chat's questions are answered in order."""

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
