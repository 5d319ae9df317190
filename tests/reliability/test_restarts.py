"""Restarts: SIGTERM keeps conversations and votes; kill -9 never damages the feedback database."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
from pathlib import Path

from fakes.bot_process import ADMIN_ID, start_bot
from fakes.telegram_server import FakeTelegram, error_fault

QUESTION = "Where did Kim and Putin meet?"
STOPS_WITHIN = 10.0  # seconds from SIGTERM to exit; PTB itself needs about one poll timeout
POLL = {"TELEGRAM_POLL_TIMEOUT": "1", "SUMMIT_RATE_LIMIT": "1000"}


def votes(data: Path) -> dict[str, int]:
    """chat hash -> vote, read the way an operator would (read-only)."""
    with sqlite3.connect(f"file:{data / 'feedback.sqlite3'}?mode=ro", uri=True) as db:
        return dict(db.execute("SELECT chat_hash, vote FROM votes").fetchall())


def chat_hash(data: Path, chat_id: int) -> str:
    salt = bytes.fromhex((data / "feedback.salt").read_text().strip())
    return hashlib.sha256(salt + str(chat_id).encode()).hexdigest()


def test_sigterm_persists_state_and_votes_and_a_removed_admin_is_refused_after_restart(
    own_fake: FakeTelegram, fresh_data: Path, tmp_path: Path
) -> None:
    fake = own_fake
    first = start_bot(fake, fresh_data, tmp_path, **POLL)
    user = fake.private_chat()
    admin = fake.private_chat(user_id=ADMIN_ID)
    user.send("/lang ar")
    user.next_reply()
    user.send(QUESTION)
    answer = user.next_reply()
    user.callback_answer(user.press(answer, "👍"))
    admin.send("/stats")
    assert "👍 1" in admin.next_reply().text
    # A question still waiting for its answer when SIGTERM arrives (Telegram is failing the send):
    # the retry gives up at shutdown instead of holding the service manager up.
    fake.faults["sendMessage"] = [error_fault(502, "Bad Gateway", times=1000)]
    fake.private_chat().send(QUESTION)
    fake.wait_for(lambda: any(c.injected for c in fake.calls_to("sendMessage")), what="the failing send")
    code, seconds = first.timed_stop()
    fake.faults.clear()
    assert code == 0 and seconds < STOPS_WITHIN, (code, seconds, first.log()[-2000:])
    assert "stopped" in first.log()
    assert "the reply was not delivered" in first.log()  # a loss is logged, never silent
    assert votes(fresh_data) == {chat_hash(fresh_data, user.chat_id): 1}

    second = start_bot(fake, fresh_data, tmp_path, **POLL, ADMIN_IDS="777")  # 4242 is no longer an admin
    user.press(answer, "المزيد")  # the pre-restart answer's buttons still work
    assert user.next_reply().reply_to == answer.message_id
    user.send("And what did Putin say about sanctions?")  # a follow-up to the pre-restart question
    follow_up = user.next_reply()
    assert re.match(r"[\u0600-\u06FF]", follow_up.text)  # /lang ar survived
    assert re.search(r"¶(9|10)\b", follow_up.text)
    user.callback_answer(user.press(answer, "👎"))  # changes the stored vote, does not add one
    assert votes(fresh_data) == {chat_hash(fresh_data, user.chat_id): -1}
    for command in ("/stats", "/reload"):
        admin.send(command)
        assert admin.next_reply().text == "Sorry, that command is only for the bot's administrators."
    code, seconds = second.timed_stop()
    assert code == 0 and seconds < STOPS_WITHIN
    assert not fake.errors(), [(c.method, c.error) for c in fake.errors()]
    for run in (first, second):
        assert "Traceback" not in run.log()


def test_kill_9_mid_run_keeps_every_acknowledged_vote_and_an_intact_database(
    own_fake: FakeTelegram, fresh_data: Path, tmp_path: Path
) -> None:
    fake = own_fake
    bot = start_bot(fake, fresh_data, tmp_path, **POLL)
    users = [fake.private_chat() for _ in range(20)]
    for user in users:
        user.send(QUESTION)
    answers = {user.chat_id: user.next_reply(timeout=60) for user in users}
    acknowledged: list[int] = []
    presses = [(user, user.press(answers[user.chat_id], "👍")) for user in users]

    def collect() -> None:
        for user, query in presses:
            try:
                user.callback_answer(query, timeout=5)
            except AssertionError:
                return
            acknowledged.append(user.chat_id)

    collector = threading.Thread(target=collect)
    collector.start()
    fake.wait_for(lambda: len(fake.callback_answers) >= 5, what="some votes")
    for user in users[:5]:  # more traffic in flight at the moment of the kill
        user.send(QUESTION)
    bot.kill()
    collector.join()

    with sqlite3.connect(fresh_data / "feedback.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = votes(fresh_data)
    for chat_id in acknowledged:  # the user saw "thanks": the vote must be on disk
        assert stored.get(chat_hash(fresh_data, chat_id)) == 1
    assert len(stored) >= 5

    again = start_bot(fake, fresh_data, tmp_path, **POLL)
    late = fake.private_chat()
    late.send(QUESTION)
    assert "¶" in late.next_reply().text
    # Presses the killed bot had not confirmed to Telegram are delivered again and counted now:
    # nothing acknowledged is lost, and no chat's vote is counted twice.
    after = votes(fresh_data)
    assert stored.items() <= after.items()
    assert set(after.values()) == {1} and len(after) <= len(users)
    with sqlite3.connect(f"file:{fresh_data / 'feedback.sqlite3'}?mode=ro", uri=True) as db:
        rows, chats = db.execute("SELECT COUNT(*), COUNT(DISTINCT chat_hash) FROM votes").fetchone()
    assert rows == chats
    assert again.stop() == 0
    assert "not a usable database" not in again.log()
