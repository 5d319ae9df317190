"""The gap-store backends the gap tests run on: SQLite and a real PostgreSQL.

Import ``open_store`` into a test module to run its tests once per backend. ``open_store()``
opens the test's one database again on every call: another bot process sharing it, or a restart.
The PostgreSQL server (tests/servers.py, ``postgres_url``: a fresh database per test) only starts
for the postgres half.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.gaps import GapStore, GapStoreBase

SALT = b"a shared secret of the test, 32b"  # SUMMIT_FEEDBACK_SALT of every "process"
OpenStore = Callable[..., GapStoreBase]


@pytest.fixture(params=["sqlite", "postgres"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    """A function opening a store of the backend on the test's database; all are closed after the test."""
    opened: list[GapStoreBase] = []
    if request.param == "postgres":
        from bot.gaps_postgres import PostgresGapStore

        url = request.getfixturevalue("postgres_url")

        def make(**kwargs: float) -> GapStoreBase:
            return PostgresGapStore(url, salt=SALT, **kwargs)
    else:

        def make(**kwargs: float) -> GapStoreBase:
            return GapStore(tmp_path / "gaps.sqlite3", **kwargs)

    def open_(**kwargs: float) -> GapStoreBase:
        opened.append(make(**kwargs))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()
