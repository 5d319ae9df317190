"""Child process for section 4: build / serve one synthetic index size and print JSON.

``build N OUTDIR QUERIES``: clustered unit vectors, exact ground truth, ``create_index(kind="auto")``,
save; ``serve OUTDIR``: a fresh process loads the saved index and searches one query at a time,
so its peak RSS is what serving that many vectors costs.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

DIM = 384
K = 10
CANDIDATES = 256  # RetrievalConfig.candidates: what the retriever fetches from FAISS on large corpora
SIGMA = 0.03  # per-dimension noise around a centre: same-cluster cosine ~ 1 / (1 + 384 * 0.03^2) ~ 0.74


def hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def centres_for(n: int) -> int:
    return int(min(4096, max(8, n // 100)))


def clustered(rng: np.random.Generator, centres: np.ndarray, n: int, chunk: int = 100_000) -> np.ndarray:
    """Gaussian mixture around ``centres``, rows normalised to unit length, float32, built in chunks."""
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        block = centres[rng.integers(0, len(centres), m)]
        block += SIGMA * rng.standard_normal((m, DIM), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start : start + m] = block
    return out


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int, chunk: int = 200_000) -> np.ndarray:
    """Exact top-k ids by inner product, chunked so no second copy of the vectors is made."""
    best_s = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, len(vectors), chunk):
        s = queries @ vectors[start : start + chunk].T
        kk = min(k, s.shape[1])
        part = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
        best_s = np.concatenate([best_s, np.take_along_axis(s, part, 1)], axis=1)
        best_i = np.concatenate([best_i, part + start], axis=1)
        keep = np.argsort(-best_s, axis=1)[:, :k]
        best_s = np.take_along_axis(best_s, keep, 1)
        best_i = np.take_along_axis(best_i, keep, 1)
    return best_i


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[:K]) & set(t)) / K for f, t in zip(found, truth, strict=True)]))


def timed_search(index, queries: np.ndarray, k: int) -> tuple[list[float], np.ndarray]:
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        _, ids = index.search(q[None, :], k)
        times.append(time.perf_counter() - t)
        found.append(ids[0])
    return times, np.array(found)


def build(n: int, outdir: Path, n_queries: int, flat_compare: bool) -> dict:
    from embeddings.vector_index import choose_kind, create_index

    rng = np.random.default_rng(n)
    centres = rng.standard_normal((centres_for(n), DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    t = time.perf_counter()
    vectors = clustered(rng, centres, n)
    queries = clustered(rng, centres, n_queries)
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    truth = exact_top(vectors, queries, K)
    truth_s = time.perf_counter() - t
    t = time.perf_counter()
    index = create_index(vectors, kind="auto")
    build_s = time.perf_counter() - t
    outdir.mkdir(parents=True, exist_ok=True)
    index.save(outdir / "index.faiss")
    np.save(outdir / "queries.npy", queries)
    np.save(outdir / "truth.npy", truth)
    result = {
        "n": n,
        "kind": index.kind,
        "auto_kind": choose_kind(n),
        "centres": len(centres),
        "generate_s": gen_s,
        "exact_s": truth_s,
        "build_s": build_s,
        "file_mb": (outdir / "index.faiss").stat().st_size / 2**20,
        "build_peak_rss_mb": hwm_mb(),  # before the flat comparison below adds a second copy
    }
    if flat_compare and index.kind != "flat":
        from embeddings.vector_index import FlatIndex

        flat = FlatIndex.build(vectors, np.arange(n, dtype=np.int64))
        times, found = timed_search(flat, queries[: min(60, n_queries)], CANDIDATES)
        result["flat_search_s"] = times
        result["flat_recall"] = recall(found, truth[: len(found)])
    return result


def serve(outdir: Path) -> dict:
    import faiss

    from embeddings.vector_index import read_index

    base = rss_mb()
    raw = faiss.read_index(str(outdir / "index.faiss"))
    kind = "ivf" if faiss.try_extract_index_ivf(raw) is not None else "flat"
    del raw
    index = read_index(outdir / "index.faiss", kind=kind)
    loaded = rss_mb()
    queries = np.load(outdir / "queries.npy")
    truth = np.load(outdir / "truth.npy")
    timed_search(index, queries[:20], CANDIDATES)  # warm-up
    times, found = timed_search(index, queries, CANDIDATES)
    result = {
        "kind": kind,
        "base_rss_mb": base,
        "loaded_rss_mb": loaded,
        "search_s": times,
        "recall": recall(found, truth),
        "serve_peak_rss_mb": hwm_mb(),
    }
    if kind == "ivf":
        ivf = faiss.extract_index_ivf(index.index)
        result["nlist"] = int(ivf.nlist)
        result["nprobe"] = int(ivf.nprobe)
        sweep = []
        default = int(ivf.nprobe)
        for nprobe in sorted({max(1, default // 4), max(1, default // 2), default, default * 2, default * 4}):
            ivf.nprobe = nprobe
            t, f = timed_search(index, queries, CANDIDATES)
            sweep.append({"nprobe": nprobe, "search_s": t, "recall": recall(f, truth)})
        ivf.nprobe = default
        result["sweep"] = sweep
    return result


if __name__ == "__main__":
    if sys.argv[1] == "build":
        out = build(int(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1")
    else:
        out = serve(Path(sys.argv[2]))
    print(json.dumps(out))
