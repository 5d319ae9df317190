"""Feedback conformance: SQLite and PostgreSQL count votes and counters alike (real PostgreSQL, no mocks)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from servers import PostgresServer

from bot.feedback import FeedbackStore, Stats, chat_hash
from bot.feedback_postgres import PostgresFeedbackStore
from bot.stores import Feedback, StoreUnavailable, postgres_pool

MakeFeedback = Callable[[], Feedback]
SALT = b"a-salt-every-process-shares-0123"


@pytest.fixture(params=["sqlite", "postgres"])
def make_feedback(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeFeedback]:
    """Opens a store; stores opened in one test share their data (and salt), like processes would."""
    opened: list[Feedback] = []

    def make() -> Feedback:
        if request.param == "sqlite":
            store: Feedback = FeedbackStore(tmp_path / "feedback.sqlite3")
        else:
            store = PostgresFeedbackStore(request.getfixturevalue("postgres_url"), salt=SALT)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def vote(store: Feedback, value: int, *, chat: int = 1, answer: str = "1:abc", passage: str = "p1") -> None:
    store.vote(chat, answer=answer, question="Where did they meet?", passage_id=passage, value=value)


def test_is_a_feedback_store(make_feedback: MakeFeedback) -> None:
    assert isinstance(make_feedback(), Feedback)


def test_a_press_handled_by_two_processes_counts_once_and_a_changed_vote_replaces(make_feedback: MakeFeedback) -> None:
    one, two = make_feedback(), make_feedback()
    vote(one, 1)
    vote(two, 1)  # the same press, redelivered to another process
    assert one.stats() == Stats(0, 0, 1, 0)
    vote(two, -1)
    assert one.stats() == Stats(0, 0, 0, 1)
    vote(one, 1, passage="p2")  # another passage, answer or chat is another vote
    vote(one, 1, answer="2:def")
    vote(two, 1, chat=2)
    assert two.stats() == Stats(0, 0, 3, 1)


def test_counters_add_up_across_instances_and_threads(make_feedback: MakeFeedback) -> None:
    stores = [make_feedback(), make_feedback()]

    def worker(store: Feedback) -> None:
        for _ in range(25):
            store.count("questions")
        store.count("refusals", 2)

    threads = [threading.Thread(target=worker, args=(stores[i % 2],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stores[0].stats() == Stats(100, 8, 0, 0)


def test_chat_hash_is_the_same_in_every_instance(make_feedback: MakeFeedback) -> None:
    one, two = make_feedback(), make_feedback()
    assert one.chat_hash(7) == two.chat_hash(7) != one.chat_hash(8)
    assert len(one.chat_hash(7)) == 64


def test_a_vote_is_plus_or_minus_one(make_feedback: MakeFeedback) -> None:
    with pytest.raises(ValueError):
        vote(make_feedback(), 0)


# -- PostgreSQL only -------------------------------------------------------------------------


def test_chat_ids_are_stored_only_as_hashes_of_the_shared_salt(postgres_url: str) -> None:
    store = PostgresFeedbackStore(postgres_url, salt=SALT)
    vote(store, 1, chat=123456789)
    store.close()
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT chat_hash FROM votes").fetchall()
    assert rows == [(chat_hash(SALT, 123456789),)]
    with pytest.raises(ValueError, match="salt"):
        PostgresFeedbackStore(postgres_url, salt=b"")


def test_processes_starting_together_create_the_schema_once(postgres_url: str) -> None:
    from bot.catalogue import IndexCatalogue

    errors: list[BaseException] = []
    stores: list[object] = []
    barrier = threading.Barrier(6)

    def start(i: int) -> None:
        barrier.wait()
        try:
            stores.append(PostgresFeedbackStore(postgres_url, salt=SALT) if i % 2 else IndexCatalogue(postgres_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for store in stores:
        store.close()  # type: ignore[attr-defined]


def test_unavailable_postgres_raises_store_unavailable_then_works_again(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    pool = postgres_pool(postgres_url, timeout=0.5)
    store = PostgresFeedbackStore(pool, salt=SALT)
    try:
        vote(store, 1)
        postgres_server.stop()
        try:
            with pytest.raises(StoreUnavailable):
                vote(store, -1)
            with pytest.raises(StoreUnavailable):
                store.stats()
        finally:
            postgres_server.start()
        store.count("questions")  # the pool replaced its broken connections
        assert store.stats() == Stats(1, 0, 1, 0)
    finally:
        store.close()
        pool.close()
