"""Decisions reach every process: an editor's button in one bot process, the answer changed in all of them.

Two "processes" share one gap store (two store instances on one SQLite file, or on one real
PostgreSQL database), each with its own retriever; the button's handler (``_decide``) runs in one,
:class:`DecisionFollower` / :func:`follow_decisions` bring the decision to the other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
import servers

from bot.gaps import GapStoreBase
from bot.handlers.gaps import DecisionFollower, _decide, follow_decisions
from bot.keyboards import ANSWERS, NOT_IN_ARTICLE, Decide
from embeddings.corpus import Corpus
from embeddings.retriever import RetrievalConfig, Retriever
from embeddings.store import build_index, open_index

pytest_plugins = ["gap_stores"]  # open_store: SQLite and PostgreSQL
OpenStore = Callable[..., GapStoreBase]

DOC = "000_54d2f6cd4b201a0d"
UNKNOWN = "Zorblax quuxified frobnitz wibble?"  # words the article never uses: refused until taught
MEET = "Where did Kim and Putin meet?"


@pytest.fixture
def new_retriever(corpus: Corpus, fake_embedder, tmp_path: Path) -> Callable[[], Retriever]:
    """A fresh retriever over one index (each call: another process's, or a reloaded one)."""
    build_index(corpus, fake_embedder, tmp_path / "index")

    def make() -> Retriever:
        retriever = Retriever(
            corpus=corpus, embedder=fake_embedder, index=open_index(corpus, fake_embedder, tmp_path / "index")
        )
        # The fake embedder's cosines are not e5's: answer everything, so only a decision refuses.
        return retriever.with_config(RetrievalConfig(min_relevance=-1.0, min_relevance_ar=-1.0))

    return make


def process(store: GapStoreBase, retriever: Retriever) -> SimpleNamespace:
    """What _decide and the follower read of a process's Services."""
    return SimpleNamespace(gaps=store, retriever=retriever)


def ask_gap(svc: SimpleNamespace, question: str) -> int:
    """The question as the bot records it (questions._respond → record_reply), returning its group id."""
    vector = svc.retriever.vector(svc.retriever.read(question).text)
    gap_id = svc.gaps.record(
        1, question=question, language="en", kind="refused", candidates=[f"{DOC}:22"], reply="", vector=vector
    )
    assert gap_id is not None
    return gap_id


def position(retriever: Retriever, paragraph: int) -> int:
    return next(n for n, p in enumerate(retriever.corpus.passages) if p.id == f"{DOC}:{paragraph}")


def answers_with(retriever: Retriever, question: str, paragraph: int) -> bool:
    answer = retriever.ask(question)
    return answer.answered and answer.decided and answer.hits[0].passage.paragraph == paragraph


def refuses(retriever: Retriever, question: str) -> bool:
    answer = retriever.ask(question)
    return not answer.answered and answer.decided


def test_a_decision_in_one_process_is_applied_in_the_other(open_store: OpenStore, new_retriever) -> None:
    one, two = process(open_store(), new_retriever()), process(open_store(), new_retriever())
    followers = {id(one): DecisionFollower(), id(two): DecisionFollower()}

    def follow(svc: SimpleNamespace):
        return asyncio.run(followers[id(svc)].step(svc))

    assert follow(one).taught == follow(two).taught == 0  # nothing decided yet
    assert not one.retriever.ask(UNKNOWN).decided
    taught = ask_gap(one, UNKNOWN)
    forbidden = ask_gap(two, MEET)
    # The editor presses "¶22 answers it" in process two, then "not in the article" in process one.
    assert _decide(two, Decide(taught, ANSWERS, position(two.retriever, 22))) is not None
    assert _decide(one, Decide(forbidden, NOT_IN_ARTICLE)) is not None
    assert answers_with(two.retriever, UNKNOWN, 22) and not one.retriever.ask(UNKNOWN).decided
    assert refuses(one.retriever, MEET) and not two.retriever.ask(MEET).decided

    applied = follow(one)
    assert (applied.taught, applied.forbidden) == (1, 0)  # its own refusal was applied by the button already
    assert answers_with(one.retriever, UNKNOWN, 22)
    applied = follow(two)
    assert (applied.taught, applied.forbidden) == (0, 1)  # its own lesson came back too: nothing to embed
    assert refuses(two.retriever, MEET)
    assert follow(one) == follow(two)  # nothing new: nothing applied
    assert followers[id(one)].marker == followers[id(two)].marker > 0


def test_a_replaced_retriever_gets_every_decision(open_store: OpenStore, new_retriever) -> None:
    """/reload or a new index version may swap svc.retriever at any moment; the follower reads it afresh."""
    editor, follower_side = process(open_store(), new_retriever()), process(open_store(), new_retriever())
    follower = DecisionFollower()
    asyncio.run(follower.step(follower_side))
    _decide(editor, Decide(ask_gap(editor, UNKNOWN), ANSWERS, position(editor.retriever, 22)))
    asyncio.run(follower.step(follower_side))
    assert answers_with(follower_side.retriever, UNKNOWN, 22)
    # A new retriever arrives without the decision (say, built from a decision list read a moment
    # before the decision committed): the marker is past it, yet the next step applies it.
    follower_side.retriever = new_retriever()
    assert not follower_side.retriever.ask(UNKNOWN).decided
    assert asyncio.run(follower.step(follower_side)).taught == 1
    assert answers_with(follower_side.retriever, UNKNOWN, 22)


def test_follow_decisions_runs_until_cancelled(open_store: OpenStore, new_retriever) -> None:
    editor, other = process(open_store(), new_retriever()), process(open_store(), new_retriever())

    async def scenario() -> float:
        task = asyncio.create_task(follow_decisions(other, interval=0.05))  # type: ignore[arg-type]
        await asyncio.sleep(0.1)
        group_id = await asyncio.to_thread(ask_gap, editor, UNKNOWN)
        decided = time.monotonic()
        await asyncio.to_thread(_decide, editor, Decide(group_id, ANSWERS, position(editor.retriever, 22)))
        try:
            while not await asyncio.to_thread(answers_with, other.retriever, UNKNOWN, 22):
                assert time.monotonic() - decided < 10, "the decision never reached the other process"
                await asyncio.sleep(0.02)
            return time.monotonic() - decided
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    latency = asyncio.run(scenario())
    print(f"\ndecision applied in the other process after {latency * 1000:.0f} ms (interval 50 ms)")


def test_following_survives_the_database_going_away(
    postgres_server: servers.PostgresServer, postgres_url: str, new_retriever, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.gaps_postgres import PostgresGapStore

    caplog.set_level(logging.INFO, logger="bot.handlers.gaps")
    editor_store = PostgresGapStore(postgres_url, salt=b"s" * 32)
    # Short, so that the outage fails several steps. (After a restart psycopg_pool sleeps ~1 s before
    # checking a second broken connection, so a first step then may fail once more: still recovered.)
    other_store = PostgresGapStore(postgres_url, salt=b"s" * 32, timeout=0.2)
    editor, other = process(editor_store, new_retriever()), process(other_store, new_retriever())

    async def scenario() -> None:
        task = asyncio.create_task(follow_decisions(other, interval=0.05))  # type: ignore[arg-type]
        try:
            await asyncio.sleep(0.1)
            await asyncio.to_thread(postgres_server.stop)
            await asyncio.sleep(1.0)  # a few failing steps
            await asyncio.to_thread(postgres_server.start)
            group_id = await asyncio.to_thread(ask_gap, editor, MEET)
            await asyncio.to_thread(_decide, editor, Decide(group_id, NOT_IN_ARTICLE))
            deadline = time.monotonic() + 10
            while not await asyncio.to_thread(refuses, other.retriever, MEET):
                assert time.monotonic() < deadline, "the follower did not recover"
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    try:
        asyncio.run(scenario())
    finally:
        postgres_server.start()
        editor_store.close()
        other_store.close()
    warnings = [r for r in caplog.records if "cannot follow gap decisions" in r.getMessage()]
    assert len(warnings) == 1  # logged once per outage, not at every step
    assert any("following gap decisions again" in r.getMessage() for r in caplog.records)
