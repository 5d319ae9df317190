"""Admin commands (ADMIN_IDS only): /stats and /reload."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.ext import ContextTypes

from ..messages import t
from ..services import ServiceError, open_retriever
from .common import admin_chat
from .sending import send_text, typing

log = logging.getLogger(__name__)


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
            await asyncio.to_thread(svc.gaps.apply, retriever)  # editors' gap decisions hold after a reload
        except ServiceError as exc:
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
