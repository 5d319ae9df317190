"""Bounded memory: 10,000 questions from 1,000 chats leave per-chat state capped.

Run in-process for speed: the real Application from ``bot.app.build_application``
with the real handlers, stores and rate limiter, a fast fake embedder over the
real seeds, and the strict fake server's API methods called directly (no HTTP,
no 30-messages-per-second flood limit, which would make 10,000 answers take
minutes). What is measured is the bot's own state, plus the process's RSS.
"""

from __future__ import annotations

import asyncio
import json
import resource
from pathlib import Path
from typing import Any

from fakes.bot_process import TOKEN
from fakes.telegram_server import ApiError, FakeTelegram
from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot import app as bot_app
from bot import services
from bot.settings import Settings
from embeddings.retriever import Retriever

CHATS = 1_000
MESSAGES = 10_000
MAX_CHATS = 300  # the state store's cap, lowered so that 1,000 chats must evict
# RSS growth allowed between the first 2,000 messages and the end. A leak of one
# question (~60 bytes of text plus a Python object, ~300 B) per message would add
# ~2.4 MB; the ceiling is generous for allocator noise and SQLite's page cache
# (2 MB per connection by default), and still far below what keeping every
# conversation in memory would take.
RSS_GROWTH_CEILING_MIB = 40


class DirectRequest(BaseRequest):
    """Hands each Bot API call straight to the fake server's method (same validation, no socket)."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None, **_: Any):
        name = url.rsplit("/", 1)[-1]
        raw = request_data.json_parameters if request_data else {}
        params = FakeTelegram._params("application/json", json.dumps(raw).encode(), "")
        try:
            result = getattr(self.fake, f"api_{name.lower()}")(params)
            return 200, json.dumps({"ok": True, "result": result}).encode()
        except ApiError as exc:
            self.fake.calls.append(self.fake.calls[0].__class__(name, params, 0.0, exc.description))
            return exc.code, json.dumps({"ok": False, "error_code": exc.code, "description": exc.description}).encode()


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_ten_thousand_questions_from_a_thousand_chats_leave_bounded_state(tmp_data: Path, fake_embedder) -> None:
    settings = Settings.from_env({"SUMMIT_DATA_DIR": str(tmp_data), "TELEGRAM_BOT_TOKEN": TOKEN})
    retriever = Retriever.open(seeds_dir=settings.seeds_dir, index_dir=settings.index_dir, embedder=fake_embedder)
    fake = FakeTelegram(TOKEN)  # never started: DirectRequest calls its methods
    application = bot_app.build_application(settings, retriever)
    request = DirectRequest(fake)
    # Test-only wiring (private PTB attributes): the fake instead of HTTP, no flood limit.
    application.bot._request = (request, request)
    application.bot._rate_limiter = None
    svc: services.Services = application.bot_data[services.SERVICES_KEY]
    svc.state.max_chats = MAX_CHATS
    users = [fake.private_chat() for _ in range(CHATS)]
    questions = ["Where did Kim and Putin meet?", "When did they last meet?", "What is the capital of France?"]

    async def run() -> tuple[float, float]:
        await application.initialize()
        await application.start()
        marks = []
        try:
            for batch in range(MESSAGES // CHATS):
                updates = [
                    Update.de_json(
                        {
                            "update_id": batch * CHATS + i,
                            "message": fake.message_payload(
                                user.chat, user.user, text=questions[(batch + i) % len(questions)]
                            ),
                        },
                        application.bot,
                    )
                    for i, user in enumerate(users)
                ]
                await asyncio.gather(*(application.process_update(u) for u in updates))
                # The fake's own records are the test's memory, not the bot's.
                fake.messages.clear()
                fake.user_messages.clear()
                fake.calls.clear()
                if batch == 1:
                    marks.append(rss_mib())
            marks.append(rss_mib())
        finally:
            await application.stop()
            await application.shutdown()
        return marks[0], marks[1]

    after_warm_up, at_end = asyncio.run(run())
    assert not fake.errors()
    # Per-chat state: capped on disk, nothing per chat left in memory.
    assert svc.state.chat_count() == MAX_CHATS
    (turns,) = svc.state.db.execute(
        "SELECT COALESCE(MAX(c), 0) FROM (SELECT COUNT(*) c FROM turns GROUP BY chat_id)"
    ).fetchone()
    assert turns <= settings.history_size
    assert not svc.locks._locks  # per-chat locks are dropped when unused
    events = svc.limiter.storage.events  # limits' MemoryStorage: one list of hit times per user
    assert len(events) <= CHATS
    assert max(len(e) for e in events.values()) <= settings.rate_limit
    assert len(application.chat_data) == 0 and len(application.user_data) == 0
    assert at_end - after_warm_up < RSS_GROWTH_CEILING_MIB, (after_warm_up, at_end)
    svc.state.close()
    svc.feedback.close()
