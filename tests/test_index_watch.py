"""Hot swap of a shipped index: a new CURRENT version is loaded beside the old one and swapped in; a bad
one is refused and the old one keeps serving; buttons of older answers say so when their passage is gone."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from fakes.articles import LIBRARY
from fakes.shipped import EXTRA_DOC, publish, write_article

from bot import keyboards
from bot.handlers.buttons import on_button, render_turn
from bot.index_watch import IndexWatcher
from bot.keyboards import Show
from bot.messages import t
from bot.services import SERVICES_KEY, open_retriever
from bot.settings import Settings
from bot.state import StateStore, StoredHit
from embeddings.answer_cache import MemoryAnswerCache
from embeddings.artifact import set_current
from embeddings.retriever import Retriever

QUESTIONS = [
    "Where did Kim Jong Un and Putin meet?",
    "When did the central library in Leeds reopen?",
    "How much did the repairs cost?",
    "أين التقى كيم وبوتين؟",
    "Who is Helen Marsh?",
]
EDITED = [*LIBRARY[:2], "The repairs cost 5 million pounds, paid for by the council alone, its leader Sam Kerr said."]


class Versions(SimpleNamespace):
    root: Path
    with_library: str  # the seeds and the library article
    edited: str  # the library's last paragraph reworded (same passage ids, other sentences)
    without: str  # the library removed


@pytest.fixture
def versions(fake_embedder, seeds_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Versions:
    monkeypatch.setenv("SUMMIT_EMBEDDER", "fake")
    root = tmp_path / "ship"
    write_article(seeds_copy, LIBRARY)
    with_library = publish(root)
    write_article(seeds_copy, EDITED)
    edited = publish(root)
    (seeds_copy / f"{EXTRA_DOC}.txt").unlink()
    without = publish(root)
    assert len({with_library, edited, without}) == 3
    set_current(root, with_library)
    # Serving from here on: the shipped index only, and seeds/ gone.
    monkeypatch.setenv("SUMMIT_INDEX_DIR", str(root))
    monkeypatch.setenv("SUMMIT_SEEDS_DIR", str(tmp_path / "no-seeds-here"))
    monkeypatch.setenv("SUMMIT_INDEX_POLL", "0.05")
    return Versions(root=root, with_library=with_library, edited=edited, without=without)


def watched(versions: Versions, answers: MemoryAnswerCache | None = None) -> tuple[SimpleNamespace, IndexWatcher]:
    """The services' stand-in serving the first version, and a watcher that swaps into it."""
    settings = Settings.from_env()
    services = SimpleNamespace(retriever=open_retriever(settings, answers=answers))
    assert services.retriever.version == versions.with_library
    watcher = IndexWatcher.for_settings(
        settings,
        services.retriever.embedder,
        lambda retriever: setattr(services, "retriever", retriever),  # what the webhook server passes
        version=services.retriever.version,
        answers=answers,
    )
    return services, watcher


def belongs(answer, retriever: Retriever) -> bool:
    return all(retriever.corpus.passage(hit.passage.id) is hit.passage for hit in answer.hits)


def test_a_swap_under_concurrent_questions_loses_nothing(versions: Versions, fake_embedder) -> None:
    services, watcher = watched(versions)
    old = services.retriever
    embedded = fake_embedder.passages_embedded
    stop = threading.Event()
    results: list[tuple[Retriever, object]] = []
    errors: list[BaseException] = []
    asked = [0] * 4

    def asker(n: int) -> None:
        i = 0
        while not stop.is_set():
            retriever = services.retriever  # read once per request, as the handlers do
            try:
                answer = retriever.ask(QUESTIONS[(n + i) % len(QUESTIONS)], cache=i % 3 == 0)
                results.append((retriever, answer))
            except BaseException as exc:
                errors.append(exc)
            i += 1
        asked[n] = i

    threads = [threading.Thread(target=asker, args=(n,)) for n in range(len(asked))]
    for thread in threads:
        thread.start()

    async def swap() -> bool:
        await asyncio.sleep(0.2)
        set_current(versions.root, versions.edited)
        swapped = await watcher.check()
        await asyncio.sleep(0.2)
        return swapped

    try:
        swapped = asyncio.run(swap())
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert swapped and not errors
    assert len(results) == sum(asked) > 20  # every question got its answer
    assert services.retriever is not old and services.retriever.version == versions.edited == watcher.version
    served = {retriever.version for retriever, _ in results}
    assert served == {versions.with_library, versions.edited}  # both served, each whole
    assert all(belongs(answer, retriever) for retriever, answer in results)  # passages of the retriever asked
    assert old.ask("How much did the repairs cost?", cache=False).hits  # the old one still answers whoever holds it
    assert fake_embedder.passages_embedded == embedded  # the new version was loaded, not embedded


def test_a_corrupt_version_is_refused_and_the_old_one_keeps_serving_until_a_good_one_comes(
    versions: Versions, caplog: pytest.LogCaptureFixture
) -> None:
    services, watcher = watched(versions)
    old = services.retriever
    faiss_file = versions.root / versions.edited / "vectors.faiss"
    data = faiss_file.read_bytes()
    faiss_file.write_bytes(data[:100])
    set_current(versions.root, versions.edited)
    with caplog.at_level(logging.DEBUG, logger="bot.index_watch"):
        assert not asyncio.run(watcher.check())
        assert not asyncio.run(watcher.check())  # retried at the next poll, still bad
    assert services.retriever is old and watcher.version == versions.with_library
    assert watcher.last_error is not None and versions.edited in watcher.last_error
    assert "incomplete or altered copy" in watcher.last_error
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "bot.index_watch"]
    assert len(warnings) == 1  # said once, not at every poll
    assert old.ask("When did the central library in Leeds reopen?").hits
    faiss_file.write_bytes(data)  # the copy completes
    assert asyncio.run(watcher.check())
    assert services.retriever.version == versions.edited and watcher.last_error is None


def test_an_unreadable_current_keeps_the_version_served(versions: Versions) -> None:
    services, watcher = watched(versions)
    old = services.retriever
    (versions.root / "CURRENT").write_text("garbage\n")
    assert not asyncio.run(watcher.check())
    assert services.retriever is old and "CURRENT" in (watcher.last_error or "")


def test_the_watcher_polls_on_its_own_until_stopped(versions: Versions) -> None:
    shared = MemoryAnswerCache(16)  # stands for a cache every process shares: each version uses it
    services, watcher = watched(versions, shared)

    async def run() -> None:
        watcher.start()
        set_current(versions.root, versions.without)
        deadline = time.monotonic() + 10
        while services.retriever.version != versions.without and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await watcher.stop()

    asyncio.run(run())
    assert services.retriever.version == versions.without and services.retriever.answers is shared
    assert EXTRA_DOC not in {d.id for d in services.retriever.corpus.documents}


# -- buttons of answers given by an older version ---------------------------------------------------


class StubQuery:
    def __init__(self, data: str) -> None:
        self.data = data
        self.message = SimpleNamespace(message_id=1)
        self.notices: list[str | None] = []

    async def answer(self, text: str | None = None, **_: object) -> bool:
        self.notices.append(text)
        return True


def press(services: SimpleNamespace, chat_id: int, data: str) -> list[str | None]:
    query = StubQuery(data)
    update = SimpleNamespace(
        callback_query=query,
        effective_chat=SimpleNamespace(id=chat_id, type="private"),
        effective_user=SimpleNamespace(id=chat_id, language_code="en"),
        effective_message=None,
    )
    context = SimpleNamespace(bot_data={SERVICES_KEY: services}, application=SimpleNamespace(running=True))
    asyncio.run(on_button(update, context))
    return query.notices


def test_a_button_whose_passage_the_new_version_lacks_says_the_answer_is_from_an_older_version(
    versions: Versions, tmp_path: Path
) -> None:
    services, watcher = watched(versions)
    services.state = StateStore(tmp_path / "conversations.sqlite3")
    corpus = services.retriever.corpus
    library = [p for p in corpus.passages if p.doc == EXTRA_DOC]
    summit = corpus.passages[0]
    hits = [StoredHit(p.id, {p.language: p.sentences[-1]}) for p in (summit, *library)]
    turn = services.state.add_turn(
        7, question="How much did the repairs cost?", language="en", confidence="high", truncated=False, hits=hits
    )
    stored = services.state.turn(7, turn)
    assert stored is not None and render_turn(stored, 3, "en", services.retriever) is not None
    older = t("en", "stale_version")
    assert older == "That answer came from an older version of the article. Please ask again."

    set_current(versions.root, versions.edited)  # the library's last paragraph was reworded
    assert asyncio.run(watcher.check())
    assert render_turn(stored, 0, "en", services.retriever) is not None  # the summit article is unchanged
    assert render_turn(stored, 1, "en", services.retriever) is not None  # so is the library's first paragraph
    assert press(services, 7, keyboards.encode(Show(turn, 3))) == [older]  # same id, other words

    set_current(versions.root, versions.without)  # the library is gone
    assert asyncio.run(watcher.check())
    assert press(services, 7, keyboards.encode(Show(turn, 1))) == [older]
    assert press(services, 7, keyboards.encode(Show(turn + 5, 0))) == [t("en", "stale")]  # no such answer
    services.state.close()
