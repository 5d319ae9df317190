"""A deterministic stand-in for a real embedder, for tests that need no model."""

from __future__ import annotations

import hashlib

import numpy as np

from embeddings.embedders import Embedder
from embeddings.normalize import tokens


class FakeEmbedder(Embedder):
    """Deterministic bag of normalised words hashed into ``dim`` signed buckets, as unit vectors.

    Texts sharing words get a high cosine, unrelated texts a cosine near 0. It
    counts what it embeds so tests can tell a rebuild from a load.
    """

    backend = "fake"

    def __init__(self, model_id: str = "fake-hash-v1", dim: int = 64) -> None:
        self.model_id = model_id
        self._dim = dim
        self.passages_embedded = 0
        self.queries_embedded = 0

    @property
    def dim(self) -> int:
        return self._dim

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        if is_query:
            self.queries_embedded += len(texts)
        else:
            self.passages_embedded += len(texts)
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in tokens(text) or ["\x00"]:
                digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self._dim
                out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
            if not out[row].any():  # every word cancelled out: still return a unit vector
                out[row, 0] = 1.0
        return out
