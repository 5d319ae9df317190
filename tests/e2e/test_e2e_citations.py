"""Citations worth sharing, end to end: deep links to paragraphs, ◀ ▶ between them, inline results
that carry the link, group replies that quote the question, long paragraphs folded into an
expandable blockquote and citations that name the article when several are loaded."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import BotProcess, start_bot
from fakes.telegram_server import BotMessage, ChatClient, FakeTelegram, error_fault

from bot.replies import LONG_PARAGRAPH_CHARS, RLM
from embeddings.corpus import Corpus, load_corpus
from embeddings.embedders import Embedder

DOC = "000_54d2f6cd4b201a0d"
LINK = re.compile(r'<a href="https://t\.me/summit_test_bot\?start=([A-Za-z0-9_-]+)">¶(\d+)</a>')
GONE_EN = "That paragraph is no longer available."


def ask(user: ChatClient, text: str) -> BotMessage:
    user.send(text)
    return user.next_reply()


def labels(message: BotMessage) -> list[str]:
    return [label for label, _ in message.buttons]


def press_and_wait(user: ChatClient, message: BotMessage, label: str) -> None:
    edits = len(message.edits)
    user.callback_answer(user.press(message, label))
    user.fake.wait_for(lambda: len(message.edits) > edits, what=f"the message to be edited after {label}")


# -- deep links ---------------------------------------------------------------------------------


def test_an_answer_links_its_paragraph(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    reply = ask(user, "Which factories will Kim visit?")
    links = LINK.findall(reply.html)
    assert links == [(f"{DOC}-8", "8")]
    assert reply.text.rstrip().endswith("¶8 · confidence: high")  # the link does not change what is read
    sent = [c for c in tg.calls_to("sendMessage") if c.params.get("chat_id") == user.chat_id]
    assert sent[-1].params["link_preview_options"] == {"is_disabled": True}  # no bot card under every answer


def test_an_arabic_answer_marks_its_citation_line_right_to_left(tg: FakeTelegram) -> None:
    reply = ask(tg.private_chat(language_code="ar"), "ما المصانع التي سيزورها كيم؟")
    assert f"\n\n{RLM}¶8 · الثقة" in reply.text
    assert LINK.search(reply.html)


def test_start_with_a_payload_opens_the_paragraph_and_arrows_walk_the_article(tg: FakeTelegram, corpus: Corpus) -> None:
    user = tg.private_chat()
    opened = ask(user, f"/start {DOC}-5")
    assert opened.text == f"{corpus.passages[4].translation}\n\n¶5"
    assert LINK.findall(opened.html) == [(f"{DOC}-5", "5")]  # the same link, to share again
    assert labels(opened) == ["◀ ¶4", "¶6 ▶"]
    press_and_wait(user, opened, "¶6 ▶")
    assert opened.text == f"{corpus.passages[5].translation}\n\n¶6"
    assert LINK.findall(opened.html) == [(f"{DOC}-6", "6")]
    assert labels(opened) == ["◀ ¶5", "¶7 ▶"]
    press_and_wait(user, opened, "◀ ¶5")
    press_and_wait(user, opened, "◀ ¶4")
    assert opened.text.endswith("¶4") and labels(opened) == ["◀ ¶3", "¶5 ▶"]
    assert ask(user, "/start").text.startswith("Hello!")  # the plain greeting, without a note
    assert GONE_EN not in user.replies()[-1].text


def test_the_first_and_last_paragraphs_have_one_arrow(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    assert labels(ask(user, f"/start {DOC}-1")) == ["¶2 ▶"]
    assert labels(ask(user, f"/start {DOC}-22")) == ["◀ ¶21"]


def test_an_arabic_reader_gets_the_paragraph_and_its_neighbours_in_arabic(tg: FakeTelegram, corpus: Corpus) -> None:
    user = tg.private_chat(language_code="ar")
    opened = ask(user, f"/start {DOC}-9")
    assert opened.text == f"{corpus.passages[8].text}\n\n{RLM}¶9"
    press_and_wait(user, opened, "¶10 ▶")
    assert opened.text == f"{corpus.passages[9].text}\n\n{RLM}¶10"


@pytest.mark.parametrize(
    "payload", [f"{DOC}-23", f"{DOC}-0", "no_such_article-3", "abc", "../../etc/passwd", f"{DOC}-5 extra", "x" * 80]
)
def test_a_malformed_or_unknown_payload_gets_the_greeting_and_a_note(tg: FakeTelegram, payload: str) -> None:
    reply = ask(tg.private_chat(), f"/start {payload}")
    assert reply.text.startswith("Hello!") and "مرحبا!" in reply.text
    assert reply.text.endswith(GONE_EN)
    assert len(reply.buttons) == 3  # the example questions, as for any /start
    arabic = ask(tg.private_chat(language_code="ar"), f"/start {payload}")
    assert arabic.text.startswith("مرحبا!") and arabic.text.endswith("هذه الفقرة لم تعد متاحة.")


def test_forged_arrow_buttons_get_the_expired_notice(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    opened = ask(user, f"/start {DOC}-5")
    for data in ("p:00000000:3", "p:ABCDEF12:3", opened.buttons[0][1][:-1] + "99", opened.buttons[0][1] + "0", "p:"):
        notice = user.callback_answer(user.press(opened, data, raw=True))
        assert notice["text"] == "This button has expired. Please ask the question again."
    assert not opened.edits


# -- inline mode --------------------------------------------------------------------------------


def test_inline_results_carry_the_link(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    results = user.inline_answer(user.inline("Which factories will Kim visit?"))["results"]
    assert results
    for result in results:
        payload, number = LINK.findall(result["input_message_content"]["message_text"])[0]
        assert payload == f"{DOC}-{number}"
        assert result["url"] == f"https://t.me/summit_test_bot?start={payload}"
        assert result["input_message_content"]["link_preview_options"] == {"is_disabled": True}


# -- groups -------------------------------------------------------------------------------------


def test_a_group_answer_quotes_the_question_it_answers(tg: FakeTelegram) -> None:
    group = tg.group_chat()
    member = tg.member(group)
    mention = member.send("@summit_test_bot Where did Kim and Putin meet?")
    first = member.next_reply()
    assert (first.reply_to, first.quote) == (mention["message_id"], "Where did Kim and Putin meet?")
    asked = member.send("/ask When did the two leaders <last> meet & why?")
    second = member.next_reply()
    assert (second.reply_to, second.quote) == (asked["message_id"], "When did the two leaders <last> meet & why?")
    follow = member.send("And   what did Putin say about sanctions?", reply_to=first.message_id)
    third = member.next_reply()  # the question is read with its spaces folded: the quote is what matches
    assert (third.reply_to, third.quote) == (follow["message_id"], "And")
    private = ask(tg.private_chat(), "Where did Kim and Putin meet?")
    assert private.quote is None and private.reply_to is None


def test_a_refused_quote_falls_back_to_a_plain_reply(tg: FakeTelegram) -> None:
    member = tg.member(tg.group_chat())
    tg.faults["sendMessage"] = [error_fault(400, "Bad Request: QUOTE_TEXT_INVALID")]
    try:
        asked = member.send("@summit_test_bot Where did Kim and Putin meet?")
        reply = member.next_reply()
    finally:
        tg.faults.pop("sendMessage")
    assert (reply.reply_to, reply.quote) == (asked["message_id"], None)
    assert LINK.search(reply.html)


# -- several articles, one with long paragraphs --------------------------------------------------

LONG_DOC = "001_leeds_library"
KEY = "The renovated library now holds 120,000 books and a rooftop reading garden."
LONG_PARAGRAPH = (
    "Work on the Victorian building started two years ago, when inspectors found that the roof of the main "
    "reading room leaked and that the wiring dated from the 1950s. " + KEY + " Builders replaced the slate roof, "
    "rewired every floor and restored the painted ceiling of the reading room, which had been hidden behind "
    "plasterboard since the 1970s. The council said the works cost 14 million pounds, most of it from a national "
    "heritage fund, and that the building now uses half as much energy as before. Volunteers spent the last month "
    "carrying the collection back from a warehouse on the edge of the city, shelf by shelf."
)
LONG_ARTICLE = "\n\n".join(
    [
        "The central library of Leeds reopened on Saturday after a two-year renovation.",
        LONG_PARAGRAPH,
        "The mayor said the library would stay open until nine in the evening on weekdays.",
    ]
)
LONG_META = (
    '{"title": {"en": "Leeds central library reopens after a two-year renovation of its Victorian building"}, '
    '"date": "2026-11-01", "source": "test article"}'
)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, e5: Embedder) -> Iterator[tuple[FakeTelegram, BotProcess]]:
    """A second bot (with its own fake Telegram) over the seed article plus a short English one."""
    from embeddings.store import build_index

    root = tmp_path_factory.mktemp("library")
    seeds = root / "seeds"
    shutil.copytree(Path(__file__).resolve().parents[2] / "seeds", seeds)
    (seeds / f"{LONG_DOC}.txt").write_text(LONG_ARTICLE, encoding="utf-8")
    (seeds / f"{LONG_DOC}.meta.json").write_text(LONG_META, encoding="utf-8")
    data = root / "data"
    build_index(load_corpus(seeds), e5, data / "index")
    fake = FakeTelegram("987654321:AAE-fake_token_for_the_library_tests_0").start()
    running = start_bot(fake, data, root, SUMMIT_SEEDS_DIR=str(seeds), TELEGRAM_BOT_TOKEN=fake.token)
    try:
        yield fake, running
    finally:
        code = running.stop()
        fake.stop()
        assert code == 0, running.log()[-3000:]


def test_a_long_paragraph_shows_its_key_sentence_and_an_expandable_quote(
    library: tuple[FakeTelegram, BotProcess],
) -> None:
    fake, _ = library
    assert len(LONG_PARAGRAPH) > LONG_PARAGRAPH_CHARS
    reply = ask(fake.private_chat(), "How many books are on the shelves now, and is there a rooftop reading garden?")
    assert reply.html.startswith(f"<b>{KEY}</b>\n<blockquote expandable>Work on the Victorian building")
    assert "</blockquote>\n\n<a href=" in reply.html and KEY not in reply.html.split("<blockquote")[1]
    # With two articles loaded the citation names this one: short title and date.
    assert reply.text.endswith("¶2 · Leeds central library reopens after a…, 2026-11-01 · confidence: high")
    assert LINK.search(reply.html)[1] == f"{LONG_DOC}-2"
    # A short paragraph of the seed article is still shown whole, and names its article too.
    seed = ask(fake.private_chat(), "Which factories will Kim visit?")
    assert "blockquote" not in seed.html and seed.text.endswith(
        "¶8 · Kim Jong Un tells Putin at the…, 2023-09-13 · confidence: high"
    )
    assert not fake.errors(), [(c.method, c.error) for c in fake.errors()]
