"""What several handlers need about an update: its reply language, whom to reply to, admin rights."""

from __future__ import annotations

from telegram import MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from ..dialogue import DialogueState
from ..messages import t
from ..replies import quote_of
from ..services import Services, services
from .sending import send_text


def chat_language(update: Update, svc: Services) -> str:
    """The language for messages that are not answers: /lang preference, else the user's app language."""
    chat = update.effective_chat
    preferred = svc.state.language(chat.id) if chat else None
    if preferred:
        return preferred
    user = update.effective_user
    return "ar" if user and (user.language_code or "").lower().startswith("ar") else "en"


def group_reply_to(update: Update) -> int | None:
    """In groups an answer replies to the asker's message so it is clear whom it answers."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None or chat.type == ChatType.PRIVATE:
        return None
    return message.message_id


# Formatting a quote would have to repeat (as quote_entities): such messages get a plain reply.
_STYLED = frozenset(
    {
        MessageEntity.BOLD,
        MessageEntity.ITALIC,
        MessageEntity.UNDERLINE,
        MessageEntity.STRIKETHROUGH,
        MessageEntity.SPOILER,
        MessageEntity.CUSTOM_EMOJI,
    }
)


def group_quote(update: Update, question: str) -> str | None:
    """In groups, what the answer quotes of the asker's message: the question, as far as it
    appears verbatim there (see :func:`bot.replies.quote_of`); None in private chats."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None or chat.type == ChatType.PRIVATE or not message.text:
        return None
    if any(entity.type in _STYLED for entity in message.entities):
        return None
    return quote_of(message.text, question)


async def remember_shown(svc: Services, chat_id: int, passage_id: str) -> None:
    """A follow-up now refers to this passage: "who said that?" means the one on screen."""
    async with svc.locks.hold(chat_id):
        state = DialogueState.loads(svc.state.previous(chat_id))
        state.shown = passage_id
        svc.state.set_previous(chat_id, state.dumps())


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
