"""Running the real bot (``summit-bot run``) as a subprocess against :class:`FakeTelegram`.

Shared by the end-to-end tests (tests/e2e) and the reliability tests
(tests/reliability): the environment the bot gets, a handle on the process and
its log, and start-up that waits until the bot has registered its commands.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bot.settings import ENV_VARS
from fakes.telegram_server import FakeTelegram

REPO = Path(__file__).resolve().parents[2]
SUMMIT_BOT = REPO / ".venv" / "bin" / "summit-bot"
TOKEN = "123456789:AAE-fake_token_for_end_to_end_tests_0123"
ADMIN_ID = 4242
RATE_LIMIT = 6  # questions per user per minute in the e2e session bot
START_TIMEOUT = 90.0
TRACEBACK = re.compile(r"Traceback|error while handling update")


def bot_env(fake: FakeTelegram | None, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
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

    @property
    def pid(self) -> int:
        return self.process.pid

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

    def timed_stop(self, timeout: float = 30.0) -> tuple[int, float]:
        """SIGTERM and wait; (exit code, seconds until the process was gone)."""
        started = time.monotonic()
        code = self.stop(timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, like a power cut for the process (not for the disk)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def rss_kib(self) -> int:
        """Resident memory of the process (VmRSS) in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS line")


class LogWatch:
    """The part of the session bot's log written since the test started."""

    def __init__(self, bot: BotProcess) -> None:
        self.bot = bot
        self.start = len(bot.log())

    def text(self) -> str:
        return self.bot.log()[self.start :]

    def assert_no_traceback(self) -> None:
        found = TRACEBACK.search(self.text())
        assert found is None, self.text()[max(0, found.start() - 500) : found.start() + 3000]


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


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = START_TIMEOUT) -> dict:
    """Poll ``url``/readyz until it answers 200; its JSON (index version, paragraphs)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            last = exc.read().decode("utf-8", "replace")
        except OSError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready after {timeout:.0f}s: {last}")


def start_server(data_dir: Path, workdir: Path, *, fake: FakeTelegram, port: int, **extra: str) -> BotProcess:
    """Start ``summit-bot serve`` on 127.0.0.1:``port`` and wait until /readyz says ready."""
    log_path = workdir / f"serve-{port}-{len(list(workdir.glob(f'serve-{port}-*.log')))}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(SUMMIT_BOT), "serve", "--port", str(port)],
            env=bot_env(fake, data_dir, **extra),
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = BotProcess(process, log_path)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
    except AssertionError as exc:
        server.kill()
        raise AssertionError(f"{exc}\n{server.log()[-3000:]}") from None
    return server
