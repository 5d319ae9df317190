"""Sending replies: HTML split under Telegram's limit, button answers, "typing…", and clean user text."""

from __future__ import annotations

import re
from collections.abc import Sequence

from telegram import InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.constants import ChatAction, ParseMode
from telegram.ext import ContextTypes

from .. import delivery
from ..replies import Segment, split_segments, to_html

_SURROGATE = re.compile("[\ud800-\udfff]")


def reply_parameters(message_id: int | None) -> ReplyParameters | None:
    """A reply that points at the message without quoting its text (None: not a reply)."""
    return ReplyParameters(message_id, allow_sending_without_reply=True) if message_id else None


async def send_segments(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    segments: Sequence[Segment],
    *,
    markup: InlineKeyboardMarkup | None = None,
    reply_to: int | None = None,
) -> Message:
    """Send segments as HTML, split under Telegram's limit; buttons go on the last part."""
    parts = split_segments(segments)
    sent: Message | None = None
    for number, part in enumerate(parts):
        last = number == len(parts) - 1
        sent = await delivery.deliver(
            lambda part=part, last=last, number=number: context.bot.send_message(
                chat_id,
                to_html(part),
                parse_mode=ParseMode.HTML,
                reply_markup=markup if last else None,
                reply_parameters=reply_parameters(reply_to) if number == 0 else None,
            ),
            what="sendMessage",
            keep_going=lambda: context.application.running,
        )
    if sent is None:  # split_segments dropped everything: never send an empty message
        raise ValueError("nothing to send")
    return sent


async def send_text(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    text: str,
    *,
    markup: InlineKeyboardMarkup | None = None,
    reply_to: int | None = None,
) -> Message:
    """Send a fixed string (escaped, so it is safe whatever it contains)."""
    return await send_segments(context, chat_id, [(text, False)], markup=markup, reply_to=reply_to)


async def answer_query(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str | None = None) -> None:
    """Answer the button press (a notice, or nothing to stop the client's spinner), retrying briefly."""
    query = update.callback_query
    if query is not None:
        await delivery.deliver(
            lambda: query.answer(text),
            what="answerCallbackQuery",
            policy=delivery.QUICK,
            keep_going=lambda: context.application.running,
        )


async def typing(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
    """Show "typing…": cosmetic, so a failure must not cost the answer."""
    await delivery.best_effort(lambda: context.bot.send_chat_action(chat_id, ChatAction.TYPING), what="sendChatAction")


def clean_text(text: str) -> str:
    """User text made encodable: lone surrogates (valid in JSON, not in UTF-8) become U+FFFD.

    Without this the embedder, SQLite and the reply itself fail on such a character.
    """
    return _SURROGATE.sub("\ufffd", text)
