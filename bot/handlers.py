"""Telegram update handlers: commands, questions, buttons, inline queries, everything else.

Every reply is built from segments or strings passed through HTML escaping, so
nothing a user types can change the markup. Retrieval runs in a worker thread
(``asyncio.to_thread``) so one slow question does not hold up other chats.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from telegram import (
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from embeddings.corpus import example_questions
from embeddings.retriever import Answer, Hit, RetrievalError, Retriever

from . import delivery, keyboards
from .conversation import ANSWER_DEPTH, Conversation
from .feedback import FeedbackStore
from .keyboards import More, Original, Suggest, Vote
from .messages import LANGUAGE_NAMES, UNSUPPORTED_CONTENT, t
from .replies import Segment, answer_segments, refusal_segments, split_segments, to_html
from .settings import Settings
from .state import StateStore, StoredHit, Turn

log = logging.getLogger(__name__)

SERVICES_KEY = "services"
RATE_WINDOW = 60.0  # seconds; settings.rate_limit is questions per this window
INLINE_RESULTS = 3
SUGGESTIONS = 3


# -- shared services ----------------------------------------------------------------------------


class RateLimiter:
    """Sliding-window limit of questions per user; says when to tell the user (once per window)."""

    def __init__(self, per_window: int, window: float = RATE_WINDOW, clock: Callable[[], float] = time.monotonic):
        self.per_window = per_window
        self.window = window
        self.clock = clock
        self._hits: dict[int, deque[float]] = {}
        self._told_until: dict[int, float] = {}

    def hit(self, key: int) -> tuple[float, bool]:
        """(seconds to wait, whether to say so); (0, False) means go ahead, and counts the question."""
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) < self.per_window:
            hits.append(now)
            self._prune(now)
            return 0.0, False
        wait = hits[0] + self.window - now
        tell = self._told_until.get(key, 0.0) <= now
        if tell:
            # One notice per window: a flood of messages must not become a flood of replies.
            self._told_until[key] = now + wait
        return max(wait, 1.0), tell

    def _prune(self, now: float) -> None:
        if len(self._hits) < 10_000:
            return
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]
            self._told_until.pop(key, None)


class KeyedLocks:
    """One asyncio lock per chat, dropped when unused, so a chat's questions are answered in order."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


@dataclass
class Services:
    """Everything handlers share; lives in ``application.bot_data``."""

    settings: Settings
    retriever: Retriever  # swapped whole by /reload; handlers read it once per update
    state: StateStore
    feedback: FeedbackStore
    limiter: RateLimiter
    locks: KeyedLocks = field(default_factory=KeyedLocks)
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def is_admin(self, update: Update) -> bool:
        user = update.effective_user
        return user is not None and user.id in self.settings.admin_ids


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data[SERVICES_KEY]


# -- helpers ------------------------------------------------------------------------------------


def chat_language(update: Update, svc: Services) -> str:
    """The language for messages that are not answers: /lang preference, else the user's app language."""
    chat = update.effective_chat
    preferred = svc.state.language(chat.id) if chat else None
    if preferred:
        return preferred
    user = update.effective_user
    return "ar" if user and (user.language_code or "").lower().startswith("ar") else "en"


def _reply_parameters(message_id: int | None) -> ReplyParameters | None:
    # A reply points at the message without quoting its text.
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
                reply_parameters=_reply_parameters(reply_to) if number == 0 else None,
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


def _group_reply_to(update: Update) -> int | None:
    """In groups an answer replies to the asker's message so it is clear whom it answers."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None or chat.type == ChatType.PRIVATE:
        return None
    return message.message_id


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """User text made encodable: lone surrogates (valid in JSON, not in UTF-8) become U+FFFD.

    Without this the embedder, SQLite and the reply itself fail on such a character.
    """
    return _SURROGATE.sub("\ufffd", text)


def answer_id(turn: Turn) -> str:
    """Identifies one answer for votes: the turn number alone repeats if state is ever reset."""
    return f"{turn.turn}-{hashlib.sha256(turn.question.encode()).hexdigest()[:10]}"


def _hit_of(turn: Turn, index: int, retriever: Retriever) -> Hit | None:
    if not 0 <= index < len(turn.hits):
        return None
    stored = turn.hits[index]
    passage = retriever.corpus.passage(stored.passage_id)
    if passage is None or not stored.highlights:  # the corpus changed under an old button
        return None
    return Hit(passage=passage, score=0.0, dense=0.0, lexical=0.0, highlights=stored.highlights)


def render_turn(turn: Turn, index: int, language: str, retriever: Retriever) -> tuple[list[Segment], Hit] | None:
    """Segments for passage ``index`` of a stored answer in ``language``, or None if it is gone."""
    hit = _hit_of(turn, index, retriever)
    if hit is None:
        return None
    answer = Answer(
        question=turn.question,
        language=turn.language,  # type: ignore[arg-type]
        answered=True,
        confidence=turn.confidence,
        hits=(hit,),
    )
    # The confidence word describes the best passage only, not the ones after it.
    return answer_segments(answer, hit, retriever.corpus, language, confidence=index == 0), hit


def _keyboard(turn: Turn, index: int, language: str, hit: Hit) -> InlineKeyboardMarkup:
    return keyboards.answer_keyboard(
        turn.turn, index, language, original_language=hit.passage.language, has_more=index + 1 < len(turn.hits)
    )


def _suggestions(retriever: Retriever, language: str) -> list[tuple[int, str]]:
    return list(enumerate(example_questions(retriever.corpus, language)))[:SUGGESTIONS]


# -- questions ----------------------------------------------------------------------------------


async def answer_question(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: str, *, reply_to: int | None = None
) -> None:
    """Rate-limit, retrieve off the event loop, and reply with the answer or a refusal."""
    svc = services(context)
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return
    question = clean_text(question)
    if not question.strip():
        await send_text(context, chat.id, t(chat_language(update, svc), "empty"), reply_to=reply_to)
        return
    wait, tell = svc.limiter.hit(user.id if user else chat.id)
    if wait:
        if tell:
            seconds = math.ceil(wait)
            await send_text(context, chat.id, t(chat_language(update, svc), "rate_limited", seconds=seconds))
        return
    await typing(context, chat.id)
    async with svc.locks.hold(chat.id):  # follow-ups must see the previous question's state
        retriever = svc.retriever
        conversation = Conversation(previous=svc.state.previous(chat.id))
        try:
            answer = await asyncio.to_thread(conversation.ask, retriever, question)
        except RetrievalError:
            await send_text(context, chat.id, t(chat_language(update, svc), "empty"), reply_to=reply_to)
            return
        svc.state.set_previous(chat.id, conversation.previous)
        language = svc.state.language(chat.id) or answer.language
        svc.feedback.count("questions")
        if not answer.answered or not answer.hits:
            svc.feedback.count("refusals")
            markup = keyboards.suggestion_keyboard(_suggestions(retriever, language), language)
            await send_segments(context, chat.id, refusal_segments(language), markup=markup, reply_to=reply_to)
            return
        hits = answer.hits[:ANSWER_DEPTH]
        number = svc.state.add_turn(
            chat.id,
            question=answer.question,
            language=language,
            confidence=answer.confidence,
            truncated=answer.truncated,
            hits=[StoredHit(h.passage.id, dict(h.highlights)) for h in hits],
        )
    best = hits[0]
    segments = answer_segments(answer, best, retriever.corpus, language)
    markup = keyboards.answer_keyboard(
        number, 0, language, original_language=best.passage.language, has_more=len(hits) > 1
    )
    await send_segments(context, chat.id, segments, markup=markup, reply_to=reply_to)


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
    await answer_question(update, context, question, reply_to=reply_to)


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask QUESTION: the way to ask in groups (works everywhere)."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    parts = message.text.split(maxsplit=1)
    question = parts[1] if len(parts) > 1 else ""
    reply_to = _group_reply_to(update) or (message.message_id if update.edited_message else None)
    await answer_question(update, context, question, reply_to=reply_to)


# -- commands -----------------------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: a greeting in both languages and three example questions as buttons."""
    svc = services(context)
    chat = update.effective_chat
    if chat is None:
        return
    first = chat_language(update, svc)
    second = keyboards.other_language(first)
    doc = svc.retriever.corpus.documents[0]
    greeting = f"{t(first, 'greeting', title=doc.title(first))}\n\n{t(second, 'greeting', title=doc.title(second))}"
    markup = keyboards.suggestion_keyboard(_suggestions(svc.retriever, first), first)
    await send_text(context, chat.id, greeting, markup=markup, reply_to=_group_reply_to(update))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: what the bot does and its commands."""
    chat = update.effective_chat
    if chat is not None:
        await send_text(context, chat.id, t(chat_language(update, services(context)), "help"))


async def about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/about: the source article, its size, languages and the embedding model."""
    svc = services(context)
    chat = update.effective_chat
    if chat is None:
        return
    language = chat_language(update, svc)
    corpus = svc.retriever.corpus
    names = LANGUAGE_NAMES[language]
    text = "\n\n".join(
        t(
            language,
            "about",
            title=doc.title(language),
            source=doc.source,
            paragraphs=doc.paragraph_count,
            languages=", ".join(names.get(code, code) for code in sorted(corpus.languages)),
            model=svc.retriever.index.manifest.model_id,
        )
        for doc in corpus.documents
    )
    await send_text(context, chat.id, text)


async def lang(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/lang ar|en|auto: the chat's reply language."""
    svc = services(context)
    chat = update.effective_chat
    if chat is None:
        return
    choice = context.args[0].lower() if context.args else ""
    if choice in keyboards.LANGUAGES:
        svc.state.set_language(chat.id, choice)
        text = t(choice, "lang_set", value=LANGUAGE_NAMES[choice][choice])
    elif choice == "auto":
        svc.state.set_language(chat.id, None)
        language = chat_language(update, svc)
        text = t(language, "lang_set", value=t(language, "auto"))
    else:
        text = t(chat_language(update, svc), "lang_usage")
    await send_text(context, chat.id, text)


async def admin_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[Services, int, str] | None:
    """(services, chat id, reply language) when an admin sent this update; otherwise refuse politely.

    Checked on every admin command: ADMIN_IDS is the only source of truth.
    """
    svc = services(context)
    chat = update.effective_chat
    if chat is None:
        return None
    language = chat_language(update, svc)
    if not svc.is_admin(update):
        await send_text(context, chat.id, t(language, "not_admin"))
        return None
    return svc, chat.id, language


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats (admins): questions, refusals and votes."""
    admin = await admin_chat(update, context)
    if admin is None:
        return
    svc, chat_id, language = admin
    s = svc.feedback.stats()
    await send_text(
        context, chat_id, t(language, "stats", questions=s.questions, refusals=s.refusals, up=s.up, down=s.down)
    )


async def reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reload (admins): re-read seeds/, rebuild the index if it changed, swap the retriever."""
    from .cli import CommandError, open_retriever

    admin = await admin_chat(update, context)
    if admin is None:
        return
    svc, chat_id, language = admin
    async with svc.reload_lock:  # two admins pressing at once must not build the index twice in parallel
        await typing(context, chat_id)
        try:
            # The loaded model is reused: /reload re-reads seeds/ and the index, not the weights.
            embedder = svc.retriever.embedder
            retriever = await asyncio.to_thread(open_retriever, svc.settings, repair=True, embedder=embedder)
        except CommandError as exc:
            log.warning("reload failed: %s", exc)
            await send_text(context, chat_id, t(language, "reload_failed", reason=str(exc)))
            return
        svc.retriever = retriever  # one assignment: in-flight questions finish on the old one
    log.info("reloaded: %d passages", len(retriever.corpus.passages))
    await send_text(
        context,
        chat_id,
        t(language, "reloaded", documents=len(retriever.corpus.documents), passages=len(retriever.corpus.passages)),
    )


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command the bot does not have: point to /help (in groups only if it was addressed to us)."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or message.text is None:
        return
    command = message.text.split(maxsplit=1)[0]
    _, _, target = command.partition("@")
    if chat.type != ChatType.PRIVATE and target.lower() != (context.bot.username or "").lower():
        return  # meant for another bot, or for nobody in particular
    await send_text(context, chat.id, t(chat_language(update, services(context)), "unknown_command"))


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice, documents, locations…: ask for text, in both languages."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    if chat.type != ChatType.PRIVATE:
        replied = message.reply_to_message
        if not (replied and replied.from_user and replied.from_user.id == context.bot.id):
            return
    await send_text(context, chat.id, UNSUPPORTED_CONTENT, reply_to=_group_reply_to(update))


# -- buttons ------------------------------------------------------------------------------------


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """More / Original / 👍 / 👎 / suggested question; anything unrecognised is "expired"."""
    query = update.callback_query
    if query is None:
        return
    svc = services(context)
    chat = update.effective_chat
    action = keyboards.decode(query.data)
    if action is None or chat is None or query.message is None:
        log.info("ignored unrecognised callback data")
        await answer_query(update, context, t(chat_language(update, svc), "stale"))
        return
    if isinstance(action, Suggest):
        questions = example_questions(svc.retriever.corpus, action.language)
        if action.number >= len(questions):
            await answer_query(update, context, t(chat_language(update, svc), "stale"))
            return
        await answer_query(update, context)
        await answer_question(update, context, questions[action.number], reply_to=_group_reply_to(update))
        return

    turn = svc.state.turn(chat.id, action.turn)
    rendered = None
    if turn is not None:
        index = action.index + 1 if isinstance(action, More) else action.index
        if isinstance(action, More) and index >= len(turn.hits):
            await answer_query(update, context, t(turn.language, "no_more"))
            return
        language = action.language if isinstance(action, Original) else turn.language
        rendered = render_turn(turn, index, language, svc.retriever)
    if turn is None or rendered is None:
        await answer_query(update, context, t(chat_language(update, svc), "stale"))
        return
    segments, hit = rendered

    if isinstance(action, Vote):
        svc.feedback.vote(
            chat.id, answer=answer_id(turn), question=turn.question, passage_id=hit.passage.id, value=action.value
        )
        await answer_query(update, context, t(turn.language, "vote_thanks"))
        return
    await answer_query(update, context)
    markup = _keyboard(turn, index, language, hit)
    if isinstance(action, More):
        svc.state.mark_shown(chat.id, turn.turn, index)
        await send_segments(context, chat.id, segments, markup=markup, reply_to=query.message.message_id)
        return
    # Original: the same passage in the other language, in place when it fits one message.
    parts = split_segments(segments)
    if len(parts) == 1 and isinstance(query.message, Message):
        try:
            message = query.message
            await delivery.deliver(
                lambda: message.edit_text(to_html(parts[0]), parse_mode=ParseMode.HTML, reply_markup=markup),
                what="editMessageText",
                keep_going=lambda: context.application.running,
            )
            return
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return
            log.info("could not edit the answer (%s); sending the translation instead", exc.message)
    await send_segments(context, chat.id, segments, markup=markup, reply_to=query.message.message_id)


# -- inline mode --------------------------------------------------------------------------------


async def on_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``@bot question`` in any chat: up to three passages as articles to send."""
    query = update.inline_query
    if query is None:
        return
    svc = services(context)
    text = clean_text(query.query).strip()
    retriever = svc.retriever
    results: list[InlineQueryResultArticle] = []
    if text:
        try:
            answer = await asyncio.to_thread(retriever.ask, text, k=INLINE_RESULTS)
        except RetrievalError:
            answer = None
        if answer is not None and answer.answered:
            # The asker's /lang from their private chat with the bot (same id as the user).
            language = svc.state.language(query.from_user.id) or answer.language
            for rank, hit in enumerate(answer.hits[:INLINE_RESULTS]):
                segments = answer_segments(answer, hit, retriever.corpus, language, confidence=rank == 0)
                highlight = hit.highlight(language)
                results.append(
                    InlineQueryResultArticle(
                        id=f"{hit.passage.id}:{language}"[-64:],
                        title=f"¶{hit.passage.paragraph} · {highlight[:60]}",
                        description=hit.passage.text_in(language)[:120],
                        input_message_content=InputTextMessageContent(
                            to_html(split_segments(segments)[0]), parse_mode=ParseMode.HTML
                        ),
                    )
                )
    await delivery.deliver(
        lambda: query.answer(results, cache_time=300, is_personal=True),
        what="answerInlineQuery",
        policy=delivery.QUICK,
        keep_going=lambda: context.application.running,
    )


# -- errors -------------------------------------------------------------------------------------


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the traceback (the token filter scrubs it) and tell the user something went wrong."""
    if update is None and context.error is not None and delivery.is_transient(context.error):
        # Polling trouble (Telegram down, slow or rate-limiting): PTB keeps retrying with backoff.
        log.warning("getUpdates failed (%s); polling again", context.error)
        return
    update_id = update.update_id if isinstance(update, Update) else None
    if context.error is not None and delivery.is_transient(context.error):
        # bot.delivery already retried and gave up (long outage, or shutting down): say so, once.
        log.error("update %s: Telegram unreachable, the reply was not delivered (%s)", update_id, context.error)
        return
    log.error("error while handling update %s", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        svc = services(context)
        if update.callback_query is not None:
            await answer_query(update, context, t(chat_language(update, svc), "error"))
        else:
            await send_text(context, update.effective_chat.id, t(chat_language(update, svc), "error"))
    except (TelegramError, RuntimeError) as exc:  # the error may be that we cannot reach the chat
        log.warning("could not tell the user about the error: %s", exc)
