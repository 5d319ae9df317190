"""open_stores picks the backends from the settings; Stores.ping says whether the shared ones answer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from servers import PostgresServer, RedisServer

from bot.catalogue import IndexCatalogue
from bot.feedback import FeedbackStore
from bot.feedback_postgres import PostgresFeedbackStore
from bot.leases import Claim, MemoryLeases, RedisLeases
from bot.settings import Settings, SettingsError
from bot.state import StateStore
from bot.state_redis import RedisStateStore
from bot.stores import ChatState, Feedback, StoreUnavailable, open_stores
from bot.throttle import KeyedLocks, RedisChatLocks

SALT = "one-salt-for-every-process-0123456789"


def settings(tmp_data: Path, **env: str) -> Settings:
    return Settings.from_env({"SUMMIT_DATA_DIR": str(tmp_data), **env})


def test_the_laptop_default_is_sqlite_and_memory(tmp_data: Path) -> None:
    stores = open_stores(settings(tmp_data), prefix="summit:1:")
    try:
        assert isinstance(stores.state, StateStore) and isinstance(stores.feedback, FeedbackStore)
        assert isinstance(stores.locks, KeyedLocks) and isinstance(stores.leases, MemoryLeases)
        assert stores.catalogue is None
        assert stores.limiter.storage.__class__.__name__ == "MemoryStorage"
        asyncio.run(stores.ping())
        assert (tmp_data / "conversations.sqlite3").exists() and (tmp_data / "feedback.sqlite3").exists()
    finally:
        stores.close()
        stores.close()  # twice is fine


def test_redis_and_postgres_urls_switch_every_shared_store(tmp_data: Path, redis_url: str, postgres_url: str) -> None:
    config = settings(tmp_data, SUMMIT_REDIS_URL=redis_url, SUMMIT_DATABASE_URL=postgres_url, SUMMIT_FEEDBACK_SALT=SALT)
    one, two = open_stores(config, prefix="summit:1:"), open_stores(config, prefix="summit:1:")

    async def run() -> None:
        assert isinstance(one.state, RedisStateStore) and isinstance(one.feedback, PostgresFeedbackStore)
        assert isinstance(one.state, ChatState) and isinstance(one.feedback, Feedback)
        assert isinstance(one.locks, RedisChatLocks) and isinstance(one.leases, RedisLeases)
        assert isinstance(one.catalogue, IndexCatalogue)
        await one.ping()
        one.state.set_language(5, "ar")
        assert two.state.language(5) == "ar"
        one.feedback.vote(5, answer="1:x", question="q", passage_id="p", value=1)
        two.feedback.vote(5, answer="1:x", question="q", passage_id="p", value=1)
        assert two.feedback.stats().up == 1
        assert await one.leases.claim(77) is Claim.OURS
        assert await two.leases.claim(77) is Claim.BUSY
        for _ in range(config.rate_limit):
            await one.limiter.hit(9)
        assert (await two.limiter.hit(9))[0] > 0
        one.catalogue.register("v1", {"passages": 3}, "/srv/v1")  # type: ignore[union-attr]
        one.catalogue.activate("v1")  # type: ignore[union-attr]
        assert two.catalogue.active() == "v1"  # type: ignore[union-attr]
        async with one.locks.hold(5):
            pass
        await one.aclose()
        await two.aclose()

    asyncio.run(run())
    assert not (tmp_data / "conversations.sqlite3").exists() and not (tmp_data / "feedback.sqlite3").exists()


def test_prefixes_keep_bots_apart(tmp_data: Path, redis_url: str) -> None:
    config = settings(tmp_data, SUMMIT_REDIS_URL=redis_url)
    one, two = open_stores(config, prefix="summit:1:"), open_stores(config, prefix="summit:2:")

    async def run() -> None:
        assert await one.leases.claim(1) is Claim.OURS
        assert await two.leases.claim(1) is Claim.OURS
        await one.aclose()
        await two.aclose()

    asyncio.run(run())


def test_a_database_without_a_salt_is_a_settings_error(tmp_data: Path, postgres_url: str) -> None:
    with pytest.raises(SettingsError, match="SUMMIT_FEEDBACK_SALT"):
        open_stores(settings(tmp_data, SUMMIT_DATABASE_URL=postgres_url), prefix="summit:1:")


def test_ping_names_the_store_that_does_not_answer(
    tmp_data: Path, redis_server: RedisServer, postgres_server: PostgresServer, redis_url: str, postgres_url: str
) -> None:
    config = settings(tmp_data, SUMMIT_REDIS_URL=redis_url, SUMMIT_DATABASE_URL=postgres_url, SUMMIT_FEEDBACK_SALT=SALT)
    stores = open_stores(config, prefix="summit:1:")

    async def run() -> None:
        await stores.ping()
        redis_server.stop()
        try:
            with pytest.raises(StoreUnavailable, match="Redis"):
                await stores.ping()
        finally:
            redis_server.start()
        await stores.ping()
        postgres_server.stop()
        try:
            with pytest.raises(StoreUnavailable, match="PostgreSQL"):
                await stores.ping()
        finally:
            postgres_server.start()
        await stores.ping()
        await stores.aclose()

    asyncio.run(run())


def test_postgres_down_at_start_is_store_unavailable(tmp_data: Path, postgres_server: PostgresServer) -> None:
    # Nothing listens on this port: the schema cannot be created, and nothing is left open.
    url = f"postgresql://summit@127.0.0.1:{postgres_server.port + 1}/nothing"
    import bot.connections

    config = settings(tmp_data, SUMMIT_DATABASE_URL=url, SUMMIT_FEEDBACK_SALT=SALT)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bot.connections, "POSTGRES_TIMEOUT", 0.5)
        with pytest.raises(StoreUnavailable, match="PostgreSQL"):
            open_stores(config, prefix="summit:1:")
