"""Start-up and shutdown of ``summit-bot run``: missing token, first start, SIGTERM, restart."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import SUMMIT_BOT, TOKEN, bot_env, start_bot
from fakes.telegram_server import FakeTelegram


@pytest.mark.parametrize("token", [None, "", "not-a-token", "123456:short"])
def test_run_without_a_valid_token_fails_cleanly(tmp_path: Path, token: str | None) -> None:
    env = bot_env(None, tmp_path / "data")
    if token is not None:
        env["TELEGRAM_BOT_TOKEN"] = token
    result = subprocess.run([str(SUMMIT_BOT), "run"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "TELEGRAM_BOT_TOKEN" in lines[0] and "@BotFather" in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""
    if token:
        assert token not in result.stderr


def test_first_start_builds_the_index_and_state_survives_a_sigterm_restart(tmp_path: Path) -> None:
    fake = FakeTelegram(TOKEN).start()
    data = tmp_path / "data"  # empty: the first start builds the index
    try:
        first = start_bot(fake, data, tmp_path)
        user = fake.private_chat()
        user.send("/lang ar")
        user.next_reply()
        user.send("Where did Kim and Putin meet?")
        answer = user.next_reply()
        assert re.match(r"[\u0600-\u06FF]", answer.text)
        assert first.stop() == 0  # SIGTERM: polling stops, databases are closed
        assert (data / "index" / "manifest.json").exists()
        assert data.stat().st_mode & 0o777 == 0o700

        second = start_bot(fake, data, tmp_path)
        user.press(answer, "المزيد")  # a button from before the restart still works
        more = user.next_reply()
        assert more.reply_to == answer.message_id and "¶" in more.text
        user.send("And what did Putin say about sanctions?")  # follows up on the pre-restart question
        follow_up = user.next_reply()
        assert re.match(r"[\u0600-\u06FF]", follow_up.text)  # /lang ar was remembered too
        assert re.search(r"¶(9|10)\b", follow_up.text)
        assert second.stop() == 0
        assert not fake.errors(), [(c.method, c.error) for c in fake.errors()]
        for run in (first, second):
            log = run.log()
            assert "connected as @summit_test_bot" in log
            assert TOKEN not in log and TOKEN.split(":")[1] not in log
            assert "Traceback" not in log
    finally:
        fake.stop()
