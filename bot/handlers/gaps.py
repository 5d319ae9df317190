"""Knowledge gaps on Telegram (admins only): /gaps, its decision buttons, and the daily digest.

Recording happens where replies are produced (``questions._respond``) and where votes land
(``buttons``); what a gap is, how gaps group and what a decision does live in ``bot.gaps``.

With several bot processes on one shared gap store (PostgreSQL), a decision button is pressed in
one of them: :func:`follow_decisions` applies it in every other process a few seconds later, and
:func:`gap_digest` claims the digest so that one process sends it.
"""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from embeddings.retriever import Answer, Retriever

from .. import delivery, keyboards
from ..connections import StoreUnavailable
from ..gaps import CANDIDATES, Applied, GapKind, Group, apply_decisions, paragraph_of
from ..keyboards import ANSWERS, NOT_IN_ARTICLE, Decide
from ..messages import t
from ..replies import to_html
from ..services import Services, services
from .common import admin_chat, chat_language
from .sending import answer_query, send_text

log = logging.getLogger(__name__)

SHOWN = 5  # groups listed per /gaps (most asked first); deciding them brings up the next ones
LABEL_WORDS = 5  # words of a paragraph on its button
WORDINGS_SHOWN = 3
DIGEST_EXAMPLES = 3
DIGEST_RETRY = 600.0  # seconds before a digest the store could not serve is tried again
FOLLOW_INTERVAL = 5.0  # seconds between two looks for decisions made in other processes


# -- recording (called in worker threads) -------------------------------------------------------


def record_reply(svc: Services, chat_id: int, answer: Answer, reply_kind: str, reply_text: str) -> None:
    """Keep a question that was refused or answered with medium confidence (not one an editor decided)."""
    if answer.decided:
        return
    kind: GapKind | None = (
        "refused" if reply_kind != "answer" else ("medium" if answer.confidence == "medium" else None)
    )
    if kind is None:
        return
    _record(svc, chat_id, answer.question, kind, [h.passage.id for h in answer.hits], reply_text)


def record_vote(svc: Services, chat_id: int, question: str, passage_ids: list[str], value: int, reply: str) -> None:
    """Keep a voted question: 👎 as a gap, 👍 so an editor can confirm the paragraph (voted one first)."""
    _record(svc, chat_id, question, "up" if value > 0 else "down", passage_ids, reply)


def _record(svc: Services, chat_id: int, question: str, kind: GapKind, candidates: list[str], reply: str) -> None:
    retriever = svc.retriever
    query = retriever.read(question)
    if not query.typed:
        return
    vector = retriever.vector(query.text)  # usually cached: the reply was computed from this vector
    svc.gaps.record(
        chat_id,
        question=query.typed,
        language=query.language,
        kind=kind,
        candidates=candidates[:CANDIDATES],
        reply=reply,
        vector=vector,
    )


# -- rendering ----------------------------------------------------------------------------------


def group_text(group: Group, language: str) -> str:
    kinds = " · ".join(f"{t(language, f'gap_kind_{kind}')} {n}" for kind, n in group.kinds)
    lines = [t(language, "gap_group", question=group.question, count=group.count, lang=group.language, kinds=kinds)]
    others = [q for _, q in group.wordings if q != group.question][:WORDINGS_SHOWN]
    if others:
        lines.append(t(language, "gap_wordings", wordings="; ".join(f"«{q}»" for q in others)))
    lines.append(t(language, "gap_choose"))
    return "\n".join(lines)


def group_buttons(group: Group, retriever: Retriever, language: str) -> list[tuple[int, str]]:
    """(corpus position, "¶N · first words") for each candidate paragraph still in the corpus."""
    positions = {p.id: n for n, p in enumerate(retriever.corpus.passages)}
    buttons = []
    for passage_id in group.candidates:
        if passage_id not in positions:
            continue
        passage = retriever.corpus.passages[positions[passage_id]]
        words = passage.text_in(language).split()
        label = " ".join(words[:LABEL_WORDS]) + (" …" if len(words) > LABEL_WORDS else "")
        buttons.append((positions[passage_id], f"¶{passage.paragraph} · {label}"))
    return buttons


# -- /gaps and its buttons ------------------------------------------------------------------------


async def gaps_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/gaps (admins): open gap groups, most asked first, each with its decision buttons."""
    admin = await admin_chat(update, context)
    if admin is None:
        return
    svc, chat_id, language = admin
    groups = await asyncio.to_thread(svc.gaps.groups)
    if not groups:
        await send_text(context, chat_id, t(language, "gaps_none"))
        return
    asks = sum(g.count for g in groups)
    await send_text(context, chat_id, t(language, "gaps_header", groups=len(groups), asks=asks))
    retriever = svc.retriever
    for group in groups[:SHOWN]:
        markup = keyboards.gap_keyboard(group.id, group_buttons(group, retriever, language), language)
        await send_text(context, chat_id, group_text(group, language), markup=markup)
    if len(groups) > SHOWN:
        await send_text(context, chat_id, t(language, "gaps_more", more=len(groups) - SHOWN))


def _decide(svc: Services, action: Decide) -> tuple[str, int, str | None] | None:
    """Record the decision and apply it to the live retriever; (verdict, wordings, paragraph) or None (stale)."""
    retriever = svc.retriever
    group = svc.gaps.group(action.group)
    if group is None:
        return None
    if action.verdict == ANSWERS:
        passages = retriever.corpus.passages
        passage = passages[action.passage] if action.passage < len(passages) else None
        # Only a paragraph the buttons offered: the corpus may have changed under an old button.
        if passage is None or passage.id not in group.candidates:
            return None
        decided = svc.gaps.decide(group.id, verdict="answer", corpus=retriever.corpus, passage_id=passage.id)
        if decided is None:
            return None
        retriever.teach_many([(passage.id, d.language, d.question) for d in decided])
        return "answer", len(decided), paragraph_of(passage.id)
    verdict = "refuse" if action.verdict == NOT_IN_ARTICLE else "ignore"
    decided = svc.gaps.decide(group.id, verdict=verdict)
    if decided is None:
        return None
    if verdict == "refuse":
        retriever.forbid_many([d.question for d in decided])
    return verdict, len(decided), None


async def on_gap_button(update: Update, context: ContextTypes.DEFAULT_TYPE, action: Decide) -> None:
    """A decision button under /gaps: admins only, checked on every press."""
    svc = services(context)
    query = update.callback_query
    if query is None:
        return
    language = chat_language(update, svc)
    if not svc.is_admin(update):
        await answer_query(update, context, t(language, "not_admin"))
        return
    started = time.perf_counter()
    async with svc.reload_lock:  # the retriever being taught is the one /reload would replace
        done = await asyncio.to_thread(_decide, svc, action)
    if done is None:
        await answer_query(update, context, t(language, "gap_stale"))
        return
    verdict, wordings, paragraph = done
    log.info(
        "gap decision %s applied in %.1f ms (%d wordings)", verdict, (time.perf_counter() - started) * 1000, wordings
    )
    key = {"answer": "gap_taught", "refuse": "gap_refused", "ignore": "gap_ignored"}[verdict]
    note = t(language, key, paragraph=paragraph, wordings=wordings)
    await answer_query(update, context, note)
    message = query.message
    if isinstance(message, Message) and message.text:
        # The decided group keeps its text, gains the decision, and loses its buttons.
        try:
            await delivery.deliver(
                lambda: message.edit_text(to_html([(f"{message.text}\n\n{note}", False)]), parse_mode=ParseMode.HTML),
                what="editMessageText",
                keep_going=lambda: context.application.running,
            )
        except TelegramError as exc:
            log.info("could not mark the decided gap (%s)", exc)


# -- the daily digest ---------------------------------------------------------------------------


async def gap_digest(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: tell ADMIN_IDS when new gaps appeared since the last digest (nothing new, no message).

    Every process sharing the gap store runs this job at the same time; each claims the digest
    (compare-and-set of the mark it read) and only the one whose claim lands sends it.
    """
    svc: Services = services(context)
    try:
        seen = await asyncio.to_thread(svc.gaps.digest_mark)
        new, newest = await asyncio.to_thread(svc.gaps.new_groups, seen)
        if new and not await asyncio.to_thread(svc.gaps.claim_digest, seen, newest):
            log.info("the gap digest was sent by another process")
            return
    except StoreUnavailable as exc:
        # The gaps database is down at digest time: try again later rather than skip the day.
        log.warning("gap digest postponed by %.0f minutes: %s", DIGEST_RETRY / 60, exc)
        if context.job_queue is not None:
            context.job_queue.run_once(gap_digest, DIGEST_RETRY, name="gap digest (retry)")
        return
    if not new:
        return
    sent = False
    for admin in sorted(svc.settings.admin_ids):
        language = svc.state.language(admin) or "en"
        examples = "\n".join(f"• «{g.question}» ×{g.count}" for g in new[:DIGEST_EXAMPLES])
        try:
            await send_text(context, admin, f"{t(language, 'gaps_digest', groups=len(new))}\n{examples}")
            sent = True
        except TelegramError as exc:  # an admin who never opened the bot cannot be messaged
            log.warning("could not send the gap digest to an admin: %s", exc)
    if not sent:
        # Nobody was told: hand the claim back, so the next digest (of any process) tries again.
        await asyncio.to_thread(svc.gaps.claim_digest, newest, seen)


# -- decisions made in other processes ------------------------------------------------------------


class DecisionFollower:
    """Brings this process's retriever up to date with the decisions of every process, one step at a time.

    Keeps the marker of the last decision applied (:meth:`GapStoreBase.decisions_since`) and the
    retriever it was applied to. A retriever it has not seen (/reload, an added article, a new
    index version) gets every decision again: whoever built it applied the decisions of that
    moment, and one committed since then lies behind the marker. Applying a decision twice does
    nothing (the retriever knows what it was taught or forbidden), so own decisions, already
    applied by the button, cost no embedding when they come back here.
    """

    def __init__(self) -> None:
        self.marker = 0
        self._retriever: Retriever | None = None  # the retriever the marker is true of

    async def step(self, svc: Services) -> Applied:
        """Apply the decisions made since the last step to ``svc.retriever`` (read now: it may have been replaced)."""
        retriever = svc.retriever
        since = self.marker if retriever is self._retriever else 0
        decisions, marker = await asyncio.to_thread(svc.gaps.decisions_since, since)
        applied = await asyncio.to_thread(apply_decisions, retriever, decisions) if decisions else Applied(0, 0)
        # Only once applied: a failure above leaves the marker, and the next step tries again.
        self.marker, self._retriever = marker, retriever
        if applied.taught or applied.forbidden:
            log.info("gap decisions followed: %d questions taught, %d refused", applied.taught, applied.forbidden)
        return applied


async def follow_decisions(svc: Services, interval: float = FOLLOW_INTERVAL) -> None:
    """Apply other processes' gap decisions to ``svc.retriever`` every ``interval`` s, until cancelled.

    A decision reaches this process within ``interval`` plus one embedding of its wordings. The
    first step re-reads every decision (a no-op on a retriever that applied them at start-up).
    A store that does not answer is logged once and tried again at the next step.
    """
    follower = DecisionFollower()
    failing = False
    while True:
        try:
            await follower.step(svc)
            if failing:
                log.info("following gap decisions again")
            failing = False
        except StoreUnavailable as exc:
            if not failing:
                log.warning("cannot follow gap decisions for now (trying every %.0f s): %s", interval, exc)
            failing = True
        except Exception:  # the loop must outlive any one bad step; the next one starts over
            log.exception("following gap decisions failed; trying again in %.0f s", interval)
        await asyncio.sleep(interval)
