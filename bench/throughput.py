"""Section 7: throughput, as shipped (long polling) and in webhook mode with N processes (issue 11).

Two workloads, both through the strict fake Bot API server of the tests:

* **burst**: 100 chats each send 2 questions at the same moment (200 updates queued at once);
  answers/s = 200 / (first question → last answer). Duplicates and losses are counted.
* **steady**: questions arrive at a fixed rate (12/s) from many chats for a while; the
  latency of each is its push → the bot's ``sendMessage`` for it.

Every question is distinct (eval questions with varied openers) so the answer cache never hits.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .common import REPO, SUMMIT_BOT, TOKEN, Section, child_env, copy_index, fmt, stop_process, summary

sys.path.insert(0, str(REPO / "tests"))
from fakes.bot_process import wait_ready
from fakes.telegram_server import FakeTelegram
from servers import free_port, start_postgres, start_redis

OPENERS = ["", "Please tell me: ", "Quick question: ", "سؤال: ", "I wonder, ", "Tell me ", "So, ", "Hey, "]


def question_pool(questions: list[str], n: int) -> list[str]:
    """``n`` distinct questions: the eval questions, then again with openers."""
    return [OPENERS[(i // len(questions)) % len(OPENERS)] + questions[i % len(questions)] for i in range(n)]


def _answers(fake: Any, chat_ids: set[int]) -> list[Any]:
    return [c for c in fake.calls_to("sendMessage") if not c.error and c.params.get("chat_id") in chat_ids]


def burst(fake: Any, questions: list[str], *, chats: int = 100, per_chat: int = 2, timeout: float = 180) -> dict:
    """All questions pushed at once; wait until every chat has its answers."""
    clients = [fake.private_chat(language_code="ar" if u % 3 == 0 else "en") for u in range(chats)]
    ids = {c.chat_id for c in clients}
    pool = question_pool(questions, chats * per_chat)
    started = time.time()
    for j in range(per_chat):
        for u, client in enumerate(clients):
            client.send(pool[u * per_chat + j])
    total = chats * per_chat
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(_answers(fake, ids)) < total:
        time.sleep(0.05)
    time.sleep(1.0)  # late duplicates would arrive now
    sent = _answers(fake, ids)
    per_chat_count = Counter(c.params["chat_id"] for c in sent)
    last = max((c.time for c in sent), default=started)
    answered = sum(min(n, per_chat) for n in per_chat_count.values())
    return {
        "asked": total,
        "answered": answered,
        "lost": total - answered,
        "duplicates": sum(max(0, n - per_chat) for n in per_chat_count.values()),
        "elapsed_s": last - started,
        "answers_per_s": answered / max(last - started, 1e-9),
        "typing_calls": sum(1 for c in fake.calls_to("sendChatAction") if c.params.get("chat_id") in ids),
    }


def steady(fake: Any, questions: list[str], *, rate: float = 12.0, seconds: float = 20.0, timeout: float = 60) -> dict:
    """One question every 1/rate s, each from its own chat; latency = push → sendMessage."""
    n = int(rate * seconds)
    pool = question_pool(list(reversed(questions)), n)
    clients = [fake.private_chat(language_code="ar" if u % 3 == 0 else "en") for u in range(n)]
    pushed: dict[int, float] = {}
    start = time.monotonic()
    for i, client in enumerate(clients):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        pushed[client.chat_id] = time.time()
        client.send(pool[i])
    deadline = time.monotonic() + timeout
    ids = set(pushed)
    while time.monotonic() < deadline and len({c.params["chat_id"] for c in _answers(fake, ids)}) < n:
        time.sleep(0.05)
    first: dict[int, float] = {}
    for call in _answers(fake, ids):
        first.setdefault(call.params["chat_id"], call.time)
    latencies = [first[c] - pushed[c] for c in first]
    return {
        "asked": n,
        "answered": len(first),
        "rate": rate,
        "seconds": seconds,
        "reply": summary(latencies),
        "typing_calls": sum(1 for c in fake.calls_to("sendChatAction") if c.params.get("chat_id") in ids),
    }


# -- the bot under these workloads -------------------------------------------------------------

SECRET = "bench-webhook-secret_0123456789"
SALT = "bench-salt-0123456789abcdefghij"


@contextlib.contextmanager
def polling_bot(data_dir: Path, workdir: Path, **extra: str) -> Iterator[FakeTelegram]:
    """``summit-bot run`` as shipped (long polling, default settings) against a fresh fake."""
    fake = FakeTelegram(TOKEN).start()
    run_dir = workdir / "polling"
    shutil.rmtree(run_dir, ignore_errors=True)
    copy_index(data_dir, run_dir / "data")
    env = child_env(run_dir / "data", TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_BASE_URL=fake.base_url, **extra)
    with (run_dir / "bot.log").open("ab") as log:
        proc = subprocess.Popen([str(SUMMIT_BOT), "run"], env=env, cwd=run_dir, stdout=log, stderr=subprocess.STDOUT)
    try:
        fake.wait_for(lambda: len(fake.calls_to("setMyCommands")) >= 2 or proc.poll() is not None, 120, what="start")
        _warm(fake)
        yield fake
    finally:
        stop_process(proc)
        fake.stop()


@contextlib.contextmanager
def webhook_bots(
    data_dir: Path, workdir: Path, *, processes: int, shared: bool, cores: list[str] | None = None, **extra: str
) -> Iterator[FakeTelegram]:
    """``processes`` × ``summit-bot serve`` behind the fake's round-robin webhook delivery.

    ``shared``: on a real Redis and PostgreSQL (started here); else SQLite and memory (one process only).
    ``cores``: pin process i to ``cores[i]`` with taskset (e.g. one core each).
    """
    fake = FakeTelegram(TOKEN, cold_after=None).start()
    servers = []
    env_extra = dict(SUMMIT_WEBHOOK_SECRET=SECRET, SUMMIT_PROCESSES=str(processes), **extra)
    if shared:
        redis, postgres = start_redis(), start_postgres()
        servers = [redis, postgres]
        env_extra.update(
            SUMMIT_REDIS_URL=redis.fresh_url(),
            SUMMIT_DATABASE_URL=postgres.create_database(),
            SUMMIT_FEEDBACK_SALT=SALT,
        )
    procs: list[subprocess.Popen[bytes]] = []
    ports = [free_port() for _ in range(processes)]
    try:
        for i, port in enumerate(ports):
            run_dir = workdir / f"serve-{i}"
            shutil.rmtree(run_dir, ignore_errors=True)
            copy_index(data_dir, run_dir / "data")
            env = child_env(
                run_dir / "data", TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_BASE_URL=fake.base_url, **env_extra
            )
            cmd = [str(SUMMIT_BOT), "serve", "--port", str(port)]
            if cores:
                cmd = ["taskset", "-c", cores[i], *cmd]
            with (run_dir / "serve.log").open("ab") as log:
                procs.append(subprocess.Popen(cmd, env=env, cwd=run_dir, stdout=log, stderr=subprocess.STDOUT))
        for port, proc in zip(ports, procs, strict=True):
            wait_ready(f"http://127.0.0.1:{port}", proc, timeout=180)
        env = child_env(
            workdir / "serve-0" / "data", TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_BASE_URL=fake.base_url, **env_extra
        )
        subprocess.run(
            [str(SUMMIT_BOT), "webhook", "set", f"http://127.0.0.1:{ports[0]}/telegram"],
            env=env,
            check=True,
            capture_output=True,
        )
        fake.webhook_targets = [f"http://127.0.0.1:{p}/telegram" for p in ports]
        _warm(fake)
        yield fake
    finally:
        for proc in procs:
            stop_process(proc)
        fake.stop()
        for server in servers:
            with contextlib.suppress(Exception):
                server.stop()


def _warm(fake: FakeTelegram) -> None:
    for question in ("Where did Kim and Putin meet?", "أين التقى كيم وبوتين؟", "hello"):
        user = fake.private_chat()
        user.send(question)
        user.next_reply(60)


def _row(label: str, b: dict, s: dict | None) -> list[Any]:
    reply = (s or {}).get("reply", {})
    return [
        label,
        f"{b['answered']}/{b['asked']}",
        b["duplicates"],
        fmt(b["answers_per_s"], 1),
        fmt(b["typing_calls"] / max(b["asked"], 1), 2),
        f"{s['answered']}/{s['asked']}" if s else "—",
        fmt(reply.get("median"), 0),
        fmt(reply.get("p95"), 0),
    ]


def section(data_dir: Path, workdir: Path, questions: list[str], *, quick: bool = False) -> Section:
    """Section 7: the issue-11 targets, one run each, same machine, same questions."""
    sec = Section("throughput", "7. Throughput: polling vs webhook, one process vs two")
    chats = 10 if quick else 100
    seconds = 2.0 if quick else 20.0
    runs: dict[str, dict] = {}

    def measure(name: str, bots: contextlib.AbstractContextManager[FakeTelegram], steady_too: bool) -> None:
        with bots as fake:
            b = burst(fake, questions, chats=chats, per_chat=2)
            s = steady(fake, questions, rate=12.0, seconds=seconds) if steady_too else None
        runs[name] = {"burst": b, "steady": s}

    measure("polling, as shipped", polling_bot(data_dir, workdir), True)
    measure(
        "webhook, 1 process on 1 core, limiter off",
        webhook_bots(data_dir, workdir, processes=1, shared=False, cores=["1"], SUMMIT_API_RATE="0"),
        False,
    )
    measure(
        "webhook, 1 process on 1 core, limiter off, Redis + PostgreSQL",
        webhook_bots(data_dir, workdir, processes=1, shared=True, cores=["1"], SUMMIT_API_RATE="0"),
        True,
    )
    measure(
        "webhook, 2 processes (1 core each), limiter off, Redis + PostgreSQL",
        webhook_bots(data_dir, workdir, processes=2, shared=True, cores=["0", "1"], SUMMIT_API_RATE="0"),
        False,
    )
    measure(
        "webhook, 2 processes, as shipped (30 req/s shared), Redis + PostgreSQL",
        webhook_bots(data_dir, workdir, processes=2, shared=True),
        True,
    )
    sec.data["runs"] = runs
    sec.notes.append(
        f"Burst: {chats} chats each send 2 questions at the same moment ({2 * chats} updates queued at once); "
        "answers/s = answers / (first question → last answer). Steady: 12 questions/s, each from a new chat, "
        f"for {seconds:.0f} s; latency = the update's arrival at the fake → the bot's sendMessage. All questions "
        "distinct. The fake Bot API server (and its webhook delivery) runs in the benchmark process on the same "
        "2 cores as the bots, so 'on 1 core' means the bot is pinned to one core with taskset while the fake and "
        "the load generator share the other (two pinned processes share both cores with them)."
    )
    sec.table(
        "Throughput",
        [
            "configuration",
            "burst answered",
            "duplicates",
            "burst answers/s",
            "typing calls per answer",
            "steady 12/s answered",
            "steady p50 (ms)",
            "steady p95 (ms)",
        ],
        [_row(name, r["burst"], r["steady"]) for name, r in runs.items()],
    )
    shipped = runs["polling, as shipped"]
    one = runs["webhook, 1 process on 1 core, limiter off"]["burst"]["answers_per_s"]
    # Two processes need the shared stores, so they are compared with one process on the same stores.
    one_shared = runs["webhook, 1 process on 1 core, limiter off, Redis + PostgreSQL"]["burst"]["answers_per_s"]
    two = runs["webhook, 2 processes (1 core each), limiter off, Redis + PostgreSQL"]["burst"]["answers_per_s"]
    sec.data["two_over_one"] = two / one_shared if one_shared else None
    sec.data["two_over_one_local_stores"] = two / one if one else None
    sec.notes.append(
        f"Two processes / one: {two:.1f} / {one_shared:.1f} = {two / one_shared:.2f}× on the same Redis + "
        f"PostgreSQL ({two / one:.2f}× against one process on SQLite and memory). Redis and PostgreSQL run "
        "unpinned on the same two cores as the pinned bots, the fake and the load generator."
    )
    sec.target("as shipped: burst ≥ 25 answers/s", shipped["burst"]["answers_per_s"], 25.0, at_most=False, unit="/s")
    sec.target("as shipped: steady 12/s p95 ≤ 300 ms", shipped["steady"]["reply"].get("p95"), 300.0, unit="ms")
    sec.target("webhook: 1 process ≥ 40 answers/s (1 core, limiter off)", one, 40.0, at_most=False, unit="/s")
    sec.target(
        "webhook: 2 processes ≥ 1.8 × one (same stores)",
        two / one_shared if one_shared else None,
        1.8,
        at_most=False,
        unit="×",
    )
    for name, r in runs.items():
        sec.target(f"{name}: nothing lost, nothing twice", float(r["burst"]["lost"] + r["burst"]["duplicates"]), 0.0)
    return sec
