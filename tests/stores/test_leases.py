"""Update leases, in memory and on a real Redis: an update is answered once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio
from servers import RedisServer

from bot.connections import StoreUnavailable
from bot.leases import Claim, Leases, MemoryLeases, RedisLeases

Body = Callable[[Leases, Leases], Awaitable[None]]


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("redis_url") if request.param == "redis" else None


async def with_leases(backend: str | None, body: Body, *, lease: float = 5.0, done: float = 3600.0) -> None:
    """Run ``body`` with two claimers: two processes on Redis, the one process's MemoryLeases twice in memory."""
    if backend is None:
        leases = MemoryLeases(lease_seconds=lease, done_seconds=done)
        await body(leases, leases)
        return
    client = redis.asyncio.Redis.from_url(backend)
    try:
        one = RedisLeases(client, prefix="summit:test:", lease_seconds=lease, done_seconds=done)
        two = RedisLeases(client, prefix="summit:test:", lease_seconds=lease, done_seconds=done)
        await body(one, two)
    finally:
        await client.aclose()


def test_two_claimers_one_wins_then_done_is_done(backend: str | None) -> None:
    async def body(one: Leases, two: Leases) -> None:
        claims = await asyncio.gather(one.claim(10), two.claim(10))
        assert sorted(c.value for c in claims) == ["busy", "ours"]
        winner = one if claims[0] is Claim.OURS else two
        await winner.finish(10)
        assert await two.claim(10) is Claim.DONE
        assert await one.claim(10) is Claim.DONE
        assert await one.claim(11) is Claim.OURS  # other updates are free

    asyncio.run(with_leases(backend, body))


def test_release_lets_a_redelivery_proceed_at_once(backend: str | None) -> None:
    async def body(one: Leases, two: Leases) -> None:
        assert await one.claim(10) is Claim.OURS
        await one.release(10)
        assert await two.claim(10) is Claim.OURS

    asyncio.run(with_leases(backend, body))


def test_an_expired_lease_can_be_claimed_again(backend: str | None) -> None:
    async def body(one: Leases, two: Leases) -> None:
        assert await one.claim(10) is Claim.OURS
        assert await two.claim(10) is Claim.BUSY
        await asyncio.sleep(0.3)
        assert await two.claim(10) is Claim.OURS

    asyncio.run(with_leases(backend, body, lease=0.2))


def test_a_done_mark_expires_after_done_seconds(backend: str | None) -> None:
    async def body(one: Leases, two: Leases) -> None:
        assert await one.claim(10) is Claim.OURS
        await one.finish(10)
        assert await two.claim(10) is Claim.DONE
        await asyncio.sleep(0.3)
        assert await two.claim(10) is Claim.OURS

    asyncio.run(with_leases(backend, body, done=0.2))


def test_redis_leases_touch_only_their_own(redis_url: str) -> None:
    async def body(one: Leases, two: Leases) -> None:
        assert await one.claim(10) is Claim.OURS
        await two.release(10)  # not two's lease: kept
        assert await two.claim(10) is Claim.BUSY
        await two.finish(10)  # one is answering it right now: one marks it done, not two
        assert await two.claim(10) is Claim.BUSY
        await asyncio.sleep(0.3)
        await one.finish(10)  # our lease expired and nobody took it: still ours to mark done
        assert await two.claim(10) is Claim.DONE
        await two.release(10)  # a done mark is never released
        assert await one.claim(10) is Claim.DONE

    asyncio.run(with_leases(redis_url, body, lease=0.2))


def test_memory_leases_stay_bounded() -> None:
    async def run() -> None:
        leases = MemoryLeases(max_entries=10)
        for update_id in range(100):
            assert await leases.claim(update_id) is Claim.OURS
            await leases.finish(update_id)
        assert len(leases._entries) == 10
        assert await leases.claim(99) is Claim.DONE

    asyncio.run(run())


def test_leases_on_a_stopped_redis_raise_store_unavailable_then_work_again(
    redis_server: RedisServer, redis_url: str
) -> None:
    async def run() -> None:
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            leases = RedisLeases(client, prefix="summit:test:", lease_seconds=30)
            assert await leases.claim(1) is Claim.OURS
            redis_server.stop()
            try:
                for call in (leases.claim, leases.finish, leases.release):
                    with pytest.raises(StoreUnavailable):
                        await call(2)
            finally:
                redis_server.start()
            assert await leases.claim(1) is Claim.BUSY  # the lease survived the restart (ours, but busy)
            await leases.finish(1)
            assert await leases.claim(1) is Claim.DONE
        finally:
            await client.aclose()

    asyncio.run(run())
