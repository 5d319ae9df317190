"""Paragraphs opened by a deep link (``/start <doc>-<paragraph>``), and ◀ ▶ to their neighbours."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import ContextTypes

from embeddings.corpus import Corpus, Passage

from .. import keyboards
from ..keyboards import Paragraph
from ..messages import t
from ..replies import Segment, passage_segments
from ..services import services
from .common import chat_language, remember_shown
from .sending import answer_query, edit_or_send, send_segments


def paragraph_view(
    corpus: Corpus, passage: Passage, language: str
) -> tuple[list[Segment], InlineKeyboardMarkup | None]:
    """A paragraph in ``language`` with its (linked) citation, and ◀ ▶ to its neighbours."""
    document = next(d for d in corpus.documents if d.id == passage.doc)
    markup = keyboards.paragraph_keyboard(document.id, passage.paragraph, document.paragraph_count)
    return passage_segments(passage, corpus, language), markup


async def open_paragraph(update: Update, context: ContextTypes.DEFAULT_TYPE, passage: Passage) -> None:
    """Send ``passage`` in the chat's language; a follow-up question then refers to it."""
    svc, chat = services(context), update.effective_chat
    if chat is None:
        return
    segments, markup = paragraph_view(svc.retriever.corpus, passage, chat_language(update, svc))
    await send_segments(context, chat.id, segments, markup=markup)
    await remember_shown(svc, chat.id, passage.id)


def _passage(corpus: Corpus, action: Paragraph) -> Passage | None:
    document = next((d for d in corpus.documents if keyboards.doc_tag(d.id) == action.doc), None)
    if document is None or not 1 <= action.paragraph <= document.paragraph_count:
        return None
    return corpus.passage(f"{document.id}:{action.paragraph}")


async def turn_page(update: Update, context: ContextTypes.DEFAULT_TYPE, action: Paragraph) -> None:
    """◀ or ▶: the neighbouring paragraph in place of the one shown, in the chat's language."""
    svc, chat, query = services(context), update.effective_chat, update.callback_query
    if chat is None or query is None or query.message is None:
        return
    language = chat_language(update, svc)
    passage = _passage(svc.retriever.corpus, action)
    if passage is None:  # the article changed under an old button
        await answer_query(update, context, t(language, "stale"))
        return
    await answer_query(update, context)
    segments, markup = paragraph_view(svc.retriever.corpus, passage, language)
    if isinstance(query.message, Message):
        await edit_or_send(context, query.message, segments, markup=markup)
    else:
        await send_segments(context, chat.id, segments, markup=markup, reply_to=query.message.message_id)
    await remember_shown(svc, chat.id, passage.id)
