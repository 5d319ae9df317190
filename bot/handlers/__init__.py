"""Telegram update handlers: the callbacks ``bot.app`` registers, one module per concern.

Replies to messages come from the transport-free conversation engine (``bot.dialogue``);
these modules only render them. Every reply is built from segments or strings passed through HTML escaping, so
nothing a user types can change the markup. Retrieval runs in a worker thread
(``asyncio.to_thread``) so one slow question does not hold up other chats.

* ``sending`` — replies as HTML, button answers, "typing…", clean user text
* ``common`` — reply language, group reply target, admin guard, suggestions
* ``questions`` — questions in private chats, addressed in groups, and /ask
* ``commands`` — /start (and its deep links), /help, /summary, /about, /lang, unknown commands, non-text content
* ``admin`` — /stats and /reload
* ``articles`` — admins' documents and links added at once, /add, /articles, /remove; /summary's choice
* ``gaps`` — knowledge gaps: recording, /gaps and its decision buttons, the daily digest,
  other processes' decisions followed
* ``buttons`` — More, Original, runner-ups, votes and suggested questions
* ``paragraphs`` — a paragraph opened by a deep link (/start <doc>-<paragraph>), ◀ ▶ to its neighbours
* ``inline`` — inline queries
* ``errors`` — the error handler
"""

from __future__ import annotations

from .admin import reload, stats
from .articles import add_command, articles_command, on_document, on_link, remove_command
from .buttons import on_button
from .commands import about, help_command, lang, start, summary_command, unknown_command, unsupported
from .errors import on_error
from .gaps import follow_decisions, gap_digest, gaps_command
from .inline import on_inline_query
from .questions import ask_command, on_text

__all__ = [
    "about",
    "add_command",
    "articles_command",
    "ask_command",
    "follow_decisions",
    "gap_digest",
    "gaps_command",
    "help_command",
    "lang",
    "on_button",
    "on_document",
    "on_error",
    "on_inline_query",
    "on_link",
    "on_text",
    "reload",
    "remove_command",
    "start",
    "stats",
    "summary_command",
    "unknown_command",
    "unsupported",
]
