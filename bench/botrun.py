"""Sections 2 and 5: cold start of `summit-bot ask` / `summit-bot run`, and the bot under load.

The bot runs as a real subprocess (`summit-bot run`) against the fake Telegram Bot API
server of the end-to-end tests (tests/fakes/telegram_server.py), as tests/e2e does.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .common import (
    REPO,
    SUMMIT_BOT,
    TOKEN,
    Section,
    child_env,
    copy_index,
    fmt,
    proc_status_mb,
    run_child,
    stop_process,
    summary,
)

sys.path.insert(0, str(REPO / "tests"))
from fakes.telegram_server import FakeTelegram

QUESTION = "Where did Kim and Putin meet?"


def cold_ask(data_dir: Path, workdir: Path, *, reps: int) -> tuple[Section, dict[str, Any]]:
    sec = Section("cold_start", "2. Cold start")
    env = child_env(data_dir)
    python = str(Path(sys.executable))
    runs: dict[str, list] = {"python -c pass": [], "summit-bot --help": [], "summit-bot ask": []}
    rss: list[float] = []
    for _ in range(reps):
        runs["python -c pass"].append(run_child([python, "-c", "pass"], env, cwd=workdir).wall_s)
        runs["summit-bot --help"].append(run_child([str(SUMMIT_BOT), "--help"], env, cwd=workdir).wall_s)
        r = run_child([str(SUMMIT_BOT), "ask", "--json", QUESTION], env, cwd=workdir)
        if r.returncode != 0 or r.first_line_s is None:
            raise RuntimeError(f"summit-bot ask failed ({r.returncode}): {r.stderr[-2000:]}")
        runs["summit-bot ask"].append(r.first_line_s)
        rss.append(r.peak_rss_mb)
    sec.data["ask_runs"] = {k: summary(v) for k, v in runs.items()}
    sec.data["ask_peak_rss_mb"] = rss
    return sec, runs


def _bot_process(fake: FakeTelegram, data_dir: Path, log_path: Path, **extra: str) -> subprocess.Popen[bytes]:
    env = child_env(data_dir, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_BASE_URL=fake.base_url, **extra)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [str(SUMMIT_BOT), "run"], env=env, cwd=log_path.parent, stdout=log, stderr=subprocess.STDOUT
        )


def cold_bot(data_dir: Path, workdir: Path, *, reps: int) -> list[dict[str, float]]:
    """Process start -> first reply sent to a question that was waiting before the bot started."""
    out = []
    for rep in range(reps):
        fake = FakeTelegram(TOKEN).start()
        run_dir = workdir / f"cold-bot-{rep}"
        copy_index(data_dir, run_dir / "data")
        user = fake.private_chat()
        try:
            user.send(QUESTION)
            started_wall = time.time()
            started = time.perf_counter()
            proc = _bot_process(fake, run_dir / "data", run_dir / "bot.log")
            try:

                def replied(fake=fake, user=user, proc=proc) -> bool:
                    return bool(fake.sent_to(user.chat_id)) or proc.poll() is not None

                fake.wait_for(replied, 120, what="first reply")
                if proc.poll() is not None:
                    raise RuntimeError(f"bot exited: {(run_dir / 'bot.log').read_text()[-2000:]}")
                first_reply = time.perf_counter() - started
                sends = [c for c in fake.calls_to("sendMessage") if c.params.get("chat_id") == user.chat_id]
                api_time = sends[0].time - started_wall if sends else first_reply
                rss = proc_status_mb(proc.pid, "VmHWM")
            finally:
                stop_process(proc)
        finally:
            fake.stop()
        out.append({"first_reply_s": first_reply, "sendMessage_at_s": api_time, "peak_rss_mb": rss})
    return out


def finish_cold(sec: Section, runs: dict[str, list], bot_runs: list[dict[str, float]]) -> None:
    bot_s = [r["sendMessage_at_s"] for r in bot_runs]
    rows = [
        [name, *[fmt(summary(v)[x] / 1000, 2) for x in ("median", "min", "max")], len(v)] for name, v in runs.items()
    ]
    b = summary(bot_s)
    rows.append(
        [
            "`summit-bot run` → first reply via fake API",
            *[fmt(b[x] / 1000, 2) for x in ("median", "min", "max")],
            len(bot_s),
        ]
    )
    sec.notes.append(
        "`summit-bot ask`: process start → first line of the answer on stdout, index already built "
        "(a copy of the seed index in a temp SUMMIT_DATA_DIR). `summit-bot run`: a question is queued in the "
        "fake Bot API server before the process starts; the time is process start → the bot's sendMessage "
        "for it. `python -c pass` and `summit-bot --help` are the interpreter and CLI floors."
    )
    sec.table("Process start → first answer (s)", ["command", "median", "min", "max", "runs"], rows)
    ask_med = summary(runs["summit-bot ask"])["median"] / 1000
    sec.target("cold `ask` ≤ 1.5 s", ask_med, 1.5, unit="s")
    sec.target("cold bot first reply ≤ 3 s", b["median"] / 1000, 3.0, unit="s")
    sec.data["bot_runs"] = bot_runs


def _load_once(
    data_dir: Path, workdir: Path, questions: list[str], *, users: int, per_user: int, **extra: str
) -> dict[str, Any]:
    """``users`` simulated users start at once; each sends a question, waits for the reply, sends the next."""
    fake = FakeTelegram(TOKEN).start()
    run_dir = workdir / "load"
    shutil.rmtree(run_dir, ignore_errors=True)
    copy_index(data_dir, run_dir / "data")
    log_path = run_dir / "bot.log"
    proc = _bot_process(fake, run_dir / "data", log_path, **extra)
    try:
        fake.wait_for(
            lambda: len(fake.calls_to("setMyCommands")) >= 2 or proc.poll() is not None, 120, what="bot start"
        )
        warm = fake.private_chat()
        warm.send(QUESTION)
        warm.next_reply(60)
        rss_idle = proc_status_mb(proc.pid, "VmHWM")
        # Every question distinct (no answer-cache hits): the worst case for the embedder.
        total = users * per_user
        pool = [questions[i % len(questions)] for i in range(total)]
        prefixes = ["", "Please tell me: ", "Quick question: ", "سؤال: ", "I wonder, ", "Tell me "]
        pool = [prefixes[(i // len(questions)) % len(prefixes)] + q for i, q in enumerate(pool)]
        clients = [fake.private_chat(language_code="ar" if u % 3 == 0 else "en") for u in range(users)]
        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        go = threading.Event()

        def user(u: int) -> None:
            client = clients[u]
            go.wait()
            for j in range(per_user):
                t = time.perf_counter()
                client.send(pool[u * per_user + j])
                try:
                    client.next_reply(60)
                except AssertionError as exc:
                    with lock:
                        failures.append(str(exc)[:200])
                    return
                with lock:
                    latencies.append(time.perf_counter() - t)

        errors_before = len(fake.errors())
        threads = [threading.Thread(target=user, args=(u,)) for u in range(users)]
        for th in threads:
            th.start()
        started = time.perf_counter()
        go.set()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - started
        rss_peak = proc_status_mb(proc.pid, "VmHWM")
        api_errors = list(fake.errors()[errors_before:])
    finally:
        code = stop_process(proc)
        fake.stop()
    log = log_path.read_text(encoding="utf-8", errors="replace")
    handler_errors = len(re.findall(r"error while handling update", log))
    batches = re.search(r"embedded (\d+) questions in (\d+) batch calls", log)
    errors = len(failures) + len(api_errors) + handler_errors
    return {
        "users": users,
        "per_user": per_user,
        "asked": users * per_user,
        "answered": len(latencies),
        "timeouts": len(failures),
        "api_errors": len(api_errors),
        "handler_errors": handler_errors,
        "errors": errors,
        "elapsed_s": elapsed,
        "answers_per_s": len(latencies) / elapsed,
        "reply": summary(latencies),
        "bot_rss_after_start_mb": rss_idle,
        "bot_peak_rss_mb": rss_peak,
        "exit_code": code,
        "batched_questions": int(batches[1]) if batches else None,
        "batch_calls": int(batches[2]) if batches else None,
    }


def load_test(data_dir: Path, workdir: Path, questions: list[str], *, users: int, per_user: int) -> Section:
    sec = Section("load", "5. Bot under load")
    shipped = _load_once(data_dir, workdir, questions, users=users, per_user=per_user)
    unlimited = _load_once(data_dir, workdir, questions, users=users, per_user=per_user, SUMMIT_API_RATE="0")
    rows = []
    for label, r in (("as shipped (API limit 30 req/s)", shipped), ("API rate limiter off", unlimited)):
        s = r["reply"]
        per_call = r["batched_questions"] / r["batch_calls"] if r.get("batch_calls") else None
        rows.append(
            [
                label,
                r["asked"],
                r["answered"],
                r["errors"],
                fmt(s.get("median"), 0),
                fmt(s.get("p95"), 0),
                fmt(s.get("p99"), 0),
                fmt(r["answers_per_s"], 1),
                fmt(r["elapsed_s"], 2),
                fmt(per_call, 2),
            ]
        )
    sec.notes.append(
        f"{users} users in private chats start at the same moment; each sends a question, waits for the reply, "
        f"then sends the next ({per_user} each, {users * per_user} in all). All questions are distinct "
        "(eval questions with varied openers), so no answer-cache hits. Reply time = user's send → the bot's "
        "message arrives at the fake server. The fake server runs in the benchmark process on the same 2 cores. "
        "'Questions per embed call' is the micro-batcher's average batch (from the bot's shutdown log line)."
    )
    sec.notes.append(
        "**What bounds answers/s.** The bot sends every Bot API request through PTB's `AIORateLimiter`, whose "
        "overall limit is Telegram's documented ~30 messages/s per bot. Each answer costs two limited requests "
        "(`sendChatAction` typing + `sendMessage`), so the shipped bot cannot exceed ~15 answers/s sustained "
        "(a burst of 30 requests is allowed first) however fast retrieval is; more than 30 answers/s would "
        "exceed Telegram's own flood limit even with no typing action. The second row turns that limiter off "
        "(`SUMMIT_API_RATE=0`) to show what the bot itself can process on this machine."
    )
    sec.table(
        "Load result",
        [
            "configuration",
            "asked",
            "replied",
            "errors",
            "p50 (ms)",
            "p95 (ms)",
            "p99 (ms)",
            "answers/s",
            "wall (s)",
            "questions per embed call",
        ],
        rows,
    )
    sec.target("errors = 0 (shipped)", float(shipped["errors"]), 0.0)
    sec.target("all questions answered (shipped)", float(shipped["answered"]), float(shipped["asked"]), at_most=False)
    sec.target("p95 reply ≤ 500 ms (shipped)", shipped["reply"].get("p95"), 500.0, unit="ms")
    sec.target("≥ 40 answers/s (shipped)", shipped["answers_per_s"], 40.0, at_most=False, unit="/s")
    sec.target("errors = 0 (limiter off)", float(unlimited["errors"]), 0.0)
    sec.target("p95 reply ≤ 500 ms (limiter off)", unlimited["reply"].get("p95"), 500.0, unit="ms")
    sec.target("≥ 40 answers/s (limiter off)", unlimited["answers_per_s"], 40.0, at_most=False, unit="/s")
    sec.data = {"shipped": shipped, "limiter_off": unlimited, "bot_peak_rss_mb": shipped["bot_peak_rss_mb"]}
    shutil.rmtree(workdir / "load", ignore_errors=True)
    return sec
