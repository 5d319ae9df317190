"""Reliability fixtures: the real bot (``summit-bot run``) against the fake Bot API server, with faults.

The session bot (``rbot``) is separate from the e2e one: it long-polls with a
1-second timeout so a hang past the client timeout takes seconds rather than a
quarter of a minute, and its rate limit is high enough for 50 users at once.
Tests that restart, kill or corrupt a bot get their own server and data
directory (``own_fake``, ``fresh_data``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.bot_process import TOKEN, BotProcess, LogWatch, start_bot
from fakes.telegram_server import FakeTelegram

POLL_TIMEOUT = "1"  # seconds; getUpdates then times out client-side after 1 + 5 (PTB's read timeout)
RATE_LIMIT = "1000"


@pytest.fixture(scope="session")
def rfake() -> Iterator[FakeTelegram]:
    server = FakeTelegram(TOKEN).start()
    yield server
    server.faults.clear()
    server.stop()


@pytest.fixture(scope="session")
def rdata(tmp_path_factory: pytest.TempPathFactory, real_index_dir: Path) -> Path:
    data = tmp_path_factory.mktemp("rbot") / "data"
    shutil.copytree(real_index_dir, data / "index")
    data.chmod(0o755)  # as a careless `mkdir` leaves it: the bot must tighten it
    return data


@pytest.fixture(scope="session")
def rbot(rfake: FakeTelegram, rdata: Path) -> Iterator[BotProcess]:
    running = start_bot(rfake, rdata, rdata.parent, TELEGRAM_POLL_TIMEOUT=POLL_TIMEOUT, SUMMIT_RATE_LIMIT=RATE_LIMIT)
    yield running
    rfake.faults.clear()
    code = running.stop()
    assert code == 0, running.log()[-3000:]


@pytest.fixture
def tg(rfake: FakeTelegram, rbot: BotProcess) -> Iterator[FakeTelegram]:
    """The session fake with the bot polling it; fails the test on any call Telegram would reject."""
    errors_before = len(rfake.errors())
    yield rfake
    rfake.faults.clear()
    assert rbot.process.poll() is None, f"the bot died:\n{rbot.log()[-3000:]}"
    rejected = rfake.errors()[errors_before:]
    assert not rejected, [(c.method, c.error) for c in rejected]


@pytest.fixture
def watch(rbot: BotProcess) -> LogWatch:
    return LogWatch(rbot)


@pytest.fixture
def own_fake() -> Iterator[FakeTelegram]:
    server = FakeTelegram(TOKEN).start()
    yield server
    server.faults.clear()
    server.stop()


@pytest.fixture
def fresh_data(tmp_path: Path, real_index_dir: Path) -> Path:
    """A data directory with a copy of the session's index (start-up does not rebuild it)."""
    data = tmp_path / "botdata"
    shutil.copytree(real_index_dir, data / "index")
    return data
