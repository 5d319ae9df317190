"""Sending replies: HTML split under Telegram's limit, button answers, "typing…", and clean user text."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence

from telegram import InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from .. import delivery
from ..replies import Segment, SegmentLike, for_telegram, split_segments, to_html

log = logging.getLogger(__name__)

_SURROGATE = re.compile("[\ud800-\udfff]")


def reply_parameters(message_id: int | None, quote: str | None = None) -> ReplyParameters | None:
    """A reply that points at the message, quoting ``quote`` of it if given (None: not a reply).

    The quote goes as escaped HTML with its parse mode said explicitly: otherwise the bot's
    default parse mode (HTML) would apply to it and a "<" in the question would break it.
    """
    if not message_id:
        return None
    if not quote:
        return ReplyParameters(message_id, allow_sending_without_reply=True)
    return ReplyParameters(
        message_id, quote=html.escape(quote), quote_parse_mode=ParseMode.HTML, allow_sending_without_reply=True
    )


def bot_username(context: ContextTypes.DEFAULT_TYPE) -> str | None:
    """The bot's @username, for deep links (None before the bot knows who it is)."""
    try:
        return context.bot.username or None
    except RuntimeError:  # the Bot was never initialised
        return None


def telegram_html(context: ContextTypes.DEFAULT_TYPE, segments: Sequence[SegmentLike]) -> list[list[Segment]]:
    """Segments as Telegram messages: citations linked, right-to-left lines marked, split under the limit."""
    return split_segments(for_telegram(segments, bot_username(context)))


async def _send_part(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    part: list[Segment],
    markup: InlineKeyboardMarkup | None,
    reply: ReplyParameters | None,
) -> Message:
    return await delivery.deliver(
        lambda: context.bot.send_message(
            chat_id, to_html(part), parse_mode=ParseMode.HTML, reply_markup=markup, reply_parameters=reply
        ),
        what="sendMessage",
        keep_going=lambda: context.application.running,
    )


async def send_segments(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    segments: Sequence[SegmentLike],
    *,
    markup: InlineKeyboardMarkup | None = None,
    reply_to: int | None = None,
    quote: str | None = None,
) -> Message:
    """Send segments as HTML, split under Telegram's limit; buttons go on the last part.

    The first part replies to ``reply_to``, quoting ``quote`` of it; should Telegram refuse the
    quote, it is sent as a plain reply instead.
    """
    parts = telegram_html(context, segments)
    sent: Message | None = None
    for number, part in enumerate(parts):
        keyboard = markup if number == len(parts) - 1 else None
        reply = reply_parameters(reply_to, quote) if number == 0 else None
        try:
            sent = await _send_part(context, chat_id, part, keyboard, reply)
        except BadRequest as exc:
            if not (reply is not None and reply.quote and "quote" in exc.message.lower()):
                raise
            log.info("Telegram refused the quote (%s); replying without it", exc.message)
            sent = await _send_part(context, chat_id, part, keyboard, reply_parameters(reply_to))
    if sent is None:  # split_segments dropped everything: never send an empty message
        raise ValueError("nothing to send")
    return sent


async def edit_or_send(
    context: ContextTypes.DEFAULT_TYPE,
    message: Message,
    segments: Sequence[SegmentLike],
    *,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Show ``segments`` in place of ``message`` (a bot message with buttons) when they fit one
    message; otherwise, or when Telegram refuses the edit, send them as a reply to it."""
    parts = telegram_html(context, segments)
    if len(parts) == 1:
        try:
            await delivery.deliver(
                lambda: message.edit_text(to_html(parts[0]), parse_mode=ParseMode.HTML, reply_markup=markup),
                what="editMessageText",
                keep_going=lambda: context.application.running,
            )
            return
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return
            log.info("could not edit the message (%s); sending a new one instead", exc.message)
    await send_segments(context, message.chat_id, segments, markup=markup, reply_to=message.message_id)


async def send_text(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    text: str,
    *,
    markup: InlineKeyboardMarkup | None = None,
    reply_to: int | None = None,
) -> Message:
    """Send a fixed string (escaped, so it is safe whatever it contains)."""
    return await send_segments(context, chat_id, [Segment(text)], markup=markup, reply_to=reply_to)


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
