"""Serving a new shipped index version without a restart.

:class:`IndexWatcher` reads ``CURRENT`` of the shipped index (``SUMMIT_INDEX_DIR``) every
``SUMMIT_INDEX_POLL`` seconds, in a worker thread (a file read on a network disk can stall the
event loop). When it names another version, that version is loaded beside the one being served,
also in a worker thread, and handed to ``swap``: one assignment (``services.retriever = new``),
so a request already in flight finishes on the retriever it started with, which stays whole
until the last such request lets go of it. A version that cannot be loaded (an incomplete copy,
one built for another model) is logged and the old version stays; the next poll tries again.

Answers computed before the swap are not reused after it: answer cache keys carry the version.
Buttons under older answers name passages by id; one the new version lacks says the answer came
from an older version of the article (``bot/handlers/buttons.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from embeddings.answer_cache import AnswerCache
from embeddings.artifact import read_current
from embeddings.embedders import Embedder
from embeddings.retriever import Retriever

from .services import open_retriever
from .settings import Settings

log = logging.getLogger(__name__)


class IndexWatcher:
    """Polls ``root/CURRENT`` and swaps each new version in, loaded off the event loop.

    ``load(version)`` returns a ready retriever for ``version`` (it runs in a worker thread);
    ``swap(retriever)`` puts it in service (it runs on the event loop and must be quick).
    ``version`` is the version being served when the watcher starts. ``lock``, when given, is
    held while a version is loaded and swapped in (the bot's reload lock: /reload also swaps).
    """

    def __init__(
        self,
        root: Path,
        load: Callable[[str], Retriever],
        swap: Callable[[Retriever], None],
        *,
        interval: float,
        version: str | None = None,
        lock: asyncio.Lock | None = None,
    ) -> None:
        self.root = root
        self.interval = interval
        self.version = version  # the version last put in service
        self.last_error: str | None = None  # why the newest version could not be served (None: it is)
        self._load = load
        self._swap = swap
        self._lock = lock
        self._checking = asyncio.Lock()  # one check at a time, whoever calls check()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def for_settings(
        cls,
        settings: Settings,
        embedder: Embedder,
        swap: Callable[[Retriever], None],
        *,
        version: str | None,
        prepare: Callable[[Retriever], object] | None = None,
        lock: asyncio.Lock | None = None,
        answers: AnswerCache | None = None,
    ) -> IndexWatcher:
        """A watcher of ``settings.shipped_index`` polling every ``settings.index_poll`` seconds.

        Each version is opened with :func:`bot.services.open_retriever` over ``embedder`` (the model
        already loaded), then ``prepare`` runs on it before the swap (e.g. ``GapStore.apply``: the
        editors' decisions must hold in the new version too). ``answers`` is the answer cache each
        version's retriever uses (one shared by every process; keys carry the version).
        """
        if settings.shipped_index is None:
            raise ValueError("an index watcher needs a shipped index (SUMMIT_INDEX_DIR)")

        def load(wanted: str) -> Retriever:
            retriever = open_retriever(settings, embedder=embedder, version=wanted, answers=answers)
            if prepare is not None:
                prepare(retriever)
            return retriever

        return cls(settings.shipped_index, load, swap, interval=settings.index_poll, version=version, lock=lock)

    async def check(self) -> bool:
        """One poll: load and swap in the version ``CURRENT`` names if it is new. True when swapped.

        Never raises for a bad version or an unreadable ``CURRENT``: the failure is logged, kept in
        :attr:`last_error`, and the version being served stays.
        """
        async with self._checking:
            try:
                wanted = await asyncio.to_thread(read_current, self.root)
            except Exception as exc:  # whatever it is, the served version must stay
                self._failed(None, exc)
                return False
            if wanted == self.version:
                self.last_error = None
                return False
            async with self._lock if self._lock is not None else contextlib.nullcontext():
                try:
                    retriever = await asyncio.to_thread(self._load, wanted)
                except Exception as exc:  # a bad version must not stop the one being served
                    self._failed(wanted, exc)
                    return False
                self._swap(retriever)
            log.info("serving index version %s (was %s)", wanted, self.version)
            self.version, self.last_error = wanted, None
            return True

    def _failed(self, wanted: str | None, exc: Exception) -> None:
        what = f"version {wanted}" if wanted else f"{self.root}/CURRENT"
        error = f"{what}: {exc}"
        # Logged when it changes, not at every poll: a bad version stays bad until the next is shipped.
        level = logging.WARNING if error != self.last_error else logging.DEBUG
        log.log(level, "cannot serve shipped index %s; still serving version %s", error, self.version)
        self.last_error = error

    async def run(self) -> None:
        """Check every ``interval`` seconds until cancelled."""
        while True:
            try:
                await self.check()
            except Exception:  # the swap callback failed: keep polling, the next check tries again
                log.exception("index watcher: swapping in a new version failed")
            await asyncio.sleep(self.interval)

    def start(self) -> asyncio.Task[None]:
        """Run :meth:`run` as a task of the running event loop (once)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="index watcher")
        return self._task

    async def stop(self) -> None:
        """Cancel the polling task and wait for it (a load in a worker thread finishes unobserved)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
