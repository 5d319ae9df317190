"""Inline buttons: More, Original, runner-ups, 👍 / 👎, suggested questions; ◀ ▶ under paragraphs."""

from __future__ import annotations

import asyncio
import hashlib
import logging

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import ContextTypes

from embeddings.corpus import example_questions
from embeddings.retriever import Answer, Hit, Retriever

from .. import keyboards
from ..keyboards import Decide, More, Original, Paragraph, Show, Suggest, SummaryOf, Vote
from ..messages import t
from ..replies import Segment, answer_segments
from ..services import services
from ..state import Turn
from .articles import on_summary_button
from .common import chat_language, group_reply_to, remember_shown
from .gaps import on_gap_button, record_vote
from .paragraphs import turn_page
from .questions import answer_question
from .sending import answer_query, edit_or_send, send_segments

log = logging.getLogger(__name__)


def answer_id(turn: Turn) -> str:
    """Identifies one answer for votes: the turn number alone repeats if state is ever reset."""
    return f"{turn.turn}-{hashlib.sha256(turn.question.encode()).hexdigest()[:10]}"


def _hit_of(turn: Turn, index: int, retriever: Retriever) -> Hit | None:
    """Passage ``index`` of a stored answer as the current index serves it; None when that index no
    longer has it as it was shown (its article was removed or changed: an older index version)."""
    if not 0 <= index < len(turn.hits):
        return None
    stored = turn.hits[index]
    passage = retriever.corpus.passage(stored.passage_id)
    if passage is None or not stored.highlights:  # the corpus changed under an old button
        return None
    # The same id with other sentences (the article was edited) would show text the answer never gave.
    if any(sentence not in passage.sentences_in(lang) for lang, sentence in stored.highlights.items()):
        return None
    return Hit(passage=passage, score=0.0, dense=0.0, lexical=0.0, highlights=stored.highlights)


def render_turn(turn: Turn, index: int, language: str, retriever: Retriever) -> tuple[list[Segment], Hit] | None:
    """Segments for passage ``index`` of a stored answer in ``language``, or None if the index being
    served no longer holds that passage as it was (see :func:`_hit_of`)."""
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
        turn.turn,
        index,
        language,
        original_language=hit.passage.language,
        has_more=index + 1 < len(turn.hits),
        languages=hit.passage.views().keys(),
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """More / Original / runner-up / 👍 / 👎 / suggested question; anything unrecognised is "expired"."""
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
    if isinstance(action, Decide):  # /gaps decisions: admins only, checked in there
        await on_gap_button(update, context, action)
        return
    if isinstance(action, Suggest):
        questions = example_questions(svc.retriever.corpus, action.language)
        if action.number >= len(questions):
            await answer_query(update, context, t(chat_language(update, svc), "stale"))
            return
        await answer_query(update, context)
        await answer_question(update, context, questions[action.number], reply_to=group_reply_to(update))
        return
    if isinstance(action, Paragraph):
        await turn_page(update, context, action)
        return
    if isinstance(action, SummaryOf):
        await on_summary_button(update, context, action)
        return

    turn = svc.state.turn(chat.id, action.turn)
    index = action.index + 1 if isinstance(action, More) else action.index
    if turn is not None and isinstance(action, More) and index >= len(turn.hits):
        await answer_query(update, context, t(turn.language, "no_more"))
        return
    if turn is None or not 0 <= index < len(turn.hits):
        await answer_query(update, context, t(chat_language(update, svc), "stale"))
        return
    language = action.language if isinstance(action, Original) else turn.language
    rendered = render_turn(turn, index, language, svc.retriever)
    if rendered is None:
        # The answer is remembered but its passage is not in the index now served (a new version,
        # an article removed or edited): say so, rather than show another text or fail.
        await answer_query(update, context, t(turn.language, "stale_version"))
        return
    segments, hit = rendered

    if isinstance(action, Vote):
        svc.feedback.vote(
            chat.id, answer=answer_id(turn), question=turn.question, passage_id=hit.passage.id, value=action.value
        )
        voted = [hit.passage.id] + [h.passage_id for h in turn.hits if h.passage_id != hit.passage.id]
        await asyncio.to_thread(
            record_vote, svc, chat.id, turn.question, voted, action.value, hit.highlight(turn.language)
        )
        await answer_query(update, context, t(turn.language, "vote_thanks"))
        return
    await answer_query(update, context)
    markup = _keyboard(turn, index, language, hit)
    if isinstance(action, More | Show):
        svc.state.mark_shown(chat.id, turn.turn, index)
        # A follow-up now refers to this passage: "who said that?" means the one on screen.
        await remember_shown(svc, chat.id, hit.passage.id)
        await send_segments(context, chat.id, segments, markup=markup, reply_to=query.message.message_id)
        return
    # Original: the same passage in the other language, in place when it fits one message.
    if isinstance(query.message, Message):
        await edit_or_send(context, query.message, segments, markup=markup)
        return
    await send_segments(context, chat.id, segments, markup=markup, reply_to=query.message.message_id)
