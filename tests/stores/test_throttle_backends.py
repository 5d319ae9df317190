"""Rate limiter and chat locks, in memory and on a real Redis: the same behaviour from one interface."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio
from servers import RedisServer

from bot.connections import StoreUnavailable
from bot.throttle import ChatLocks, KeyedLocks, RateLimiter, RedisChatLocks

BACKENDS = ["memory", "redis"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str | None:
    """None for memory, else a Redis URL of the test's own."""
    return request.getfixturevalue("redis_url") if request.param == "redis" else None


# -- rate limiter ----------------------------------------------------------------------------


def test_limiter_allows_n_per_window_then_says_to_wait_and_tells_once_per_window(backend: str | None) -> None:
    async def run() -> None:
        limiter = RateLimiter(3, window=1, redis_url=backend, prefix="summit:test:")
        try:
            assert [await limiter.hit(1) for _ in range(3)] == [(0.0, False)] * 3
            wait, tell = await limiter.hit(1)
            assert 0 < wait <= 1.0 and tell
            wait, tell = await limiter.hit(1)
            assert wait > 0 and not tell  # one notice per window
            assert await limiter.hit(2) == (0.0, False)  # users are counted apart
            await asyncio.sleep(1.05)
            assert [await limiter.hit(1) for _ in range(3)] == [(0.0, False)] * 3  # the window moved on
            assert (await limiter.hit(1))[1] is True  # a new window, a new notice
        finally:
            await limiter.aclose()

    asyncio.run(run())


def test_processes_sharing_redis_share_the_limit(redis_url: str) -> None:
    async def run() -> None:
        one = RateLimiter(3, redis_url=redis_url, prefix="summit:test:")
        two = RateLimiter(3, redis_url=redis_url, prefix="summit:test:")
        try:
            await one.hit(1)
            await two.hit(1)
            await one.hit(1)
            wait, tell = await two.hit(1)
            assert wait > 50 and tell  # the default window is a minute
            assert (await one.hit(1))[1] is False  # told already, by the other process
        finally:
            await one.aclose()
            await two.aclose()

    asyncio.run(run())


def test_limiter_on_a_stopped_redis_raises_store_unavailable_then_works_again(
    redis_server: RedisServer, redis_url: str
) -> None:
    async def run() -> None:
        limiter = RateLimiter(2, redis_url=redis_url, prefix="summit:test:")
        try:
            assert await limiter.hit(1) == (0.0, False)
            await limiter.ping()
            redis_server.stop()
            try:
                with pytest.raises(StoreUnavailable):
                    await limiter.hit(1)
                with pytest.raises(StoreUnavailable):
                    await limiter.ping()
            finally:
                redis_server.start()
            assert await limiter.hit(1) == (0.0, False)
            assert (await limiter.hit(1))[0] > 0  # the first hit survived the restart
        finally:
            await limiter.aclose()

    asyncio.run(run())


# -- chat locks ------------------------------------------------------------------------------


async def with_locks(backend: str | None, body: Callable[[ChatLocks, ChatLocks], Awaitable[None]]) -> None:
    """Run ``body`` with two lock holders: two processes on Redis, or the one process's KeyedLocks twice."""
    if backend is None:
        locks = KeyedLocks()
        await body(locks, locks)
        return
    client = redis.asyncio.Redis.from_url(backend)
    try:
        one = RedisChatLocks(client, prefix="summit:test:", timeout=5, wait=5)
        two = RedisChatLocks(client, prefix="summit:test:", timeout=5, wait=5)
        await body(one, two)
    finally:
        await client.aclose()


async def hold_and_record(locks: ChatLocks, chat: int, log: list[tuple[str, int, float]], name: int) -> None:
    async with locks.hold(chat):
        log.append(("in", name, time.monotonic()))
        await asyncio.sleep(0.15)
        log.append(("out", name, time.monotonic()))


def test_two_holders_of_one_chat_take_turns(backend: str | None) -> None:
    async def body(one: ChatLocks, two: ChatLocks) -> None:
        log: list[tuple[str, int, float]] = []
        await asyncio.gather(hold_and_record(one, 1, log, 1), hold_and_record(two, 1, log, 2))
        kinds = [kind for kind, _, _ in log]
        assert kinds == ["in", "out", "in", "out"]
        assert log[0][1] == log[1][1] and log[2][1] == log[3][1]

    asyncio.run(with_locks(backend, body))


def test_different_chats_do_not_wait_for_each_other(backend: str | None) -> None:
    async def body(one: ChatLocks, two: ChatLocks) -> None:
        log: list[tuple[str, int, float]] = []
        await asyncio.gather(hold_and_record(one, 1, log, 1), hold_and_record(two, 2, log, 2))
        assert [kind for kind, _, _ in log] == ["in", "in", "out", "out"]

    asyncio.run(with_locks(backend, body))


def test_an_abandoned_redis_lock_expires(redis_url: str) -> None:
    async def run() -> None:
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            # A process that took chat 7's lock (0.3 s timeout) and crashed without releasing it.
            crashed = client.lock("summit:test:lock:7", timeout=0.3)
            assert await crashed.acquire()
            impatient = RedisChatLocks(client, prefix="summit:test:", timeout=5, wait=0.1)
            with pytest.raises(StoreUnavailable, match="locked"):
                async with impatient.hold(7):
                    pass
            patient = RedisChatLocks(client, prefix="summit:test:", timeout=5, wait=2)
            started = time.monotonic()
            async with patient.hold(7):
                assert time.monotonic() - started < 0.5
            assert not await client.exists("summit:test:lock:7")  # released after use
        finally:
            await client.aclose()

    asyncio.run(run())


def test_a_lock_held_past_its_timeout_is_logged_not_raised(redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> None:
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            locks = RedisChatLocks(client, prefix="summit:test:", timeout=0.1, wait=1)
            async with locks.hold(1):
                await asyncio.sleep(0.2)
        finally:
            await client.aclose()

    asyncio.run(run())
    assert "expired before its update finished" in caplog.text


def test_locks_on_a_stopped_redis_raise_store_unavailable(redis_server: RedisServer, redis_url: str) -> None:
    async def run() -> None:
        client = redis.asyncio.Redis.from_url(redis_url, socket_connect_timeout=1)
        try:
            locks = RedisChatLocks(client, prefix="summit:test:", timeout=5, wait=1)
            redis_server.stop()
            try:
                with pytest.raises(StoreUnavailable):
                    async with locks.hold(1):
                        pass
            finally:
                redis_server.start()
            async with locks.hold(1):
                pass
        finally:
            await client.aclose()

    asyncio.run(run())
