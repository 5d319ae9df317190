"""Corrupt files in the data directory: a warning, recovery, and answers, never a crash loop.

Every state file is damaged at once (one run truncates them, one fills them with
garbage); the bot must start, say what it did, keep the bad files aside, answer
questions, and start cleanly again afterwards.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from fakes.bot_process import start_bot
from fakes.telegram_server import FakeTelegram

POLL = {"TELEGRAM_POLL_TIMEOUT": "1"}
INDEX_FILES = ("vectors.faiss", "units.json", "manifest.json")
DATABASES = ("conversations.sqlite3", "feedback.sqlite3")


def populate(fake: FakeTelegram, data: Path, workdir: Path) -> None:
    """A normal first run: conversations and votes on disk."""
    bot = start_bot(fake, data, workdir, **POLL)
    user = fake.private_chat()
    user.send("Where did Kim and Putin meet?")
    user.callback_answer(user.press(user.next_reply(), "👍"))
    assert bot.stop() == 0


def damage(path: Path, how: str) -> None:
    raw = path.read_bytes()
    if how == "truncated":
        path.write_bytes(raw[: max(1, len(raw) // 3)])
    else:
        path.write_bytes(os.urandom(len(raw) or 512)[:4096] + b"\x00garbage{[")


@pytest.mark.parametrize("how", ["truncated", "garbage"])
def test_bot_recovers_from_every_state_file_corrupt_at_once(
    own_fake: FakeTelegram, fresh_data: Path, tmp_path: Path, how: str
) -> None:
    populate(own_fake, fresh_data, tmp_path)
    index = fresh_data / "index"
    # Truncated: the manifest stays valid, so the damaged FAISS file and sidecar are found on
    # load and kept aside (repair). Garbage: the manifest goes too, which alone means rebuild.
    for name in INDEX_FILES if how == "garbage" else INDEX_FILES[:2]:
        damage(index / name, how)
    for name in DATABASES:
        damage(fresh_data / name, how)
    (fresh_data / "feedback.salt").write_bytes(b"\xff\xfe not hex")

    bot = start_bot(own_fake, fresh_data, tmp_path, **POLL)
    user = own_fake.private_chat()
    user.send("Where did Kim and Putin meet?")
    answer = user.next_reply(timeout=60)
    assert "¶" in answer.text
    user.callback_answer(user.press(answer, "👍"))  # votes work on the fresh feedback database
    assert bot.stop() == 0
    log = bot.log()
    assert "Traceback" not in log
    # Warnings name what was wrong; the index was rebuilt, the databases started fresh.
    assert "WARNING" in log and "building index" in log
    for name in DATABASES:
        assert f"{name} is not a usable database" in log, name
        assert list(fresh_data.glob(f"{name}.*.bad")), f"{name} was not kept aside"
        with sqlite3.connect(fresh_data / name) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert "feedback.salt is unreadable" in log
    if how == "truncated":
        assert list(index.glob("vectors.faiss.*.bad")) and "kept the bad files aside" in log
    else:
        assert "index manifest" in log and "unreadable" in log

    again = start_bot(own_fake, fresh_data, tmp_path, **POLL)  # no crash loop: the next start is clean
    assert again.stop() == 0
    assert "WARNING" not in again.log() and "building index" not in again.log()
