"""Inline mode: ``@bot question`` in any chat offers the best passages as articles to send."""

from __future__ import annotations

import asyncio

from telegram import InlineQueryResultArticle, InputTextMessageContent, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from embeddings.retriever import RetrievalError

from .. import delivery
from ..replies import answer_segments, deep_link, to_html
from ..services import services
from .sending import bot_username, clean_text, telegram_html

INLINE_RESULTS = 3
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


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
                # The message sent into the other chat carries the same deep link as an answer does.
                username = bot_username(context)
                results.append(
                    InlineQueryResultArticle(
                        id=f"{hit.passage.id}:{language}"[-64:],
                        title=f"¶{hit.passage.paragraph} · {highlight[:60]}",
                        description=hit.passage.text_in(language)[:120],
                        input_message_content=InputTextMessageContent(
                            to_html(telegram_html(context, segments)[0]),
                            parse_mode=ParseMode.HTML,
                            link_preview_options=NO_PREVIEW,  # the link is for sharing, not a card under the text
                        ),
                        url=deep_link(username, hit.passage.id) if username else None,
                    )
                )
    await delivery.deliver(
        lambda: query.answer(results, cache_time=300, is_personal=True),
        what="answerInlineQuery",
        policy=delivery.QUICK,
        keep_going=lambda: context.application.running,
    )
