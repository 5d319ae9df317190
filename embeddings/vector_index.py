"""FAISS vector indexes: one class per index kind behind a small base, chosen by :func:`create_index`.

All indexes use inner product on L2-normalised vectors (= cosine similarity)
and keep caller-given int64 ids, so rows map back to passages after a rebuild.

A shipped index is read memory-mapped (:func:`read_index` with ``mmap=True``): FAISS's
``IO_FLAG_MMAP_IFC`` maps the file read-only and searches the flat codes (``IndexFlatIP``
under ``IndexIDMap2``) and the IVF-SQ8 inverted lists in place, so every process serving
the same file shares one copy in the page cache. FAISS cannot grow a mapped index (adding
trips a C++ assertion that aborts the process, and ``clone_index`` does the same), so
vectors added later (questions editors teach) go to a small in-memory overlay searched
beside it.
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

    def __init__(self, index: faiss.Index, *, mapped: bool = False) -> None:
        self.index = index
        self.mapped = mapped  # searched in place in a read-only file mapping: never grown
        self._overlay: faiss.IndexIDMap2 | None = None  # vectors added to a mapped index
        self._overlay_ids: set[int] = set()

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def __len__(self) -> int:
        return int(self.index.ntotal) + (int(self._overlay.ntotal) if self._overlay is not None else 0)

    @classmethod
    @abstractmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray) -> VectorIndex:
        """Create an index holding ``vectors`` under ``ids``."""

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids) per query row; missing slots have id -1."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, len(self)))
        overlay = self._overlay
        if overlay is None or overlay.ntotal == 0:
            return self.index.search(queries, k)
        scores, ids = self.index.search(queries, max(1, min(k, int(self.index.ntotal))))
        more_scores, more_ids = overlay.search(queries, min(k, int(overlay.ntotal)))
        scores, ids = np.hstack([scores, more_scores]), np.hstack([ids, more_ids])
        best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, best, axis=1), np.take_along_axis(ids, best, axis=1)

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Add ``vectors`` under ``ids`` to the live index (in memory; the file is not rewritten)."""
        vectors = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
        if not self.mapped:
            self.index.add_with_ids(vectors, ids.astype(np.int64))
            return
        if self._overlay is None:
            self._overlay = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        self._overlay.add_with_ids(vectors, ids.astype(np.int64))
        self._overlay_ids.update(int(i) for i in ids)

    def stored(self, ids: list[int]) -> np.ndarray | None:
        """The stored vectors of ``ids``, where the index keeps them exactly (None: re-embed)."""
        return None

    def save(self, path: Path) -> None:
        """Write with ``faiss.write_index`` (atomically: temp file, then rename)."""
        if self._overlay is not None:
            # The overlay holds run-time additions to a shipped index; a shipped index is rebuilt, not re-saved.
            raise VectorIndexError("a memory-mapped index with vectors added at run time cannot be saved")
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
        if not ids:
            return None
        overlay = self._overlay
        return np.stack(
            [
                overlay.reconstruct(int(i))
                if overlay is not None and int(i) in self._overlay_ids
                else self.index.reconstruct(int(i))
                for i in ids
            ]
        )


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


# Map the file and search it in place (FAISS >= 1.11; both index kinds above support it). The
# older IO_FLAG_MMAP is not an alternative: it leaves flat codes in memory and, for IVF, expects
# an OnDiskInvertedLists file, which write_index of an ordinary IVF index is not.
_MMAP_FLAG: int | None = getattr(faiss, "IO_FLAG_MMAP_IFC", None)


def can_mmap() -> bool:
    """Whether this FAISS can search an index file in place (memory-mapped)."""
    return _MMAP_FLAG is not None


def read_index(path: Path, *, kind: str, mmap: bool = False) -> VectorIndex:
    """Load an index written by :meth:`VectorIndex.save`; ``mmap`` maps it read-only where FAISS can."""
    cls = INDEX_KINDS.get(kind)
    if cls is None:
        raise VectorIndexError(f"{path}: unknown index kind {kind!r}")
    mapped = mmap and _MMAP_FLAG is not None
    try:
        raw = (
            faiss.read_index(str(path), _MMAP_FLAG | faiss.IO_FLAG_READ_ONLY) if mapped else faiss.read_index(str(path))
        )
    except RuntimeError as exc:  # FAISS reports truncated/garbage files as RuntimeError
        raise VectorIndexError(f"cannot read FAISS index {path}: {str(exc).splitlines()[0]}") from exc
    index = cls(raw, mapped=mapped)
    if isinstance(index, IVFIndex):
        index.configure()
    return index
