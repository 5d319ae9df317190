"""Articles from the chat (admins): documents and links added at once, /articles, /remove; /summary's choice.

A non-admin's document is refused before anything is downloaded, and so is everyone's when the bot
serves a shipped index (read-only: articles are added where it is built). An admin's file is checked
(name, format, size) before download, read in a worker thread, written into seeds/ beside the
others and indexed (only the new article is embedded), and the retriever is swapped under the
same lock as /reload; any failure leaves the served corpus as it was and says what was wrong.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace

from telegram import Update
from telegram.ext import ContextTypes

from embeddings import ingest
from embeddings.corpus import example_questions
from embeddings.ingest import IngestError

from .. import keyboards
from ..articles import (
    Added,
    Source,
    add_article,
    article_rows,
    find_document,
    languages,
    read_source,
    remove_article,
)
from ..dialogue import Dialogue
from ..keyboards import SummaryOf
from ..messages import LANGUAGE_NAMES, t
from ..services import Services, services
from .common import admin_chat, chat_language, group_reply_to
from .questions import on_text
from .sending import answer_query, send_segments, send_text, typing

log = logging.getLogger(__name__)
TITLE_LABEL_CHARS = 48  # a title on a button; Telegram shows about this much on a phone


async def _add(
    context: ContextTypes.DEFAULT_TYPE,
    svc: Services,
    chat_id: int,
    language: str,
    source: Source | str,
    started: float,
) -> None:
    """Read (a URL is fetched here), add, swap the retriever and report; failures change nothing."""
    if await _refused_as_shipped(context, svc, chat_id, language):
        return
    try:
        async with svc.reload_lock:  # one change of the corpus at a time, /reload included
            if isinstance(source, str):
                source = await asyncio.to_thread(read_source, source)
            embedder = svc.retriever.embedder  # the loaded model is reused
            added: Added = await asyncio.to_thread(add_article, svc.settings, source, embedder=embedder)
            await asyncio.to_thread(svc.gaps.apply, added.retriever)  # editors' decisions hold
            svc.retriever = added.retriever  # one assignment: in-flight questions finish on the old one
    except IngestError as exc:
        log.info("article not added: %s", exc)
        await send_text(context, chat_id, t(language, "article_failed", reason=str(exc)))
        return
    document, corpus = added.document, added.retriever.corpus
    seconds = time.perf_counter() - started
    log.info("article %s added: %d paragraphs, %.2fs from receipt", document.id, document.paragraph_count, seconds)
    example = example_questions(replace(corpus, documents=(document,)), language)[0]
    names = LANGUAGE_NAMES.get(language, LANGUAGE_NAMES["en"])
    text = t(
        language,
        "article_added",
        title=document.title(language),
        date=document.date or t(language, "no_date"),
        paragraphs=document.paragraph_count,
        languages=", ".join(names.get(code, code) for code in languages(corpus, document)),
        seconds=seconds,
        example=example,
    )
    await send_text(context, chat_id, text)


async def _refused_as_shipped(context: ContextTypes.DEFAULT_TYPE, svc: Services, chat_id: int, language: str) -> bool:
    """Say so and return True when this bot serves a shipped index, which nothing here may change."""
    if svc.settings.shipped_index is None:
        return False
    await send_text(context, chat_id, t(language, "shipped_read_only"))
    return True


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file in a private chat: an admin's article is added; anyone else is refused, unread."""
    started = time.perf_counter()
    message = update.effective_message
    admin = await admin_chat(update, context)  # refuses non-admins before any download
    if admin is None or message is None or message.document is None:
        return
    svc, chat_id, language = admin
    if await _refused_as_shipped(context, svc, chat_id, language):  # before downloading anything
        return
    document = message.document
    try:
        name = ingest.check_file_name(document.file_name or "")
        source_kind = ingest.kind_of(name)
        ingest.check_size(document.file_size)
    except IngestError as exc:
        await send_text(context, chat_id, t(language, "article_failed", reason=str(exc)))
        return
    await typing(context, chat_id)
    file = await context.bot.get_file(document.file_id)
    data = bytes(await file.download_as_bytearray())
    await _add(context, svc, chat_id, language, Source(data, source_kind), started)


async def on_link(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A bare http(s) link in a private chat: an admin's is added; anyone else's is a question as before."""
    started = time.perf_counter()
    svc, message, chat = services(context), update.effective_message, update.effective_chat
    if message is None or chat is None or message.text is None:
        return
    if not svc.is_admin(update):
        await on_text(update, context)
        return
    await typing(context, chat.id)
    await _add(context, svc, chat.id, chat_language(update, svc), message.text.strip(), started)


async def add_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/add URL (admins)."""
    started = time.perf_counter()
    admin = await admin_chat(update, context)
    if admin is None:
        return
    svc, chat_id, language = admin
    if len(context.args or []) != 1 or not ingest.is_url(context.args[0]):
        await send_text(context, chat_id, t(language, "add_usage"))
        return
    await typing(context, chat_id)
    await _add(context, svc, chat_id, language, context.args[0], started)


async def articles_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/articles (admins): title, date, paragraphs, languages and id of every article."""
    admin = await admin_chat(update, context)
    if admin is None:
        return
    svc, chat_id, language = admin
    corpus = svc.retriever.corpus
    rows = article_rows(corpus, language)
    await send_text(context, chat_id, "\n".join([t(language, "articles_header", count=len(rows)), *rows]))


async def remove_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/remove NUMBER|ID (admins): the article leaves seeds/ and the index; the others stay as they were."""
    admin = await admin_chat(update, context)
    if admin is None:
        return
    svc, chat_id, language = admin
    if await _refused_as_shipped(context, svc, chat_id, language):
        return
    if len(context.args or []) != 1:
        await send_text(context, chat_id, t(language, "remove_usage"))
        return
    try:
        async with svc.reload_lock:
            document = find_document(svc.retriever.corpus, context.args[0])
            if document is None:
                raise IngestError(f"there is no article {context.args[0]!r} (see /articles)")
            embedder = svc.retriever.embedder
            retriever = await asyncio.to_thread(remove_article, svc.settings, document.id, embedder=embedder)
            await asyncio.to_thread(svc.gaps.apply, retriever)
            svc.retriever = retriever
    except IngestError as exc:
        await send_text(context, chat_id, t(language, "remove_failed", reason=str(exc)))
        return
    log.info("article %s removed", document.id)
    count = len(retriever.corpus.documents)
    await send_text(context, chat_id, t(language, "article_removed", title=document.title(language), count=count))


def summary_choices(svc: Services, language: str) -> keyboards.InlineKeyboardMarkup:
    """A button per article for /summary when several are loaded."""
    choices = []
    for document in svc.retriever.corpus.documents:
        title = document.title(language)
        label = title if len(title) <= TITLE_LABEL_CHARS else title[: TITLE_LABEL_CHARS - 1].rstrip() + "…"
        choices.append((document.id, f"{label}, {document.date}" if document.date else label))
    return keyboards.summary_keyboard(choices)


async def on_summary_button(update: Update, context: ContextTypes.DEFAULT_TYPE, action: SummaryOf) -> None:
    """An article chosen under /summary: its summary, in the chat's language."""
    svc, chat = services(context), update.effective_chat
    language = chat_language(update, svc)
    retriever = svc.retriever
    document = next((d for d in retriever.corpus.documents if keyboards.doc_tag(d.id) == action.doc), None)
    if document is None or chat is None:
        await answer_query(update, context, t(language, "stale"))
        return
    await answer_query(update, context)
    reply = await asyncio.to_thread(Dialogue(retriever, svc.intents).summary, language, document=document)
    await send_segments(context, chat.id, reply.segments, reply_to=group_reply_to(update))
