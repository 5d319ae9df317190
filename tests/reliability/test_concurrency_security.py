"""50 users at once, and the security rules: token, admins, callback data, user text, file modes."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import stat
import threading
from pathlib import Path

from fakes.bot_process import ADMIN_ID, TOKEN, BotProcess, LogWatch, start_bot
from fakes.telegram_server import FakeTelegram, Reply, error_fault

USERS = 50
SECRET = TOKEN.split(":", 1)[1]


def test_fifty_users_asking_and_voting_at_once_store_every_vote_exactly_once(
    tg: FakeTelegram, rbot: BotProcess, rdata: Path, watch: LogWatch
) -> None:
    users = [tg.private_chat() for _ in range(USERS)]
    for user in users:
        user.send("Where did Kim and Putin meet?")
    answers = [user.next_reply(timeout=90) for user in users]
    stop = threading.Event()

    def backups() -> None:  # an operator's online backup running meanwhile
        while not stop.is_set():
            with sqlite3.connect(rdata / "feedback.sqlite3") as source, sqlite3.connect(":memory:") as copy:
                source.backup(copy)

    backup = threading.Thread(target=backups)
    backup.start()
    try:
        queries = [user.press(answer, "👍") for user, answer in zip(users, answers, strict=True)]
        queries += [user.press(answer, "👎") for user, answer in zip(users[:10], answers[:10], strict=True)]
        queries += [user.press(answer, "👎") for user, answer in zip(users[:10], answers[:10], strict=True)]
        tg.wait_for(lambda: all(q in tg.callback_answers for q in queries), 90, what="every vote acknowledged")
    finally:
        stop.set()
        backup.join()
    salt = bytes.fromhex((rdata / "feedback.salt").read_text().strip())
    hashes = {hashlib.sha256(salt + str(u.chat_id).encode()).hexdigest(): u for u in users}
    with sqlite3.connect(f"file:{rdata / 'feedback.sqlite3'}?mode=ro", uri=True) as db:
        rows = [r for r in db.execute("SELECT chat_hash, vote FROM votes").fetchall() if r[0] in hashes]
    assert len(rows) == USERS  # exactly one row per user's answer
    down = {hashes[h].chat_id for h, v in rows if v == -1}
    assert down == {u.chat_id for u in users[:10]}
    assert "locked" not in watch.text().lower()
    watch.assert_no_traceback()


def test_the_token_never_appears_in_logs_or_replies_even_when_errors_quote_the_url(
    tg: FakeTelegram, rbot: BotProcess, watch: LogWatch
) -> None:
    url = f"{tg.base_url}{TOKEN}/sendMessage"
    user = tg.private_chat()
    tg.faults["sendMessage"] = [
        error_fault(502, f"Bad Gateway while calling {url}", times=1),  # retried, logged as a warning
        error_fault(400, f"Bad Request: cannot POST {url}", times=1),  # permanent: the error handler's traceback
    ]
    user.send("Where did Kim and Putin meet?")
    assert user.next_reply(timeout=30).text == "Sorry, something went wrong on my side. Please try again."
    text = watch.text()
    assert "[TOKEN]" in text  # the errors did quote it, and the filter replaced it
    assert TOKEN not in text and SECRET not in text
    assert all(SECRET not in m.html for m in user.replies())


def test_a_token_rejected_at_start_up_is_not_printed(own_fake: FakeTelegram, fresh_data: Path, tmp_path: Path) -> None:
    own_fake.faults["getMe"] = [lambda m, p: Reply(401, {"ok": False, "error_code": 401, "description": TOKEN})]
    try:
        start_bot(own_fake, fresh_data, tmp_path, TELEGRAM_POLL_TIMEOUT="1")
        raise AssertionError("the bot started with a rejected token")
    except AssertionError as exc:
        assert "exited with 2" in str(exc)
    log = "".join(p.read_text() for p in tmp_path.glob("bot-*.log"))
    assert "rejected TELEGRAM_BOT_TOKEN" in log
    assert SECRET not in log  # PTB logs its own traceback of the rejection: scrubbed
    assert "[TOKEN]" in log


def test_admin_commands_are_checked_on_every_call(tg: FakeTelegram, watch: LogWatch) -> None:
    refusal = "Sorry, that command is only for the bot's administrators."
    group = tg.group_chat()
    stranger, member = tg.private_chat(), tg.member(group)
    admin = tg.private_chat(user_id=ADMIN_ID)
    for client in (stranger, member, stranger):
        for command in ("/stats", "/reload", "/stats@summit_test_bot"):
            client.send(command)
            assert client.next_reply().text == refusal, command
    admin.send("/stats")
    assert admin.next_reply().text.startswith("Questions:")
    assert "reloaded" not in watch.text()


def test_user_text_is_never_html_a_shell_command_or_a_path(tg: FakeTelegram, tmp_path: Path, watch) -> None:
    canary = tmp_path / "canary"
    user = tg.private_chat()
    for question in (
        f"$(touch {canary})",
        f"`touch {canary}`; touch {canary}",
        "../../../../etc/passwd",
        "/etc/passwd",
        "file:///etc/shadow",
        "<b>bold</b> <a href='javascript:alert(1)'>x</a> &amp; &lt;",
        "Where did Kim and Putin meet? <i>",
    ):
        user.send(question)
        reply = user.next_reply(timeout=30)
        assert "root:" not in reply.text and "javascript" not in reply.html and "<i>" not in reply.html
        # The only links are the bot's own deep links to the paragraph it cites.
        for href in re.findall(r"<a href=\"([^\"]*)\">", reply.html):
            assert re.fullmatch(r"https://t\.me/summit_test_bot\?start=[A-Za-z0-9_-]+", href), href
        assert reply.html.count("<a ") == len(re.findall(r"<a href=\"([^\"]*)\">", reply.html))
    assert not canary.exists()
    watch.assert_no_traceback()


def test_data_directory_is_user_only_and_databases_are_0600(rdata: Path, tg: FakeTelegram) -> None:
    user = tg.private_chat()
    user.send("Where did Kim and Putin meet?")
    user.callback_answer(user.press(user.next_reply(), "👍"))
    assert stat.S_IMODE(rdata.stat().st_mode) == 0o700  # it was 0755 before the bot started
    for path in rdata.iterdir():
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name
    for name in ("conversations.sqlite3", "feedback.sqlite3", "feedback.salt"):
        assert stat.S_IMODE((rdata / name).stat().st_mode) == 0o600, name
