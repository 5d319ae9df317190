"""The bot's own building blocks, in-process: callback data, state, feedback, token redaction, the fake."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from fakes.telegram_server import ApiError, FakeTelegram, check_reply_markup, check_text
from hypothesis import given
from hypothesis import strategies as st

from bot import keyboards
from bot.app import RedactToken, file_url
from bot.feedback import FeedbackStore
from bot.keyboards import Decide, More, Original, Paragraph, Show, Suggest, SummaryOf, Vote
from bot.state import StateStore, StoredHit

# -- callback data ------------------------------------------------------------------------------

numbers = st.integers(min_value=0, max_value=999_999_999)
actions = st.one_of(
    st.builds(More, numbers, numbers),
    st.builds(Original, numbers, numbers, st.sampled_from(["ar", "en"])),
    st.builds(Vote, numbers, numbers, st.sampled_from([1, -1])),
    st.builds(Suggest, st.sampled_from(["ar", "en"]), numbers),
    st.builds(Show, numbers, numbers),
    st.builds(Paragraph, st.text(alphabet="0123456789abcdef", min_size=8, max_size=8), numbers),
    st.builds(Decide, numbers, st.just("p"), numbers),
    st.builds(Decide, numbers, st.sampled_from(["n", "i"])),
    st.builds(SummaryOf, st.text(alphabet="0123456789abcdef", min_size=8, max_size=8)),
)


@given(actions)
def test_callback_data_round_trips_within_64_bytes(action: keyboards.Action) -> None:
    data = keyboards.encode(action)
    assert 1 <= len(data.encode()) <= 64
    assert keyboards.decode(data) == action


@given(st.one_of(st.text(max_size=80), st.binary(max_size=80), st.none(), st.integers()))
def test_any_callback_data_decodes_to_an_action_or_none(data: object) -> None:
    decoded = keyboards.decode(data)
    assert decoded is None or keyboards.encode(decoded) == data


def test_paragraph_callback_data_is_parsed_strictly() -> None:
    tag = keyboards.doc_tag("000_54d2f6cd4b201a0d")
    assert keyboards.decode(f"p:{tag}:3") == Paragraph(tag, 3)
    for data in (f"p:{tag}:03", f"p:{tag}:-3", f"p:{tag.upper()}:3", f"p:{tag}1:3", f"p:{tag[:7]}:3", f"p:{tag}:3:x"):
        assert keyboards.decode(data) is None, data
    assert keyboards.doc_tag("ünïcode article") == keyboards.doc_tag("ünïcode article")  # stable across restarts


def test_summary_choices_are_parsed_strictly() -> None:
    tag = keyboards.doc_tag("000_54d2f6cd4b201a0d")
    assert keyboards.decode(f"r:{tag}") == SummaryOf(tag)
    for data in (f"r:{tag.upper()}", f"r:{tag}0", f"r:{tag[:7]}", "r:", f"r:{tag}:1", f"r:{tag}\n"):
        assert keyboards.decode(data) is None, data


def test_admin_commands_have_no_callback_form() -> None:
    for data in ("reload", "/reload", "r:1", "stats", "m:1:1:reload", "m:1:1\n", " m:1:1"):
        assert keyboards.decode(data) is None


def test_gap_decisions_are_parsed_strictly() -> None:
    assert keyboards.decode("g:12:p:3") == Decide(12, "p", 3)
    assert keyboards.decode("g:12:n") == Decide(12, "n") and keyboards.decode("g:12:i") == Decide(12, "i")
    for data in ("g:12:p", "g:12:n:0", "g:12:i:3", "g:12:x", "g:012:n", "g:12:p:-1", "g:-1:n", "g:12:N", "g:12:n\n"):
        assert keyboards.decode(data) is None, data
    with pytest.raises(ValueError):
        keyboards.encode(Decide(1, "n", 5))  # a passage only goes with "this answers it"


# -- state --------------------------------------------------------------------------------------


def hit(n: int) -> StoredHit:
    return StoredHit(f"doc:{n}", {"en": f"Sentence {n}."})


def test_state_keeps_the_last_turns_per_chat_and_persists(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = StateStore(path, history_size=3)
    turns = [
        store.add_turn(1, question=f"q{i}", language="en", confidence="high", truncated=False, hits=[hit(i)])
        for i in range(5)
    ]
    store.set_language(1, "ar")
    store.set_previous(1, "q4")
    store.close()
    store = StateStore(path, history_size=3)
    assert [store.turn(1, t) is not None for t in turns] == [False, False, True, True, True]
    assert store.turn(1, turns[-1]).hits == (hit(4),)
    assert (store.language(1), store.previous(1)) == ("ar", "q4")
    store.close()


def test_state_evicts_the_least_recently_used_chats(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3", max_chats=3)
    for chat in range(1, 5):
        store.set_previous(chat, f"question of {chat}")
    assert store.chat_count() == 3
    assert store.previous(1) is None and store.previous(4) == "question of 4"
    store.close()


def test_a_corrupt_state_file_is_moved_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "state.sqlite3"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with caplog.at_level(logging.WARNING):
        store = StateStore(path)
    assert len(list(tmp_path.glob("state.sqlite3.*.bad"))) == 1  # timestamped: an older one is never overwritten
    assert re.search(r"moved it to state\.sqlite3\.\d+\.bad", caplog.text)
    store.set_language(7, "en")
    assert store.language(7) == "en"
    store.close()


# -- feedback -----------------------------------------------------------------------------------


def test_votes_upsert_and_counters(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    store.vote(5, answer="1-a", question="q", passage_id="doc:3", value=1)
    store.vote(5, answer="1-a", question="q", passage_id="doc:3", value=-1)
    store.vote(6, answer="1-a", question="q", passage_id="doc:3", value=1)
    store.count("questions", 3)
    store.count("refusals")
    stats = store.stats()
    assert (stats.questions, stats.refusals, stats.up, stats.down) == (3, 1, 1, 1)
    assert "987654321" not in store.chat_hash(987654321) and len(store.chat_hash(5)) == 64
    store.close()
    reopened = FeedbackStore(tmp_path / "feedback.sqlite3")
    assert reopened.chat_hash(5) == store.chat_hash(5)  # the salt is kept per install
    reopened.close()
    (tmp_path / "other").mkdir()
    other_install = FeedbackStore(tmp_path / "other" / "feedback.sqlite3")
    assert other_install.chat_hash(5) != store.chat_hash(5)
    other_install.close()


def test_a_corrupt_feedback_database_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    path.write_text("not a database at all, just text" * 100)
    store = FeedbackStore(path)
    assert len(list(tmp_path.glob("feedback.sqlite3.*.bad"))) == 1
    assert store.stats().questions == 0
    store.close()


# -- logging and URLs ---------------------------------------------------------------------------


def test_the_token_is_redacted_from_messages_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    token = "123456789:AAE-secret_value_that_must_never_be_logged"
    redact = RedactToken(token)
    caplog.handler.addFilter(redact)
    log = logging.getLogger("test.redact")
    try:
        with caplog.at_level(logging.DEBUG):
            log.info("POST https://api.telegram.org/bot%s/getUpdates", token)
            try:
                raise RuntimeError(f"failed: /bot{token}/sendMessage")
            except RuntimeError:
                log.exception("boom")
            log.debug("only the secret half: %s", token.split(":")[1])
    finally:
        caplog.handler.removeFilter(redact)
    assert "secret_value" not in caplog.text
    assert caplog.text.count("[TOKEN]") >= 3


def test_file_url_follows_the_base_url() -> None:
    assert file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"


# -- the fake server's own strictness -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "message text is empty"),
        ("  \n", "message text is empty"),
        ("<b> </b>", "message text is empty"),
        ("x" * 4097, "message is too long"),
        ("😀" * 2049, "message is too long"),  # 4098 UTF-16 code units
        ("<b>bold", "can't parse entities"),
        ("<b><i>x</b></i>", "can't parse entities"),
        ("<script>x</script>", "can't parse entities"),
        ("a & b", "can't parse entities"),
        ("&nbsp;", "can't parse entities"),
        ("1 < 2", "can't parse entities"),
        ('<span class="x">y</span>', "can't parse entities"),
        ('<a href="javascript:alert(1)">x</a>', "can't parse entities"),
        ('<blockquote expandable="no">x</blockquote>', "can't parse entities"),
        ("<blockquote>a<blockquote expandable>b</blockquote></blockquote>", "can't parse entities"),
    ],
)
def test_fake_rejects_what_telegram_rejects(text: str, reason: str) -> None:
    with pytest.raises(ApiError, match=reason) as error:
        check_text(text, "HTML")
    assert error.value.code == 400


def test_fake_accepts_valid_html_and_checks_callback_data() -> None:
    assert check_text("<b>a &amp; b</b> &lt;3 &#1575; <a href='https://x'>l</a>", "HTML") == "a & b <3 ا l"
    assert check_text("x" * 4096, None) == "x" * 4096
    with pytest.raises(ApiError, match="BUTTON_DATA_INVALID"):
        check_reply_markup({"inline_keyboard": [[{"text": "b", "callback_data": "x" * 65}]]})
    with pytest.raises(ApiError, match="BUTTON_DATA_INVALID"):
        check_reply_markup({"inline_keyboard": [[{"text": "b", "callback_data": ""}]]})


def test_fake_checks_quotes_as_telegram_does() -> None:
    fake = FakeTelegram("1:x")
    group = fake.group_chat()
    user = fake.member(group).user
    plain = fake.message_payload(group, user, text="@bot Where did Kim & Putin meet?")
    styled = fake.message_payload(group, user, text="Where did they meet?")
    styled["entities"] = [{"type": "bold", "offset": 6, "length": 3}]
    check = fake._check_quote
    assert check(group["id"], plain["message_id"], "Where did Kim & Putin", None) == "Where did Kim & Putin"
    assert check(group["id"], plain["message_id"], "Kim &amp; Putin", "HTML") == "Kim & Putin"
    assert check(group["id"], styled["message_id"], "they meet?", None) == "they meet?"  # clear of the bold
    for message, quote in [
        (plain, "Where did Kim and Putin"),  # not verbatim
        (plain, " "),
        (plain, "x" * 1025),
        (styled, "Where did"),  # overlaps the bold word: the quote would have to repeat it
    ]:
        with pytest.raises(ApiError, match="QUOTE_TEXT_INVALID"):
            check(group["id"], message["message_id"], quote, None)


def test_an_answer_from_an_article_without_translation_has_no_language_button() -> None:
    labels = lambda markup: [b.text for row in markup.inline_keyboard for b in row]  # noqa: E731
    both = keyboards.answer_keyboard(1, 0, "en", original_language="ar", has_more=True)
    alone = keyboards.answer_keyboard(1, 0, "en", original_language="en", has_more=True, languages={"en"})
    assert labels(both) == ["More", "Original", "👍", "👎"]
    assert labels(alone) == ["More", "👍", "👎"]
