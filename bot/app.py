"""The Telegram Application, built in one place, and ``summit-bot run``."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from embeddings.embedders import BatchingEmbedder
from embeddings.retriever import Retriever

from . import handlers
from .gaps import GapStore, GapStoreBase
from .intents import IntentClassifier
from .services import SERVICES_KEY, Services, load_embedder, load_intents, open_retriever
from .settings import Settings
from .stores import open_stores

log = logging.getLogger(__name__)

REDACTED = "[TOKEN]"
BOOTSTRAP_RETRIES = 5  # deleteWebhook at start-up; then the service manager restarts us
DIGEST_TIME = datetime.time(8, 0, tzinfo=datetime.UTC)  # the daily gap digest to ADMIN_IDS (morning in the Middle East)
COMMANDS: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("start", "Greeting and example questions"),
        ("ask", "Ask a question (also in groups)"),
        ("lang", "Reply language: ar, en or auto"),
        ("summary", "The article's key points"),
        ("about", "The source article"),
        ("help", "How to use the bot"),
    ],
    "ar": [
        ("start", "ترحيب وأمثلة على الأسئلة"),
        ("ask", "اطرح سؤالا (وفي المجموعات أيضا)"),
        ("lang", "لغة الرد: ar أو en أو auto"),
        ("summary", "أهم نقاط المقال"),
        ("about", "المقال المصدر"),
        ("help", "طريقة استخدام البوت"),
    ],
}
# Content the bot cannot read; edits are excluded because live locations send one every few seconds.
UNSUPPORTED = filters.UpdateType.MESSAGE & (
    filters.Sticker.ALL
    | filters.PHOTO
    | filters.VOICE
    | filters.AUDIO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.ANIMATION
    | filters.Document.ALL
    | filters.LOCATION
    | filters.VENUE
    | filters.CONTACT
    | filters.POLL
    | filters.Dice.ALL
)


class RedactToken(logging.Filter):
    """Replaces the bot token in every log record: PTB and httpx put request URLs in messages and errors."""

    def __init__(self, token: str) -> None:
        super().__init__()
        # The secret half alone is also enough to hijack the bot, so it goes too.
        self.secrets = sorted({token, token.partition(":")[2]} - {""}, key=len, reverse=True)

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self._scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._scrub(record.exc_text)
        return True


def install_token_filter(token: str) -> RedactToken:
    """Attach the redaction filter to every root handler (logger filters miss propagated records)."""
    redact = RedactToken(token)
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig()
    for handler in root.handlers:
        handler.addFilter(redact)
    # httpx logs every request URL, token included, at INFO.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger(name).level))
    return redact


def file_url(base_url: str) -> str:
    """The file download URL matching a Bot API base URL (``…/bot`` → ``…/file/bot``)."""
    if base_url.endswith("/bot"):
        return base_url[: -len("bot")] + "file/bot"
    return base_url


FOLLOW_KEY = "follow decisions"
FOLLOW_INTERVAL = 5.0  # seconds: an editor's decision in one process reaches the others this fast


async def post_init(application: Application) -> None:
    """Register the command list in both languages once the bot is connected; with a shared
    gap store, start applying the editors' decisions made in other processes."""
    for language, commands in COMMANDS.items():
        bot_commands = [BotCommand(name, description) for name, description in commands]
        await application.bot.set_my_commands(bot_commands, language_code=None if language == "en" else language)
    svc: Services = application.bot_data[SERVICES_KEY]
    if svc.settings.database_url:
        application.bot_data[FOLLOW_KEY] = asyncio.create_task(
            handlers.follow_decisions(svc, interval=FOLLOW_INTERVAL), name=FOLLOW_KEY
        )
    log.info("connected as @%s", application.bot.username)


async def stop_following(application: Application) -> None:
    """Cancel the decisions poller (before the stores close)."""
    task: asyncio.Task[None] | None = application.bot_data.pop(FOLLOW_KEY, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def post_shutdown(application: Application) -> None:
    """Flush and close the databases after polling has stopped (SIGTERM, SIGINT or stop())."""
    await stop_following(application)
    svc: Services | None = application.bot_data.get(SERVICES_KEY)
    if svc is not None:
        await svc.stores.aclose()
        svc.gaps.close()
    log.info("stopped")


def prepare_data_dir(settings: Settings) -> None:
    """Create the data folder readable by this user only: it holds chats' questions and votes."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if settings.data_dir.stat().st_mode & 0o077:
        settings.data_dir.chmod(0o700)


def key_prefix(token: str) -> str:
    """Namespace of this bot's keys in a shared Redis: its numeric id (public), never the token."""
    return f"summit:{token.partition(':')[0]}:"


def build_application(
    settings: Settings, retriever: Retriever, *, intents: IntentClassifier | None = None, webhook: bool = False
) -> Application:
    """The whole bot: client settings, shared services, handlers and lifecycle hooks.

    ``webhook``: built for ``summit-bot serve``, which hands it updates one request at a time
    (no Updater; post_init and shutdown are the server's to call).
    """
    token = settings.require_token()
    prepare_data_dir(settings)
    builder = ApplicationBuilder()
    if webhook:
        builder = builder.updater(None)
    application = (
        builder.token(token)
        .base_url(settings.base_url)
        .base_file_url(file_url(settings.base_url))
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        # 429 flood control: wait the retry_after Telegram names, up to three times per call;
        # other transient failures are retried by bot.delivery.
        # Each of N processes takes an equal share of the bot-wide budget (SUMMIT_API_RATE / SUMMIT_PROCESSES);
        # AIORateLimiter's per-chat (1/s) and per-group (20/min) pacing hold in every process.
        .rate_limiter(AIORateLimiter(max_retries=3, overall_max_rate=settings.api_share))
        .concurrent_updates(True)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    stores = open_stores(settings, prefix=key_prefix(token))
    # Knowledge gaps live beside the votes: in PostgreSQL when processes share it, else SQLite.
    gaps: GapStoreBase
    if settings.database_url:
        from .gaps_postgres import PostgresGapStore

        gaps = PostgresGapStore(stores.pool, salt=settings.salt())
    else:
        gaps = GapStore(settings.gaps_db)
    gaps.apply(retriever)  # editors' earlier gap decisions, on top of the index as built
    application.bot_data[SERVICES_KEY] = Services(
        settings=settings,
        retriever=retriever,
        intents=intents or load_intents(settings, retriever.embedder),
        stores=stores,
        gaps=gaps,
    )

    messages = filters.UpdateType.MESSAGES  # new and edited messages; no channel posts
    application.add_handler(CommandHandler("start", handlers.start, filters=messages))
    application.add_handler(CommandHandler("help", handlers.help_command, filters=messages))
    application.add_handler(CommandHandler("about", handlers.about, filters=messages))
    application.add_handler(CommandHandler("summary", handlers.summary_command, filters=messages))
    application.add_handler(CommandHandler("lang", handlers.lang, filters=messages))
    application.add_handler(CommandHandler("ask", handlers.ask_command, filters=messages))
    application.add_handler(CommandHandler("stats", handlers.stats, filters=messages))
    application.add_handler(CommandHandler("reload", handlers.reload, filters=filters.UpdateType.MESSAGE))
    application.add_handler(CommandHandler("gaps", handlers.gaps_command, filters=filters.UpdateType.MESSAGE))
    application.add_handler(CommandHandler("add", handlers.add_command, filters=filters.UpdateType.MESSAGE))
    application.add_handler(CommandHandler("articles", handlers.articles_command, filters=messages))
    application.add_handler(CommandHandler("remove", handlers.remove_command, filters=filters.UpdateType.MESSAGE))
    application.add_handler(MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, handlers.unknown_command))
    private_message = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    # Admins add articles by sending the file or a bare link in a private chat (others: refused / a question).
    application.add_handler(MessageHandler(filters.Document.ALL & private_message, handlers.on_document))
    link = filters.Regex(r"^\s*https?://\S+\s*$")
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & link & private_message, handlers.on_link))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & messages, handlers.on_text))
    application.add_handler(MessageHandler(UNSUPPORTED, handlers.unsupported))
    application.add_handler(CallbackQueryHandler(handlers.on_button))
    application.add_handler(InlineQueryHandler(handlers.on_inline_query))
    application.add_error_handler(handlers.on_error)
    if application.job_queue is not None and settings.admin_ids:
        # Once a day, and only when new gaps appeared since the last digest.
        application.job_queue.run_daily(handlers.gap_digest, time=DIGEST_TIME, name="gap digest")
    return application


def run_bot(settings: Settings) -> int:
    """``summit-bot run``: build the index if needed, then long-poll until SIGINT/SIGTERM.

    Raises :class:`~bot.services.ServiceError` when the embedder, corpus or index cannot be loaded.
    """
    token = settings.require_token()
    install_token_filter(token)
    os.umask(0o077)  # every file the bot writes (databases, their -wal/-shm, the salt) is the user's only
    prepare_data_dir(settings)
    log.info("loading the index from %s (built on first start)", settings.index_dir)
    # One model for the life of the process (/reload reuses it), behind a micro-batcher:
    # questions from several chats that wait at the same time share one embedding call.
    embedder = BatchingEmbedder(load_embedder(settings))
    retriever = open_retriever(settings, repair=True, embedder=embedder)
    log.info("index ready: %d paragraphs; polling %s", len(retriever.corpus.passages), settings.base_url)
    application = build_application(settings, retriever)
    # run_polling installs SIGINT/SIGTERM handlers and runs post_shutdown before returning.
    # Network trouble while polling is retried by PTB itself (with backoff, forever).
    try:
        application.run_polling(
            allowed_updates=Update.ALL_TYPES, timeout=settings.poll_timeout, bootstrap_retries=BOOTSTRAP_RETRIES
        )
    except InvalidToken:
        log.critical("Telegram rejected TELEGRAM_BOT_TOKEN: check it with @BotFather (/token)")
        return 2
    except Exception:
        # Logged here, not printed by Python, so the token filter scrubs the traceback.
        log.critical("the bot stopped on an unexpected error", exc_info=True)
        return 1
    finally:
        log.info("embedded %d questions in %d batch calls", embedder.batched_texts, embedder.batches)
    return 0
