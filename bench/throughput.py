"""Section 7: throughput, as shipped (long polling) and in webhook mode with N processes (issue 11).

Two workloads, both through the strict fake Bot API server of the tests:

* **burst**: 100 chats each send 2 questions at the same moment (200 updates queued at once);
  answers/s = 200 / (first question → last answer). Duplicates and losses are counted.
* **steady**: questions arrive at a fixed rate (12/s) from many chats for a while; the
  latency of each is its push → the bot's ``sendMessage`` for it.

Every question is distinct (eval questions with varied openers) so the answer cache never hits.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from .common import summary

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
