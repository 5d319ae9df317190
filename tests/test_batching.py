"""The bot's micro-batching embedder: concurrent questions share calls and each caller gets its own rows."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from fakes.embedder import FakeEmbedder

from embeddings.embedders import BatchingEmbedder


def test_concurrent_questions_get_their_own_vectors() -> None:
    inner = FakeEmbedder()
    batching = BatchingEmbedder(inner)
    questions = [f"question number {i} about topic {i % 7}" for i in range(40)]
    expected = inner.embed_queries(questions)
    results: dict[int, np.ndarray] = {}

    def ask(i: int) -> None:
        results[i] = batching.embed_queries([questions[i]])[0]

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(len(questions)):
        np.testing.assert_allclose(results[i], expected[i], rtol=1e-6)
    assert batching.batched_texts == len(questions)
    assert 1 <= batching.batches <= len(questions)
    assert batching.backend == inner.backend and batching.model_id == inner.model_id


def test_errors_reach_the_caller_and_passages_bypass_the_queue() -> None:
    class Broken(FakeEmbedder):
        def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
            if is_query:
                raise RuntimeError("engine failed")
            return super()._encode(texts, is_query=is_query)

    batching = BatchingEmbedder(Broken())
    with pytest.raises(RuntimeError, match="engine failed"):
        batching.embed_queries(["where?"])
    assert batching.embed_passages(["a passage"]).shape == (1, 64)
    assert batching.embed_queries([]).shape == (0, 64)
