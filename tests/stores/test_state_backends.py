"""ChatState conformance: the SQLite store and the Redis store behave alike (real Redis, no mocks)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from servers import RedisServer

from bot.state import StateStore, StoredHit
from bot.state_redis import RedisStateStore
from bot.stores import ChatState, StoreUnavailable

MakeState = Callable[..., ChatState]
HITS = [StoredHit("p1", {"ar": "قمة في فلاديفوستوك", "en": "A summit in Vladivostok"}), StoredHit("p2", {})]


@pytest.fixture(params=["sqlite", "redis"])
def make_state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeState]:
    """Opens a store; every store opened in one test shares the backing data, like processes would."""
    opened: list[ChatState] = []

    def make(*, history_size: int = 10, ttl: float = 3600) -> ChatState:
        if request.param == "sqlite":
            store: ChatState = StateStore(tmp_path / "state.sqlite3", history_size=history_size)
        else:
            url = request.getfixturevalue("redis_url")
            store = RedisStateStore(url, history_size=history_size, ttl=ttl, prefix="summit:test:")
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def add(store: ChatState, chat_id: int, question: str = "Where did they meet?") -> int:
    return store.add_turn(chat_id, question=question, language="en", confidence="high", truncated=False, hits=HITS)


def test_is_a_chat_state(make_state: MakeState) -> None:
    assert isinstance(make_state(), ChatState)


def test_language_and_previous_round_trip_and_are_seen_by_another_instance(make_state: MakeState) -> None:
    one, other = make_state(), make_state()
    assert one.language(1) is None and one.previous(1) is None
    one.set_language(1, "ar")
    one.set_previous(1, '{"q": "أين التقيا؟"}')
    assert other.language(1) == "ar"
    assert other.previous(1) == '{"q": "أين التقيا؟"}'
    other.set_previous(1, "")  # empty is a value, not "unset"
    assert one.previous(1) == ""
    other.set_language(1, None)
    other.set_previous(1, None)
    assert one.language(1) is None and one.previous(1) is None
    assert one.language(-100123) is None  # group chats have negative ids


def test_turns_round_trip_and_mark_shown_keeps_the_furthest(make_state: MakeState) -> None:
    store = make_state()
    assert [add(store, 5), add(store, 5), add(store, 6)] == [1, 2, 1]
    turn = store.turn(5, 2)
    assert turn is not None
    assert (turn.chat_id, turn.turn, turn.question, turn.language, turn.confidence) == (
        5,
        2,
        "Where did they meet?",
        "en",
        "high",
    )
    assert turn.truncated is False and turn.shown == 0
    assert turn.hits == tuple(HITS)
    store.mark_shown(5, 2, 3)
    store.mark_shown(5, 2, 1)  # an older button pressed later must not move it back
    assert store.turn(5, 2).shown == 3  # type: ignore[union-attr]
    assert store.turn(5, 1).shown == 0  # type: ignore[union-attr]
    assert store.turn(5, 9) is None and store.turn(7, 1) is None
    store.mark_shown(7, 1, 2)  # no such turn: nothing is created
    assert store.turn(7, 1) is None


def test_only_the_last_history_size_turns_are_kept(make_state: MakeState) -> None:
    store = make_state(history_size=3)
    numbers = [add(store, 1, f"q{i}") for i in range(5)]
    assert numbers == [1, 2, 3, 4, 5]
    assert store.turn(1, 1) is None and store.turn(1, 2) is None
    assert [store.turn(1, n).question for n in (3, 4, 5)] == ["q2", "q3", "q4"]  # type: ignore[union-attr]


def test_concurrent_add_turn_from_threads_and_instances_gives_distinct_numbers(make_state: MakeState) -> None:
    stores = [make_state(history_size=100), make_state(history_size=100)]
    numbers: list[int] = []
    lock = threading.Lock()

    def worker(store: ChatState) -> None:
        for _ in range(10):
            number = add(store, 42)
            with lock:
                numbers.append(number)

    threads = [threading.Thread(target=worker, args=(stores[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == list(range(1, 81))


def test_chat_count(make_state: MakeState) -> None:
    store = make_state()
    for chat in (1, 2, 3):
        store.set_language(chat, "en")
    add(store, 2)
    assert store.chat_count() == 3


# -- Redis only: expiry and an unavailable server ---------------------------------------------


def test_a_quiet_chat_expires_and_writes_refresh_it(redis_url: str) -> None:
    store = RedisStateStore(redis_url, ttl=0.6, prefix="summit:test:")
    try:
        store.set_language(1, "ar")
        add(store, 1)
        store.set_language(2, "en")
        for _ in range(3):  # chat 1 keeps talking, chat 2 is quiet
            time.sleep(0.2)
            store.mark_shown(1, 1, 1)
        assert store.language(1) == "ar" and store.turn(1, 1) is not None
        assert store.language(2) is None
        assert store.chat_count() == 1
        time.sleep(0.7)
        assert store.language(1) is None and store.turn(1, 1) is None
        assert store.chat_count() == 0
        assert not redis.Redis.from_url(redis_url).keys("summit:test:chat:*")
    finally:
        store.close()


def test_prefixes_keep_bots_apart(redis_url: str) -> None:
    one = RedisStateStore(redis_url, prefix="summit:1:")
    two = RedisStateStore(redis_url, prefix="summit:2:")
    one.set_language(1, "ar")
    assert two.language(1) is None
    assert add(two, 1) == 1 and add(one, 1) == 1
    one.close()
    two.close()


def test_unavailable_redis_raises_store_unavailable_then_works_again(redis_server: RedisServer, redis_url: str) -> None:
    store = RedisStateStore(redis_url, prefix="summit:test:")
    try:
        store.set_language(1, "ar")
        redis_server.stop()
        try:
            with pytest.raises(StoreUnavailable):
                store.language(1)
            with pytest.raises(StoreUnavailable):
                add(store, 1)
        finally:
            redis_server.start()
        assert store.language(1) == "ar"  # same data, and the pool reconnects by itself
        assert add(store, 1) == 1
    finally:
        store.close()
