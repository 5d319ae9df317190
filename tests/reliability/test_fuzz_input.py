"""Anything a user can send, fuzzed with hypothesis against the running bot.

Texts mix RTL marks, zero-width joiners, emoji, control characters, lone
surrogates (JSON can carry them as escapes, so a client could send them),
HTML-like and Markdown-like markup and 4096-character messages. Every message
must get a reply the strict fake server accepts (checked by the ``tg`` fixture),
and the bot's error handler must never be reached.
"""

from __future__ import annotations

from fakes.bot_process import BotProcess, LogWatch
from fakes.telegram_server import FakeTelegram
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
# Texts cost up to a second each (a 4096-character question is embedded on one busy core).
FUZZ_TEXT = settings(FUZZ, max_examples=25)
SPECIAL = [
    "\u200f",  # RTL mark
    "\u200e",  # LTR mark
    "\u202e",  # RTL override
    "\u200d",  # zero-width joiner
    "\u200b",  # zero-width space
    "\ufeff",  # BOM
    "👨‍👩‍👧",
    "🇰🇵",
    "🏳️‍🌈",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\r\n",
    "\t",
    "\ud800",  # lone surrogates
    "\udfff",
    "<b>",
    "</b>",
    "<i>x</i>",
    "<script>alert(1)</script>",
    "&amp;",
    "&",
    "&#0;",
    "<a href='javascript:x'>",
    "<!--",
    "]]>",
    "*bold*",
    "_it_",
    "`code`",
    "```",
    "[link](http://x)",
    "||spoiler||",
    "\\",
    "@summit_test_bot",
    "/start",
    "/ask",
    "¶",
    "كيم",
    "بوتين",
    "Putin",
    "meet",
]
pieces = st.one_of(st.sampled_from(SPECIAL), st.text(min_size=1, max_size=12), st.characters(codec=None))
messages = st.one_of(
    st.lists(pieces, min_size=1, max_size=30).map("".join),
    st.lists(pieces, min_size=1, max_size=30).map("".join),  # twice as likely as the slow full-length texts
    st.lists(pieces, min_size=1, max_size=8).map(lambda p: ("".join(p) * 4096)[:4096]),
).filter(lambda text: text.strip() != "")


@given(text=messages)
@FUZZ_TEXT
def test_any_text_gets_one_accepted_reply(tg: FakeTelegram, rbot: BotProcess, text: str) -> None:
    watch = LogWatch(rbot)  # per example: function fixtures are shared by all examples
    user = tg.private_chat()
    user.send(text)
    reply = user.next_reply(timeout=30)
    assert reply.text.strip()
    watch.assert_no_traceback()


callback_data = st.one_of(
    st.text(min_size=1, max_size=64).filter(lambda d: len(d.encode("utf-8", "surrogatepass")) <= 64),
    st.from_regex(r"[movsx]:-?[0-9]{0,12}:[0-9a-z]{0,4}(:[a-z]{0,3})?", fullmatch=True),
    st.sampled_from(["reload", "/reload", "r", "m:1:0;reload", "s:en:0\x00", "v:1:0:u\n", "o:1:0:ar ", "\ud800"]),
)


@given(data=callback_data)
@FUZZ
def test_any_callback_data_gets_an_answer_and_never_reloads(tg: FakeTelegram, rbot: BotProcess, data: str) -> None:
    watch = LogWatch(rbot)
    user = tg.private_chat()
    user.send("Where did Kim and Putin meet?")
    answer = user.next_reply(timeout=30)
    user.callback_answer(user.press(answer, data, raw=True), timeout=30)
    watch.assert_no_traceback()
    assert "reloaded" not in watch.text() and "building index" not in watch.text()
