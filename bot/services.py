"""What the handlers share (:class:`Services`, in ``bot_data``) and how its retriever is built.

``open_retriever`` and ``load_embedder`` serve the bot's start-up, ``/reload`` and the
``summit-bot`` commands alike; they fail with :class:`ServiceError`, one line for the user.
With ``SUMMIT_INDEX_DIR`` set (``settings.shipped_index``) the retriever and the intent
vectors come from the shipped index there, read-only: seeds/ is never read and no passage
is embedded (docs/operations.md, "A shipped index").
The Telegram types are imported for annotations only, so ``summit-bot ask`` does not load
the Telegram client just to build a retriever.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from embeddings import embedders
from embeddings.answer_cache import AnswerCache
from embeddings.artifact import ArtifactError, read_current
from embeddings.corpus import CorpusError
from embeddings.embedders import Embedder, EmbedderError
from embeddings.retriever import Retriever
from embeddings.store import IndexUnreadableError

from .dialogue import Dialogue
from .intents import IntentClassifier, IntentDataError
from .settings import Settings

if TYPE_CHECKING:
    from telegram import Update
    from telegram.ext import ContextTypes

    from .gaps import GapStoreBase
    from .stores import ChatState, Feedback, Stores
    from .throttle import ChatLocks, RateLimiter

SERVICES_KEY = "services"


class ServiceError(Exception):
    """The corpus, the embedder or the index could not be loaded; the message is one user-facing line."""


@dataclass
class Services:
    """Everything handlers share; lives in ``application.bot_data``."""

    settings: Settings
    retriever: Retriever  # swapped whole by /reload and a new shipped index; handlers read it once per update
    intents: IntentClassifier
    stores: Stores  # SQLite and memory on a laptop; Redis and PostgreSQL when configured
    gaps: GapStoreBase
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    answering: int = 0  # questions this process has in hand now (the typing action is skipped in bursts)

    @property
    def state(self) -> ChatState:
        return self.stores.state

    @property
    def feedback(self) -> Feedback:
        return self.stores.feedback

    @property
    def limiter(self) -> RateLimiter:
        return self.stores.limiter

    @property
    def locks(self) -> ChatLocks:
        return self.stores.locks

    def dialogue(self) -> Dialogue:
        """The conversation engine over the current retriever (cheap: built per update)."""
        return Dialogue(self.retriever, self.intents)

    def is_admin(self, update: Update) -> bool:
        user = update.effective_user
        return user is not None and user.id in self.settings.admin_ids


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    """The application's :class:`Services`."""
    return context.bot_data[SERVICES_KEY]


def load_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name (backend and model)."""
    try:
        # Called through the module so that a replaced create_embedder (the tests' fake backend) is used.
        return embedders.create_embedder(settings.embedder, model=settings.model)
    except EmbedderError as exc:
        raise ServiceError(str(exc)) from exc


def open_retriever(
    settings: Settings,
    *,
    rebuild: bool = False,
    repair: bool = False,
    progress: bool = False,
    embedder: Embedder | None = None,
    version: str | None = None,
    answers: AnswerCache | None = None,
) -> Retriever:
    """Load corpus and embedder (or reuse ``embedder``), and load or build the index.

    ``answers`` is where the retriever keeps its answers (a cache shared by every process);
    by default, its own memory.

    With a shipped index (``settings.shipped_index``), its ``version`` (default: the one its
    ``CURRENT`` names) is loaded instead, read-only; ``rebuild`` and ``repair`` do not apply
    (it is rebuilt where it is built), and one built for another embedder is refused.
    """
    try:
        if embedder is None:
            embedder = load_embedder(settings)
        if settings.shipped_index is not None:
            return Retriever.open_shipped(settings.shipped_index, embedder=embedder, version=version, answers=answers)
        if version is not None:
            raise ServiceError("an index version can only be chosen for a shipped index (SUMMIT_INDEX_DIR)")
        return Retriever.open(
            seeds_dir=settings.seeds_dir,
            index_dir=settings.index_dir,
            embedder=embedder,
            rebuild=rebuild,
            repair=repair,
            answers=answers,
        )
    except (CorpusError, EmbedderError, IndexUnreadableError, ArtifactError) as exc:
        raise ServiceError(str(exc)) from exc


def load_intents(settings: Settings, embedder: Embedder, *, version: str | None = None) -> IntentClassifier:
    """The intent classifier; its example vectors are cached beside the index.

    A shipped index carries them (in ``version``, by default the current one) and is only read.
    """
    try:
        if settings.shipped_index is not None:
            folder = settings.shipped_index / (version or read_current(settings.shipped_index))
            return IntentClassifier.load(embedder, cache_dir=folder, write_cache=False)
        return IntentClassifier.load(embedder, cache_dir=settings.index_dir)
    except (IntentDataError, ArtifactError) as exc:
        raise ServiceError(str(exc)) from exc


def open_dialogue(settings: Settings, *, repair: bool = False, embedder: Embedder | None = None) -> Dialogue:
    """The retriever and intent classifier together: what ``ask`` and ``chat`` talk to."""
    retriever = open_retriever(settings, repair=repair, embedder=embedder)
    apply_gap_decisions(settings, retriever)
    shipped = retriever.version if settings.shipped_index is not None else None  # the version just loaded
    return Dialogue(retriever, load_intents(settings, retriever.embedder, version=shipped))


def open_gap_store(settings: Settings) -> GapStoreBase | None:
    """The knowledge-gap store the bot writes to (PostgreSQL when shared, else SQLite), or None when
    there is nothing to read yet; for the CLI and ``ask``/``chat``/``eval``."""
    if settings.database_url:
        from .connections import StoreUnavailable
        from .gaps_postgres import PostgresGapStore

        salt = settings.salt()
        if salt is None:
            raise ServiceError("SUMMIT_FEEDBACK_SALT is not set: it is required with SUMMIT_DATABASE_URL")
        try:
            return PostgresGapStore(settings.database_url, salt=salt)
        except StoreUnavailable as exc:
            raise ServiceError(str(exc)) from exc
    if not settings.gaps_db.exists():  # no decisions yet: do not create the database
        return None
    from .gaps import GapStore

    return GapStore(settings.gaps_db)


def apply_gap_decisions(settings: Settings, retriever: Retriever) -> None:
    """What editors taught through /gaps, so ``ask``, ``chat`` and ``eval`` answer as the bot does."""
    store = open_gap_store(settings)
    if store is None:
        return
    try:
        store.apply(retriever)
    finally:
        store.close()
