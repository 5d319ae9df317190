"""Section 8: what the shared stores cost per answer (Redis + PostgreSQL vs SQLite + memory).

One answer in webhook mode touches the stores in this order: the update's lease, the user's
rate limit, the chat's lock, the chat's language and previous state, the new state, the
"questions" counter, the stored turn (for the buttons), the lock's release and the lease's
done mark. This replays exactly that sequence against each backend, timed per answer.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from pathlib import Path

from .common import REPO, Section, fmt, summary

sys.path.insert(0, str(REPO / "tests"))
from servers import start_postgres, start_redis

from bot.settings import Settings
from bot.state import StoredHit
from bot.stores import Stores, open_stores

HITS = [StoredHit(f"000_doc:{i}", {"en": "A sentence of the article.", "ar": "جملة من المقال."}) for i in range(5)]
STATE = '{"previous": "Where did Kim and Putin meet?", "shown": "000_doc:3"}'


async def _one_answer(stores: Stores, update_id: int, chat_id: int) -> float:
    started = time.perf_counter()
    await stores.leases.claim(update_id)
    await stores.limiter.hit(chat_id)
    async with stores.locks.hold(chat_id):
        stores.state.language(chat_id)
        stores.state.previous(chat_id)
        stores.state.set_previous(chat_id, STATE)
        stores.feedback.count("questions")
        stores.state.add_turn(
            chat_id,
            question="Where did Kim and Putin meet?",
            language="en",
            confidence="high",
            truncated=False,
            hits=HITS,
        )
    await stores.leases.finish(update_id)
    return time.perf_counter() - started


async def _run(stores: Stores, answers: int) -> list[float]:
    ids = itertools.count(1)
    samples = []
    for i in range(answers):
        samples.append(await _one_answer(stores, next(ids), 10_000 + i % 200))
    await stores.aclose()
    return samples


def section(workdir: Path, *, answers: int = 2000) -> Section:
    sec = Section("stores", "8. Shared stores: cost per answer")
    redis, postgres = start_redis(), start_postgres()
    try:
        local = Settings(data_dir=workdir / "stores-local", rate_limit=10**6)
        shared = Settings(
            data_dir=workdir / "stores-shared",
            rate_limit=10**6,
            redis_url=redis.fresh_url(),
            database_url=postgres.create_database(),
            feedback_salt="bench-salt-0123456789abcdef",
        )
        local.data_dir.mkdir(parents=True, exist_ok=True)
        shared.data_dir.mkdir(parents=True, exist_ok=True)
        runs = {
            "SQLite + memory (laptop default)": asyncio.run(_run(open_stores(local, prefix="bench:"), answers)),
            "Redis + PostgreSQL (shared)": asyncio.run(_run(open_stores(shared, prefix="bench:"), answers)),
        }
    finally:
        redis.stop()
        postgres.stop()
    stats = {name: summary(samples[answers // 10 :]) for name, samples in runs.items()}  # first 10 %: warm-up
    sec.data["per_answer_ms"] = stats
    sec.notes.append(
        f"{answers} answers' store calls replayed in sequence (the first 10 % dropped as warm-up), one process, "
        "servers on 127.0.0.1 (a network hop to managed Redis/PostgreSQL adds its round-trip times to each of "
        "the ~10 calls). Both Redis and PostgreSQL are real servers started by the benchmark."
    )
    sec.table(
        "Store calls per answer (ms)",
        ["backend", "median", "p95", "p99", "answers"],
        [[name, fmt(s["median"], 2), fmt(s["p95"], 2), fmt(s["p99"], 2), s["n"]] for name, s in stats.items()],
    )
    extra = stats["Redis + PostgreSQL (shared)"]["median"] - stats["SQLite + memory (laptop default)"]["median"]
    sec.data["shared_extra_median_ms"] = extra
    sec.target(
        "Redis + PostgreSQL cost per answer (median) ≤ 3 ms",
        stats["Redis + PostgreSQL (shared)"]["median"],
        3.0,
        unit="ms",
    )
    return sec
