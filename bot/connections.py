"""Connections to the shared stores: Redis/Valkey clients, the PostgreSQL pool, their timeouts,
and :class:`StoreUnavailable`, what every backend raises when its server does not answer.

The backends (``state_redis``, ``leases``, ``throttle``, ``feedback_postgres``, ``gaps_postgres``,
``catalogue``) import from here; :mod:`bot.stores` chooses among them. The client libraries
(the ``scale`` extra) are imported only when a connection is made.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import redis
    import redis.asyncio
    from psycopg_pool import ConnectionPool

# Short timeouts: a store that does not answer within a few seconds fails the update (to be
# retried by Telegram) rather than holding a worker thread or the event loop.
REDIS_TIMEOUT = 2.0
POSTGRES_TIMEOUT = 5.0


class StoreUnavailable(Exception):
    """A shared store did not answer; retry the update later."""


def redis_url(url: str) -> str:
    """``url`` as redis-py takes it: valkey:// and valkeys:// speak the same protocol as redis:// and rediss://."""
    for ours, theirs in (("valkeys://", "rediss://"), ("valkey://", "redis://")):
        if url.startswith(ours):
            return theirs + url.removeprefix(ours)
    return url


def redis_options(*, asynchronous: bool) -> dict[str, Any]:
    """Client options for every Redis connection: short timeouts, two quick retries."""
    from redis.asyncio.retry import Retry as AsyncRetry
    from redis.backoff import ExponentialWithJitterBackoff
    from redis.retry import Retry

    retry_class = AsyncRetry if asynchronous else Retry
    return {
        "socket_timeout": REDIS_TIMEOUT,
        "socket_connect_timeout": REDIS_TIMEOUT,
        # Two quick retries: a pooled connection that died with a Redis restart is replaced transparently.
        "retry": retry_class(ExponentialWithJitterBackoff(base=0.02, cap=0.2), retries=2),
        "health_check_interval": 30,
    }


def sync_redis(url: str) -> redis.Redis:
    """A redis-py client (with its connection pool) for the sync stores, short timeouts."""
    import redis

    return redis.Redis.from_url(redis_url(url), decode_responses=True, **redis_options(asynchronous=False))


def async_redis(url: str) -> redis.asyncio.Redis:
    """A redis.asyncio client for locks and leases, short timeouts."""
    import redis.asyncio

    return redis.asyncio.Redis.from_url(redis_url(url), decode_responses=True, **redis_options(asynchronous=True))


def postgres_pool(dsn: str, *, max_size: int = 8, timeout: float | None = None) -> ConnectionPool:
    """A psycopg connection pool (autocommit, each connection checked before use); opened.

    ``timeout`` (default :data:`POSTGRES_TIMEOUT`) bounds the wait for a connection: PoolTimeout after it.
    """
    from psycopg_pool import ConnectionPool

    timeout = POSTGRES_TIMEOUT if timeout is None else timeout
    pool = ConnectionPool(
        dsn,
        min_size=1,
        max_size=max_size,
        timeout=timeout,
        kwargs={"autocommit": True, "connect_timeout": max(2, math.ceil(timeout))},
        # A connection broken by a server restart is replaced instead of failing the next query.
        check=ConnectionPool.check_connection,
        # Give up a failed background reconnection at once: the next call that needs a connection
        # starts a new attempt. With the default (retry with backoff for 5 min) the pool could sit
        # out a backoff delay after the server came back (measured: 1.6 s after a 12 s outage,
        # 0.01 s with 0).
        reconnect_timeout=0,
        open=False,
        name="summit",
    )
    pool.open(wait=False)
    return pool


@contextmanager
def postgres_errors() -> Iterator[None]:
    """Translate "PostgreSQL did not answer" into :class:`StoreUnavailable`."""
    import psycopg
    import psycopg_pool

    try:
        yield
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
        raise StoreUnavailable(f"PostgreSQL did not answer: {exc}") from exc


def create_schema(pool: ConnectionPool, schema: str, lock: int) -> None:
    """Run ``schema`` (CREATE ... IF NOT EXISTS) under advisory lock ``lock``: safe when N processes start at once."""
    with postgres_errors(), pool.connection() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
        conn.execute(schema)


class PostgresTables:
    """One store's tables in PostgreSQL, on its own pool (given a URL) or a shared one (given a pool).

    Subclasses set :attr:`schema` (CREATE ... IF NOT EXISTS) and :attr:`schema_lock`; the schema is
    created on open, under that advisory lock, so N processes may start together.
    """

    schema: str = ""
    schema_lock: int = 0

    def __init__(self, dsn_or_pool: str | ConnectionPool) -> None:
        self._owns_pool = isinstance(dsn_or_pool, str)
        self.pool = postgres_pool(dsn_or_pool) if isinstance(dsn_or_pool, str) else dsn_or_pool
        try:
            create_schema(self.pool, self.schema, self.schema_lock)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the connection pool if this store opened it; safe to call twice."""
        if self._owns_pool:
            self.pool.close()
