"""Everyday commands (/start, /help, /summary, /about, /lang), unknown commands, and content that is not text."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from .. import keyboards
from ..messages import LANGUAGE_NAMES, UNSUPPORTED_CONTENT, other_language, t
from ..replies import passage_for_payload
from ..services import services
from .articles import summary_choices
from .common import chat_language, group_reply_to
from .paragraphs import open_paragraph
from .sending import send_segments, send_text


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: a greeting in both languages and three example questions as buttons.

    ``/start <doc>-<paragraph>`` (a deep link from a citation) opens that paragraph instead; a
    payload that is malformed or names a paragraph that is gone gets the greeting and a short note.
    """
    svc = services(context)
    chat = update.effective_chat
    if chat is None:
        return
    first = chat_language(update, svc)
    note = ""
    if context.args:
        passage = passage_for_payload(svc.retriever.corpus, " ".join(context.args))
        if passage is not None:
            await open_paragraph(update, context, passage)
            return
        note = f"\n\n{t(first, 'paragraph_gone')}"
    second = other_language(first)
    doc = svc.retriever.corpus.documents[0]
    greeting = f"{t(first, 'greeting', title=doc.title(first))}\n\n{t(second, 'greeting', title=doc.title(second))}"
    suggested = [(b.index, b.label) for b in svc.dialogue().suggestions(first)]
    markup = keyboards.suggestion_keyboard(suggested, first)
    await send_text(context, chat.id, greeting + note, markup=markup, reply_to=group_reply_to(update))


async def summary_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/summary: the article's title, dateline and key sentences, each with its ¶N; with several
    articles, first a button per article."""
    svc = services(context)
    chat = update.effective_chat
    if chat is None:
        return
    language = chat_language(update, svc)
    if len(svc.retriever.corpus.documents) > 1:  # several articles: which one?
        markup = summary_choices(svc, language)
        await send_text(context, chat.id, t(language, "summary_which"), markup=markup, reply_to=group_reply_to(update))
        return
    reply = await asyncio.to_thread(svc.dialogue().summary, language)
    await send_segments(context, chat.id, reply.segments, reply_to=group_reply_to(update))


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
            source=doc.source_in(language),
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
    await send_text(context, chat.id, UNSUPPORTED_CONTENT, reply_to=group_reply_to(update))
