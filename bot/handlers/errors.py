"""The error handler: log what went wrong and, when there is a chat, say so to the user.

In webhook mode (``summit-bot serve``) a transient failure (a shared store or Telegram
unreachable) is not told to the user: it is recorded in the update's :class:`UpdateOutcome`
and the server answers Telegram 503, so the update is delivered again and answered then.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from .. import delivery
from ..connections import StoreUnavailable
from ..messages import t
from ..services import services
from .common import chat_language
from .sending import answer_query, send_text

log = logging.getLogger(__name__)


@dataclass
class UpdateOutcome:
    """What the webhook server needs to know after the handlers ran."""

    retry: BaseException | None = None  # a transient failure: have Telegram deliver the update again


# Set by the webhook server around one update; PTB runs the handlers and this error handler
# in the request's own task, so they see it. Unset (None) under long polling.
_OUTCOME: ContextVar[UpdateOutcome | None] = ContextVar("summit_update_outcome", default=None)


def track_outcome() -> UpdateOutcome:
    """Start recording the outcome of the update handled next in this task."""
    outcome = UpdateOutcome()
    _OUTCOME.set(outcome)
    return outcome


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the traceback (the token filter scrubs it) and tell the user something went wrong."""
    if update is None and context.error is not None and delivery.is_transient(context.error):
        # Polling trouble (Telegram down, slow or rate-limiting): PTB keeps retrying with backoff.
        log.warning("getUpdates failed (%s); polling again", context.error)
        return
    update_id = update.update_id if isinstance(update, Update) else None
    outcome = _OUTCOME.get()
    transient = context.error is not None and (
        isinstance(context.error, StoreUnavailable) or delivery.is_transient(context.error)
    )
    if outcome is not None and transient:
        log.warning("update %s: %s; Telegram will deliver it again", update_id, context.error)
        outcome.retry = context.error
        return
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
