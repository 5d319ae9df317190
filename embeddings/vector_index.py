"""FAISS vector indexes: one class per index kind behind a small base, chosen by :func:`create_index`.

All indexes use inner product on L2-normalised vectors (= cosine similarity)
and keep caller-given int64 ids, so rows map back to passages after a rebuild.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from .embedders import passive_openmp

passive_openmp()  # before FAISS loads its OpenMP runtime

import faiss  # noqa: E402
import numpy as np  # noqa: E402

# Up to this many vectors an exact flat scan is fast enough and exact. Measured by
# `python -m bench` (docs/benchmarks.md, section 4; 2 shared cores, one query, k=256):
# flat 100k x 384 search p99 28 ms (median 16 ms), 152 MB; flat 1M p99 208 ms, so 1M
# needs IVF: IVF-SQ8 (nlist 1000, nprobe 31) p99 2.9 ms, recall@10 0.959, 376 MB.
# Above 100k flat would break the 50 ms p99 budget on a busy machine.
FLAT_MAX_VECTORS = 100_000


class VectorIndexError(Exception):
    """A FAISS index file cannot be read or does not fit the expected shape."""


class VectorIndex(ABC):
    """A searchable set of unit vectors with int64 ids."""

    kind: ClassVar[str]

    def __init__(self, index: faiss.Index) -> None:
        self.index = index

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @classmethod
    @abstractmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray) -> VectorIndex:
        """Create an index holding ``vectors`` under ``ids``."""

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids) per query row; missing slots have id -1."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, len(self)))
        return self.index.search(queries, k)

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Add ``vectors`` under ``ids`` to the live index (in memory; the file is not rewritten)."""
        self.index.add_with_ids(np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32), ids.astype(np.int64))

    def stored(self, ids: list[int]) -> np.ndarray | None:
        """The stored vectors of ``ids``, where the index keeps them exactly (None: re-embed)."""
        return None

    def save(self, path: Path) -> None:
        """Write with ``faiss.write_index`` (atomically: temp file, then rename)."""
        tmp = path.with_name(path.name + ".tmp")
        faiss.write_index(self.index, str(tmp))
        tmp.replace(path)


class FlatIndex(VectorIndex):
    """Exact search: every vector scored. Best below :data:`FLAT_MAX_VECTORS`."""

    kind = "flat"

    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray) -> FlatIndex:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
        return cls(index)

    def stored(self, ids: list[int]) -> np.ndarray | None:
        return np.stack([self.index.reconstruct(int(i)) for i in ids]) if ids else None


class IVFIndex(VectorIndex):
    """Approximate search: inverted lists over k-means cells, 8-bit scalar-quantised vectors.

    SQ8 keeps 1M x 384 vectors in ~0.4 GB instead of 1.5 GB. nlist = sqrt(n) rather
    than FAISS's 4*sqrt(n): on 2 cores k-means over 4000 cells for 1M vectors takes
    minutes, over 1000 cells well under a minute, and nprobe = nlist/32 then scans
    ~3% of the vectors (bench/, docs/benchmarks.md: recall@10 and p99 at 1M).
    """

    kind = "ivf"
    NPROBE_FRACTION = 1 / 32  # share of cells scanned per query
    MIN_NPROBE = 16
    TRAIN_PER_CELL = 40  # k-means needs ~40 points per cell to be stable; more only slows training

    @staticmethod
    def nlist_for(n: int) -> int:
        return max(16, min(65536, int(math.sqrt(n))))

    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray) -> IVFIndex:
        n, dim = vectors.shape
        nlist = cls.nlist_for(n)
        quantizer = faiss.IndexFlatIP(dim)
        ivf = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        sample = vectors[np.random.default_rng(0).permutation(n)[: nlist * cls.TRAIN_PER_CELL]]
        ivf.train(np.ascontiguousarray(sample, dtype=np.float32))
        ivf.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
        index = cls(ivf)
        index.configure()
        return index

    def configure(self) -> None:
        """Set nprobe for this index's size (also after loading from disk)."""
        ivf = faiss.extract_index_ivf(self.index)
        ivf.nprobe = max(self.MIN_NPROBE, int(ivf.nlist * self.NPROBE_FRACTION))


INDEX_KINDS: dict[str, type[VectorIndex]] = {FlatIndex.kind: FlatIndex, IVFIndex.kind: IVFIndex}


def choose_kind(n: int) -> str:
    """Exact search for small corpora, approximate above :data:`FLAT_MAX_VECTORS`."""
    return FlatIndex.kind if n <= FLAT_MAX_VECTORS else IVFIndex.kind


def create_index(vectors: np.ndarray, ids: np.ndarray | None = None, *, kind: str = "auto") -> VectorIndex:
    """Build an index of the given kind (``auto`` picks by size)."""
    if vectors.ndim != 2 or len(vectors) == 0:
        raise VectorIndexError("cannot index an empty set of vectors")
    if ids is None:
        ids = np.arange(len(vectors), dtype=np.int64)
    kind = choose_kind(len(vectors)) if kind == "auto" else kind
    if kind not in INDEX_KINDS:
        raise VectorIndexError(f"unknown index kind {kind!r}; choose one of: auto, {', '.join(INDEX_KINDS)}")
    return INDEX_KINDS[kind].build(vectors, ids)


def read_index(path: Path, *, kind: str) -> VectorIndex:
    """Load an index written by :meth:`VectorIndex.save`."""
    try:
        raw = faiss.read_index(str(path))
    except RuntimeError as exc:  # FAISS reports truncated/garbage files as RuntimeError
        raise VectorIndexError(f"cannot read FAISS index {path}: {str(exc).splitlines()[0]}") from exc
    cls = INDEX_KINDS.get(kind)
    if cls is None:
        raise VectorIndexError(f"{path}: unknown index kind {kind!r}")
    index = cls(raw)
    if isinstance(index, IVFIndex):
        index.configure()
    return index
