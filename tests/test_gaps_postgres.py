"""What only the PostgreSQL gap store has to get right: many processes creating its tables at once,
living beside other tables, the shared salt, and failing as StoreUnavailable while the server is down.

The behaviours both backends share are tested in test_gaps.py, test_gap_digest.py and test_gap_follow.py.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import psycopg
import pytest
import servers
from psycopg_pool import ConnectionPool

from bot.connections import StoreUnavailable, postgres_pool
from bot.feedback import chat_hash
from bot.gaps_postgres import PostgresGapStore

SALT = b"a shared secret of the test, 32b"


def record(store: PostgresGapStore, question: str = "What did Seoul say?", chat: int = 1) -> int | None:
    vector = np.ones(8, dtype=np.float32) / np.sqrt(8)
    return store.record(chat, question=question, language="en", kind="refused", candidates=[], reply="", vector=vector)


def test_processes_starting_together_create_the_tables_once_beside_the_others(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE votes (chat_hash TEXT, answer TEXT)")  # the votes store's, say
    start = threading.Barrier(8)

    def open_store() -> PostgresGapStore:
        start.wait()
        return PostgresGapStore(postgres_url, salt=SALT)

    with ThreadPoolExecutor(8) as pool:
        stores = list(pool.map(lambda _: open_store(), range(8)))
    try:
        assert record(stores[3]) is not None
        assert all(store.count() == 1 for store in stores)
    finally:
        for store in stores:
            store.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables == {"votes", "gap_decisions", "gap_records", "gap_marks"}


def test_a_pool_passed_in_is_shared_and_left_open(postgres_url: str) -> None:
    pool = postgres_pool(postgres_url)
    pool.wait()
    store = PostgresGapStore(pool, salt=SALT)
    record(store)
    store.close()
    assert not pool.closed
    with pool.connection() as conn:
        assert conn.execute("SELECT COUNT(*) FROM gap_records").fetchone() == (1,)
    pool.close()


def test_chat_ids_are_kept_only_as_the_shared_salted_hash(postgres_url: str) -> None:
    one = PostgresGapStore(postgres_url, salt=SALT)
    two = PostgresGapStore(postgres_url, salt=SALT)
    other = PostgresGapStore(postgres_url, salt=b"another install's secret")
    try:
        record(one, chat=987654321)
        # Every process hashes alike, and as the votes do (bot.feedback.chat_hash with the same salt).
        assert one.chat_hash(987654321) == two.chat_hash(987654321) == chat_hash(SALT, 987654321)
        assert other.chat_hash(987654321) != one.chat_hash(987654321)
        with pytest.raises(ValueError, match="salt"):
            PostgresGapStore(postgres_url, salt=b"")
    finally:
        for store in (one, two, other):
            store.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        dump = "".join(row[0] for row in conn.execute("SELECT r::text FROM gap_records r"))
    assert "987654321" not in dump and one.chat_hash(987654321) in dump


def test_a_stopped_server_is_store_unavailable_and_a_restarted_one_is_used_again(
    postgres_server: servers.PostgresServer, postgres_url: str
) -> None:
    store = PostgresGapStore(postgres_url, salt=SALT, timeout=1.0)
    try:
        group_id = record(store)
        assert group_id is not None
        postgres_server.stop()
        calls = {
            "record": lambda: record(store, "What did the Americans threaten?"),
            "count": store.count,
            "groups": store.groups,
            "group": lambda: store.group(group_id),
            "decide": lambda: store.decide(group_id, verdict="refuse"),
            "decisions": store.decisions,
            "decisions_since": lambda: store.decisions_since(0),
            "new_groups": store.new_groups,
            "digest_mark": store.digest_mark,
            "mark_digest": lambda: store.mark_digest(1),
            "claim_digest": lambda: store.claim_digest(0, 1),
        }
        for name, call in calls.items():
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                call()
            assert time.monotonic() - started < 5, name  # the pool's timeout, not a hang
        with pytest.raises(StoreUnavailable):
            PostgresGapStore(postgres_url, salt=SALT, timeout=1.0)  # a process starting now fails at once
        postgres_server.start()
        # The same store, its pooled connections broken by the restart: the next call works.
        assert store.count() == 1 and store.decide(group_id, verdict="refuse") is not None
    finally:
        postgres_server.start()
        store.close()


def test_a_connection_lost_mid_use_is_store_unavailable(postgres_url: str) -> None:
    pool = ConnectionPool(postgres_url, min_size=1, max_size=1, kwargs={"autocommit": True}, open=True)
    store = PostgresGapStore(pool, salt=SALT)
    try:
        with pool.connection() as conn:
            pid = conn.info.backend_pid
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(StoreUnavailable):
            store.count()  # this pool does not check connections before use: the query finds it dead
        assert store.count() == 0  # the broken connection was replaced
    finally:
        store.close()
        pool.close()
