"""The daily gap digest: scheduled on PTB's JobQueue, sent to ADMIN_IDS only when new gaps appeared,
once even when several processes share the gap store (on SQLite and on a real PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from servers import PostgresServer
from telegram.error import Forbidden

from bot import app as bot_app
from bot.gaps import GapStoreBase
from bot.handlers import gap_digest
from bot.handlers.gaps import DIGEST_RETRY
from bot.services import SERVICES_KEY
from bot.settings import Settings
from embeddings.retriever import Retriever

TOKEN = "123456789:AAE-fake_token_for_end_to_end_tests_0123"

pytest_plugins = ["gap_stores"]  # open_store: SQLite and PostgreSQL
OpenStore = Callable[..., GapStoreBase]


class StubBot:
    username = "summit_test_bot"  # replies carry deep links to paragraphs

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str, **_: object) -> object:
        self.sent.append((chat_id, text))
        return object()


class BlockedBot(StubBot):
    """No admin can be messaged (none opened the bot yet)."""

    async def send_message(self, chat_id: int, text: str, **_: object) -> object:
        raise Forbidden("Forbidden: bot can't initiate conversation with a user")


def context(store: GapStoreBase, admins: set[int], languages: dict[int, str]) -> SimpleNamespace:
    svc = SimpleNamespace(
        settings=Settings(admin_ids=frozenset(admins)),
        state=SimpleNamespace(language=languages.get),
        gaps=store,
    )
    return SimpleNamespace(bot_data={SERVICES_KEY: svc}, bot=StubBot(), application=SimpleNamespace(running=True))


def record(store: GapStoreBase, question: str, vector: list[float]) -> None:
    v = np.array(vector, dtype=np.float32)
    store.record(
        1, question=question, language="en", kind="refused", candidates=[], reply="", vector=v / np.linalg.norm(v)
    )


def test_the_digest_goes_to_every_admin_once_per_batch_of_new_gaps(open_store: OpenStore) -> None:
    store = open_store()
    ctx = context(store, {11, 22}, {22: "ar"})
    asyncio.run(gap_digest(ctx))
    assert ctx.bot.sent == []  # nothing new: no message
    record(store, "What did the Americans threaten?", [1, 0, 0])
    record(store, "What did Seoul say?", [0, 1, 0])
    asyncio.run(gap_digest(ctx))
    sent = dict(ctx.bot.sent)
    assert set(sent) == {11, 22}
    assert sent[11].startswith("New questions the bot could not answer well since yesterday: 2. Send /gaps")
    assert "«What did the Americans threaten?» ×1" in sent[11]
    assert sent[22].startswith("أسئلة جديدة")  # in the admin's /lang
    ctx.bot.sent.clear()
    asyncio.run(gap_digest(ctx))
    assert ctx.bot.sent == []  # already told
    record(store, "Where is the third question?", [0, 0, 1])
    asyncio.run(gap_digest(ctx))
    assert len(ctx.bot.sent) == 2 and all(": 1." in text for _, text in ctx.bot.sent)


def test_several_processes_digest_jobs_send_one_message_per_admin(open_store: OpenStore) -> None:
    """Every process runs the daily job at the same moment; the admins hear from one of them."""
    processes = [context(open_store(), {11, 22}, {}) for _ in range(5)]
    record(processes[0].bot_data["services"].gaps, "What did the Americans threaten?", [1, 0, 0])
    record(processes[3].bot_data["services"].gaps, "What did Seoul say?", [0, 1, 0])

    async def all_at_once() -> None:
        await asyncio.gather(*(gap_digest(ctx) for ctx in processes))

    asyncio.run(all_at_once())
    senders = [ctx for ctx in processes if ctx.bot.sent]
    assert len(senders) == 1
    assert sorted(chat for chat, _ in senders[0].bot.sent) == [11, 22]
    assert ": 2." in senders[0].bot.sent[0][1]
    asyncio.run(all_at_once())
    assert sum(len(ctx.bot.sent) for ctx in processes) == 2  # nothing new since: nobody sends again


def test_a_digest_nobody_received_is_sent_again_next_time(open_store: OpenStore) -> None:
    store = open_store()
    record(store, "What did the Americans threaten?", [1, 0, 0])
    blocked = context(store, {11}, {})
    blocked.bot = BlockedBot()
    asyncio.run(gap_digest(blocked))
    assert store.digest_mark() == 0  # the claim was handed back
    ctx = context(open_store(), {11}, {})  # another process, the next day
    asyncio.run(gap_digest(ctx))
    assert [chat for chat, _ in ctx.bot.sent] == [11]


def test_the_application_schedules_the_digest_daily_when_there_are_admins(tmp_data: Path, fake_embedder) -> None:
    settings = Settings.from_env({"SUMMIT_DATA_DIR": str(tmp_data), "TELEGRAM_BOT_TOKEN": TOKEN, "ADMIN_IDS": "7"})
    retriever = Retriever.open(seeds_dir=settings.seeds_dir, index_dir=settings.index_dir, embedder=fake_embedder)
    application = bot_app.build_application(settings, retriever)
    jobs = application.job_queue.jobs()
    assert [job.name for job in jobs] == ["gap digest"]
    assert jobs[0].callback is gap_digest
    application.bot_data[SERVICES_KEY].gaps.close()
    without_admins = bot_app.build_application(
        Settings.from_env({"SUMMIT_DATA_DIR": str(tmp_data), "TELEGRAM_BOT_TOKEN": TOKEN}), retriever
    )
    assert without_admins.job_queue.jobs() == ()
    without_admins.bot_data[SERVICES_KEY].gaps.close()


def test_a_digest_the_database_cannot_serve_is_postponed_not_lost(
    postgres_url: str, postgres_server: PostgresServer
) -> None:
    from bot.gaps_postgres import PostgresGapStore

    store = PostgresGapStore(postgres_url, salt=b"digest-test-salt-0123456789", timeout=1.0)
    try:
        record(store, "What did the Americans threaten?", [1, 0, 0])
        ctx = context(store, {11}, {})
        retries: list[tuple[object, float]] = []
        ctx.job_queue = SimpleNamespace(run_once=lambda callback, when, name: retries.append((callback, when)))
        postgres_server.stop()
        try:
            asyncio.run(gap_digest(ctx))  # must not raise: a job's failure would only be logged
        finally:
            postgres_server.start()
        assert ctx.bot.sent == [] and retries == [(gap_digest, DIGEST_RETRY)]
        asyncio.run(gap_digest(ctx))  # the retry, once the database is back
        assert [chat for chat, _ in ctx.bot.sent] == [11]
    finally:
        store.close()
