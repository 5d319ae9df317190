"""Knowledge gaps end to end: a reader's unanswered question, the admin's /gaps decision, the next answer.

Runs a bot process of its own (its own data dir and fake server): what the admin teaches
here must not change the answers the session bot gives the other e2e tests.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ADMIN_ID, SUMMIT_BOT, TOKEN, BotProcess, bot_env, start_bot
from fakes.telegram_server import BotMessage, ChatClient, FakeTelegram

NOT_ADMIN = "Sorry, that command is only for the bot's administrators."
REFUSAL = "The article does not answer that."
QUESTION = "What did the Americans threaten?"  # refused by the bot; ¶22 says the White House warned
REWORDED = "What threat did the Americans make?"  # asked too: the same group
PARAPHRASE = "What was the American threat?"  # never asked before the decision
CITATION = re.compile(r"¶(\d+)")


@dataclass
class GapsBot:
    fake: FakeTelegram
    data: Path
    workdir: Path
    process: BotProcess | None = None

    def restart(self) -> None:
        assert self.process is not None and self.process.stop() == 0
        self.process = start_bot(self.fake, self.data, self.workdir, SUMMIT_RATE_LIMIT="60")


@pytest.fixture(scope="module")
def gaps_bot(tmp_path_factory: pytest.TempPathFactory, real_index_dir: Path) -> Iterator[GapsBot]:
    workdir = tmp_path_factory.mktemp("gaps-bot")
    data = workdir / "data"
    data.mkdir()
    shutil.copytree(real_index_dir, data / "index")
    running = GapsBot(FakeTelegram(TOKEN).start(), data, workdir)
    try:
        running.process = start_bot(running.fake, data, workdir, SUMMIT_RATE_LIMIT="60")
        yield running
        rejected = running.fake.errors()
        assert not rejected, [(c.method, c.error, c.params) for c in rejected]
        for log in workdir.glob("bot-*.log"):
            assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
    finally:
        if running.process is not None:
            assert running.process.stop() == 0
        running.fake.stop()


def ask(user: ChatClient, text: str) -> BotMessage:
    user.send(text)
    return user.next_reply()


def paragraph(reply: BotMessage) -> int:
    found = CITATION.findall(reply.text)
    assert found, reply.text
    return int(found[-1])


def gap_messages(admin: ChatClient) -> list[BotMessage]:
    """The /gaps reply: a header, then one message per group (until the bot goes quiet)."""
    admin.send("/gaps")
    header = admin.next_reply()
    if not header.text.startswith("Questions the bot could not answer well"):
        return [header]
    count = min(5, int(re.search(r"well: (\d+)", header.text)[1]))
    return [header, *admin.next_replies(count)]


def test_an_admin_teaches_the_bot_from_gaps_and_the_next_answer_uses_it(gaps_bot: GapsBot) -> None:
    fake, data = gaps_bot.fake, gaps_bot.data
    reader = fake.private_chat()
    assert ask(reader, QUESTION).text.startswith(REFUSAL)
    assert ask(reader, REWORDED).text.startswith(REFUSAL)
    assert ask(fake.private_chat(), QUESTION).text.startswith(REFUSAL)  # another reader, the same question
    answer = ask(reader, "Where did Kim and Putin meet?")
    reader.callback_answer(reader.press(answer, "👎"))

    stranger = fake.private_chat()
    assert ask(stranger, "/gaps").text == NOT_ADMIN

    admin = fake.private_chat(user_id=ADMIN_ID)
    listed = gap_messages(admin)
    header, groups = listed[0], listed[1:]
    assert header.text.startswith("Questions the bot could not answer well: 2 (asked 4 times)")
    top = groups[0]
    assert top.text.startswith(f"«{QUESTION}» ×3 · en\nrefused 3")
    assert REWORDED in top.text
    assert any("👎 1" in g.text and "Where did Kim and Putin meet?" in g.text for g in groups)
    right = next(label for label, _ in top.buttons if label.startswith("¶22 · "))
    assert [label for label, _ in top.buttons][-2:] == ["Not in the article", "Ignore"]

    # A stranger cannot decide, whatever data they forge (checked on every press).
    button = top.button(right)
    forged = stranger.callback_answer(stranger.press(stranger.replies()[-1], button, raw=True))
    assert forged["text"] == NOT_ADMIN

    pressed = time.perf_counter()
    done = admin.callback_answer(admin.press(top, right))
    assert done["text"] == "✓ ¶22 now answers this (2 wordings)."
    reply = ask(reader, QUESTION)
    applied = time.perf_counter() - pressed
    print(f"\ntime to apply a gap decision (press -> next answer uses it), e2e: {applied * 1000:.0f} ms")
    assert paragraph(reply) == 22 and "White House" in reply.text
    assert paragraph(ask(reader, PARAPHRASE)) == 22  # a wording nobody asked before the decision
    fake.wait_for(lambda: top.edits, what="the decided group to be marked")
    assert top.text.endswith("✓ ¶22 now answers this (2 wordings).") and not top.buttons
    # Pressed again (a second admin, an old message): already decided.
    assert admin.callback_answer(admin.press(top, button, raw=True))["text"] == "This question was already decided."

    # "Not in the article": the 👎 question is now refused.
    remaining = gap_messages(admin)
    voted = next(g for g in remaining[1:] if "Where did Kim and Putin meet?" in g.text)
    assert admin.callback_answer(admin.press(voted, "Not in the article"))["text"].startswith("✓ Now refused")
    assert ask(reader, "Where did Kim and Putin meet?").text.startswith(REFUSAL)
    assert gap_messages(admin)[0].text.startswith("No open questions")

    env = bot_env(None, data)
    exported = subprocess.run(
        [str(SUMMIT_BOT), "gaps", "export"], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    taught = [r for r in rows if r["type"] == "answerable"]
    assert {r["question"] for r in taught} == {QUESTION, REWORDED}
    assert all(r["paragraphs"] == [22] and r["kind"] == "editor" and r["lang"] == "en" for r in taught)
    assert [r["question"] for r in rows if r["type"] == "offtopic"] == ["Where did Kim and Putin meet?"]
    listed_cli = subprocess.run(
        [str(SUMMIT_BOT), "gaps", "list"], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert "no open gaps" in listed_cli.stdout and "answer ¶22" in listed_cli.stdout

    # The decisions hold after /reload and after a restart: re-applied from the gaps store.
    assert ask(admin, "/reload").text.startswith("Re-indexed seeds/")
    assert paragraph(ask(reader, PARAPHRASE)) == 22
    gaps_bot.restart()
    assert paragraph(ask(reader, QUESTION)) == 22
    assert ask(reader, "Where did Kim and Putin meet?").text.startswith(REFUSAL)
