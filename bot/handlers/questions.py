"""Questions: private messages, group messages addressed to the bot, and /ask."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time

from telegram import InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from embeddings.retriever import RetrievalError

from .. import keyboards, metrics
from ..dialogue import ANSWER_DEPTH, DialogueState, Reply
from ..messages import t
from ..services import Services, services
from ..state import StoredHit
from .common import chat_language, group_quote, group_reply_to
from .gaps import record_reply
from .sending import clean_text, send_segments, send_text, typing


def reply_markup(reply: Reply, turn: int | None) -> InlineKeyboardMarkup | None:
    """The reply's buttons as an inline keyboard; answers get More / Original / votes too."""
    suggestions = [(b.index, b.label) for b in reply.buttons if b.action == "suggest"]
    if reply.answer is None or turn is None or reply.kind != "answer":
        return keyboards.suggestion_keyboard(suggestions, reply.language) if suggestions else None
    best = reply.answer.hits[0]
    return keyboards.answer_keyboard(
        turn,
        0,
        reply.language,
        original_language=best.passage.language,
        has_more=len(reply.answer.hits) > 1,
        alternatives=[(b.index, b.label) for b in reply.buttons if b.action == "alternative"],
        languages=best.passage.views().keys(),
    )


def _respond(svc: Services, chat_id: int, question: str) -> tuple[Reply, int | None]:
    """Run the conversation engine for one message and keep what the chat's next message needs.

    Runs in a worker thread under the chat's lock: state is read and written around the reply.
    """
    state = DialogueState.loads(svc.state.previous(chat_id))
    started = time.perf_counter()
    reply, after = svc.dialogue().respond(state, question, language=svc.state.language(chat_id), depth=ANSWER_DEPTH)
    metrics.observe_reply(reply.kind, reply.reason, time.perf_counter() - started)
    svc.state.set_previous(chat_id, after.dumps())
    if reply.intent != "question" or reply.answer is None:
        return reply, None
    svc.feedback.count("questions")
    record_reply(svc, chat_id, reply.answer, reply.kind, reply.text)  # refused or medium: a knowledge gap
    if reply.kind != "answer":
        svc.feedback.count("refusals")
        return reply, None
    hits = reply.answer.hits[:ANSWER_DEPTH]
    turn = svc.state.add_turn(
        chat_id,
        question=reply.answer.question,
        language=reply.language,
        confidence=reply.answer.confidence,
        truncated=reply.answer.truncated,
        hits=[StoredHit(h.passage.id, dict(h.highlights)) for h in hits],
    )
    return reply, turn


async def answer_question(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    question: str,
    *,
    reply_to: int | None = None,
    quote: str | None = None,
) -> None:
    """Rate-limit, run the conversation engine off the event loop, and render its reply
    (replying to ``reply_to``, quoting ``quote`` of it, when given)."""
    svc = services(context)
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return
    question = clean_text(question)
    if not question.strip():
        await send_text(context, chat.id, t(chat_language(update, svc), "empty"), reply_to=reply_to)
        return
    wait, tell = await svc.limiter.hit(user.id if user else chat.id)
    if wait:
        if tell:
            seconds = math.ceil(wait)
            await send_text(context, chat.id, t(chat_language(update, svc), "rate_limited", seconds=seconds))
        return
    # "typing…" costs an API call, half the budget when answers are fast: only for a slow answer.
    slow = asyncio.create_task(_typing_after(context, svc, chat.id))
    svc.answering += 1
    try:
        async with svc.locks.hold(chat.id):  # follow-ups must see the previous question's state
            reply, turn = await asyncio.to_thread(_respond, svc, chat.id, question)
    except RetrievalError:
        await send_text(context, chat.id, t(chat_language(update, svc), "empty"), reply_to=reply_to)
        return
    finally:
        svc.answering -= 1
        slow.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await slow
    await send_segments(
        context, chat.id, reply.segments, markup=reply_markup(reply, turn), reply_to=reply_to, quote=quote
    )


# Questions in hand above which "typing…" is skipped: a queue that long is a burst, where every
# API call is one answer fewer per second (Telegram's ~30 messages/s), and the answers are coming.
TYPING_BUSY = 4


async def _typing_after(context: ContextTypes.DEFAULT_TYPE, svc: Services, chat_id: int) -> None:
    await asyncio.sleep(svc.settings.typing_after)
    if svc.answering <= TYPING_BUSY:
        await typing(context, chat_id)


def addressed_question(message: Message, bot_id: int, username: str) -> str | None:
    """A group message's question if it mentions or replies to the bot, else None (not for us)."""
    text = message.text or ""
    mentions = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
    ours = [
        (entity, value)
        for entity, value in mentions.items()
        if (entity.type == MessageEntity.MENTION and value.lower() == f"@{username}".lower())
        or (entity.user is not None and entity.user.id == bot_id)
    ]
    replied = message.reply_to_message
    if not ours and not (replied and replied.from_user and replied.from_user.id == bot_id):
        return None
    if ours and not any(e.type == MessageEntity.TEXT_MENTION for e, _ in ours):
        for _, value in ours:
            text = text.replace(value, " ")
    return " ".join(text.split())


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text message (new or edited): a question in private chats, in groups only when addressed."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or message.text is None:
        return
    edited = update.edited_message is not None
    if chat.type == ChatType.PRIVATE:
        question: str | None = message.text
        # An edited question gets a reply pointing at it, so the new answer is not taken for the old one.
        reply_to = message.message_id if edited else None
    else:
        question = addressed_question(message, context.bot.id, context.bot.username)
        reply_to = message.message_id
        if question is None:
            return
    # In groups the answer quotes the question it answers.
    await answer_question(update, context, question, reply_to=reply_to, quote=group_quote(update, question))


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask QUESTION: the way to ask in groups (works everywhere)."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    parts = message.text.split(maxsplit=1)
    question = parts[1] if len(parts) > 1 else ""
    reply_to = group_reply_to(update) or (message.message_id if update.edited_message else None)
    await answer_question(update, context, question, reply_to=reply_to, quote=group_quote(update, question))
