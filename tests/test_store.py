"""The on-disk index (FAISS file + JSON sidecar + manifest) and the FAISS index kinds behind it."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest

from embeddings import store, vector_index
from embeddings.corpus import Corpus, load_corpus
from embeddings.store import (
    DOCS_DIR,
    FIX_COMMAND,
    INDEX_FILE,
    MANIFEST_FILE,
    UNITS_FILE,
    IndexUnreadableError,
    build_index,
    open_index,
)
from embeddings.vector_index import (
    FlatIndex,
    IVFIndex,
    VectorIndexError,
    choose_kind,
    create_index,
    read_index,
)

QUESTION = "Where did Kim Jong Un and Putin meet at the Vostochny space base?"


@pytest.fixture
def index_dir(tmp_data: Path) -> Path:
    return tmp_data / "index"


def _top(loaded: store.LoadedIndex, embedder, question: str = QUESTION, k: int = 5) -> list[tuple[int, float]]:
    scores, ids = loaded.vectors.search(embedder.embed_queries([question]), k)
    return [(int(i), round(float(s), 5)) for s, i in zip(scores[0], ids[0], strict=True)]


def _log_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "embeddings.store")


# -- round trip -------------------------------------------------------------------------------


def test_build_writes_three_files_and_json_sidecars(corpus: Corpus, fake_embedder, index_dir: Path) -> None:
    loaded = build_index(corpus, fake_embedder, index_dir)
    assert {p.name for p in index_dir.iterdir()} == {INDEX_FILE, UNITS_FILE, MANIFEST_FILE, DOCS_DIR}
    assert len(list((index_dir / DOCS_DIR).glob("*.npy"))) == 1  # one article, one vector file
    manifest = json.loads((index_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["backend"] == "fake" and manifest["model_id"] == "fake-hash-v1" and manifest["dim"] == 64
    assert manifest["corpus_hash"] == corpus.hash and manifest["passages"] == 22
    assert {"format_version", "normaliser_version", "index_kind", "count"} <= set(manifest)
    units = json.loads((index_dir / UNITS_FILE).read_text(encoding="utf-8"))
    assert len(units) == manifest["count"] == len(loaded.vectors) == len(loaded.units)
    # Every paragraph is embedded in both languages, and so is every editor question of meta.json.
    assert {(p, lang) for p, lang, sentence, question in units if sentence == 0 and not question} == {
        (i, lang) for i in range(22) for lang in ("ar", "en")
    }
    asked = [(p, lang) for p, lang, _, question in units if question]
    assert len(asked) == sum(len(p.questions) for p in corpus.passages) > 0


def test_open_loads_without_rebuilding_and_gives_same_results(
    corpus: Corpus, fake_embedder, fake_embedder_class, index_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    built = build_index(corpus, fake_embedder, index_dir)
    fresh = fake_embedder_class()
    caplog.set_level(logging.INFO, logger="embeddings.store")
    loaded = open_index(corpus, fresh, index_dir)
    assert fresh.passages_embedded == 0, "a matching index must be loaded, not rebuilt"
    assert "building index" not in _log_text(caplog)
    assert loaded.units == built.units
    assert loaded.manifest.corpus_hash == built.manifest.corpus_hash
    assert _top(loaded, fresh) == _top(built, fake_embedder)


def test_missing_index_is_built_with_a_log_line(
    corpus: Corpus, fake_embedder, index_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="embeddings.store")
    loaded = open_index(corpus, fake_embedder, index_dir)
    # Editor questions are embedded as queries (question to question); everything else as passages.
    assert fake_embedder.passages_embedded == sum(not u.question for u in loaded.units) > 0
    assert "no index yet" in _log_text(caplog)
    assert (index_dir / MANIFEST_FILE).exists()


def test_missing_manifest_means_rebuild(
    corpus: Corpus, fake_embedder, fake_embedder_class, index_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A crash mid-build leaves files but no manifest: the next open rebuilds."""
    build_index(corpus, fake_embedder, index_dir)
    (index_dir / MANIFEST_FILE).unlink()
    fresh = fake_embedder_class()
    caplog.set_level(logging.INFO, logger="embeddings.store")
    open_index(corpus, fresh, index_dir)
    assert "building index" in _log_text(caplog)  # rebuilt from the per-article vector cache
    assert fresh.passages_embedded == 0
    assert "no index yet" in _log_text(caplog)


def test_garbage_manifest_means_rebuild(
    corpus: Corpus, fake_embedder, fake_embedder_class, index_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    build_index(corpus, fake_embedder, index_dir)
    (index_dir / MANIFEST_FILE).write_text('{"backend": "fake"', encoding="utf-8")
    fresh = fake_embedder_class()
    caplog.set_level(logging.INFO, logger="embeddings.store")
    open_index(corpus, fresh, index_dir)
    assert "building index" in _log_text(caplog)  # rebuilt from the per-article vector cache
    assert fresh.passages_embedded == 0
    assert "unreadable" in _log_text(caplog)


def test_rebuild_flag_forces_a_rebuild(corpus: Corpus, fake_embedder, fake_embedder_class, index_dir: Path) -> None:
    build_index(corpus, fake_embedder, index_dir)
    fresh = fake_embedder_class()
    open_index(corpus, fresh, index_dir, rebuild=True)
    assert fresh.passages_embedded > 0  # --rebuild embeds everything again, cache or not


# -- rebuild on manifest mismatch -------------------------------------------------------------


class _OtherBackend:
    """Marker: build the second embedder as a fake with a different backend name."""


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("model_id", {"model_id": "fake-hash-v2"}),
        ("dim", {"dim": 32}),
        ("backend", _OtherBackend),
    ],
)
def test_embedder_change_rebuilds_with_reason_logged(
    corpus: Corpus,
    fake_embedder,
    fake_embedder_class,
    index_dir: Path,
    caplog: pytest.LogCaptureFixture,
    field: str,
    change,
) -> None:
    build_index(corpus, fake_embedder, index_dir)
    if change is _OtherBackend:
        other_class = type("OtherFake", (fake_embedder_class,), {"backend": "fake-other"})
        other = other_class()
    else:
        other = fake_embedder_class(**change)
    caplog.set_level(logging.INFO, logger="embeddings.store")
    loaded = open_index(corpus, other, index_dir)
    assert other.passages_embedded > 0
    assert f"{field} changed" in _log_text(caplog)
    assert loaded.manifest.backend == other.backend and loaded.manifest.dim == other.dim
    assert json.loads((index_dir / MANIFEST_FILE).read_text(encoding="utf-8"))["model_id"] == other.model_id
    # ... and the rebuilt index is then reused.
    again = fake_embedder_class(**change) if change is not _OtherBackend else type(other)()
    open_index(corpus, again, index_dir)
    assert again.passages_embedded == 0


def test_corpus_change_rebuilds_with_reason_logged(
    seeds_copy: Path, fake_embedder, fake_embedder_class, index_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    build_index(load_corpus(seeds_copy), fake_embedder, index_dir)
    (seeds_copy / "001_new.txt").write_text("A new article about rockets.\n\nSecond paragraph.", encoding="utf-8")
    changed = load_corpus(seeds_copy)
    fresh = fake_embedder_class()
    caplog.set_level(logging.INFO, logger="embeddings.store")
    loaded = open_index(changed, fresh, index_dir)
    assert fresh.passages_embedded == 2  # only the new article's two paragraphs: the other comes from the cache
    assert "corpus_hash changed" in _log_text(caplog)
    assert loaded.manifest.passages == 24
    assert {changed.passages[u.passage].doc for u in loaded.units} == {"000_54d2f6cd4b201a0d", "001_new"}


def test_edited_translation_rebuilds(seeds_copy: Path, fake_embedder, fake_embedder_class, index_dir: Path) -> None:
    build_index(load_corpus(seeds_copy), fake_embedder, index_dir)
    translation = seeds_copy / "000_54d2f6cd4b201a0d.en.txt"
    translation.write_text(translation.read_text(encoding="utf-8").replace("Moscow", "MOSCOW"), encoding="utf-8")
    fresh = fake_embedder_class()
    open_index(load_corpus(seeds_copy), fresh, index_dir)
    assert fresh.passages_embedded > 0  # the edited article is embedded again


@pytest.mark.parametrize("field", ["normaliser_version", "format_version"])
def test_version_change_rebuilds_with_reason_logged(
    corpus: Corpus,
    fake_embedder,
    fake_embedder_class,
    index_dir: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    field: str,
) -> None:
    build_index(corpus, fake_embedder, index_dir)
    constant = {"normaliser_version": "NORMALISER_VERSION", "format_version": "FORMAT_VERSION"}[field]
    monkeypatch.setattr(store, constant, getattr(store, constant) + 1)
    fresh = fake_embedder_class()
    caplog.set_level(logging.INFO, logger="embeddings.store")
    open_index(corpus, fresh, index_dir)
    assert fresh.passages_embedded > 0  # cached vectors of another format or normaliser are not reused
    assert f"{field} changed" in _log_text(caplog)


# -- unreadable index ---------------------------------------------------------------------------


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not a FAISS index\x00\x01\x02" * 10)


def _empty(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize("damage", [_truncate, _garbage, _empty], ids=["truncated", "garbage", "empty"])
def test_unreadable_faiss_file_names_file_and_fix(
    corpus: Corpus, fake_embedder, fake_embedder_class, index_dir: Path, damage
) -> None:
    build_index(corpus, fake_embedder, index_dir)
    damage(index_dir / INDEX_FILE)
    fresh = fake_embedder_class()
    with pytest.raises(IndexUnreadableError) as excinfo:
        open_index(corpus, fresh, index_dir)
    message = str(excinfo.value)
    assert str(index_dir / INDEX_FILE) in message
    assert "summit-bot index" in message and FIX_COMMAND in message
    assert fresh.passages_embedded == 0, "without repair nothing is rebuilt behind the user's back"


@pytest.mark.parametrize("damage", [_truncate, _garbage], ids=["truncated", "garbage"])
def test_repair_rebuilds_and_keeps_bad_file_aside(
    corpus: Corpus,
    fake_embedder,
    fake_embedder_class,
    index_dir: Path,
    caplog: pytest.LogCaptureFixture,
    damage,
) -> None:
    built = build_index(corpus, fake_embedder, index_dir)
    damage(index_dir / INDEX_FILE)
    broken = (index_dir / INDEX_FILE).read_bytes()
    fresh = fake_embedder_class()
    caplog.set_level(logging.INFO, logger="embeddings.store")
    loaded = open_index(corpus, fresh, index_dir, repair=True)
    assert "building index" in _log_text(caplog)  # rebuilt from the per-article vector cache
    assert fresh.passages_embedded == 0
    kept = list(index_dir.glob(f"{INDEX_FILE}.*.bad"))
    assert len(kept) == 1 and kept[0].read_bytes() == broken
    assert "unreadable" in _log_text(caplog)
    assert _top(loaded, fresh) == _top(built, fake_embedder)
    # The repaired index loads normally next time.
    again = fake_embedder_class()
    open_index(corpus, again, index_dir)
    assert again.passages_embedded == 0


def test_garbage_units_sidecar_names_that_file(corpus: Corpus, fake_embedder, index_dir: Path) -> None:
    build_index(corpus, fake_embedder, index_dir)
    (index_dir / UNITS_FILE).write_text("[[1, 2", encoding="utf-8")
    with pytest.raises(IndexUnreadableError, match=re.escape(str(index_dir / UNITS_FILE))):
        open_index(corpus, fake_embedder, index_dir)


def test_sidecar_count_disagreeing_with_index_is_unreadable(corpus: Corpus, fake_embedder, index_dir: Path) -> None:
    build_index(corpus, fake_embedder, index_dir)
    units = json.loads((index_dir / UNITS_FILE).read_text(encoding="utf-8"))
    (index_dir / UNITS_FILE).write_text(json.dumps(units[:-3]), encoding="utf-8")
    with pytest.raises(IndexUnreadableError, match="summit-bot index"):
        open_index(corpus, fake_embedder, index_dir)


# -- vector index kinds -----------------------------------------------------------------------


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _clustered(n: int, dim: int, clusters: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = _unit(rng.normal(size=(clusters, dim)))
    points = centres[rng.integers(0, clusters, size=n)] + 0.15 * rng.normal(size=(n, dim))
    return _unit(points)


def test_choose_kind_switches_above_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    assert choose_kind(22) == "flat"
    assert choose_kind(vector_index.FLAT_MAX_VECTORS) == "flat"
    assert choose_kind(vector_index.FLAT_MAX_VECTORS + 1) == "ivf"
    monkeypatch.setattr(vector_index, "FLAT_MAX_VECTORS", 100)
    assert choose_kind(100) == "flat" and choose_kind(101) == "ivf"


def test_auto_kind_builds_flat_or_ivf_by_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vector_index, "FLAT_MAX_VECTORS", 500)
    small = create_index(_clustered(400, 16, 8))
    large = create_index(_clustered(2000, 16, 8))
    assert isinstance(small, FlatIndex) and small.kind == "flat"
    assert isinstance(large, IVFIndex) and large.kind == "ivf"
    assert len(large) == 2000 and large.dim == 16


def test_store_records_ivf_kind_and_reloads_it(
    corpus: Corpus, fake_embedder, fake_embedder_class, index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vector_index, "FLAT_MAX_VECTORS", 10)
    built = build_index(corpus, fake_embedder, index_dir)
    assert built.manifest.index_kind == "ivf"
    fresh = fake_embedder_class()
    loaded = open_index(corpus, fresh, index_dir)
    assert fresh.passages_embedded == 0 and isinstance(loaded.vectors, IVFIndex)


def test_ivf_recall_at_10_against_flat_on_clustered_data() -> None:
    points = _clustered(20_200, 32, 200)
    data, queries = points[:20_000], points[20_000:]  # held-out queries from the same clusters
    flat = create_index(data, kind="flat")
    ivf = create_index(data, kind="ivf")
    _, exact = flat.search(queries, 10)
    _, approx = ivf.search(queries, 10)
    recall = np.mean([len(set(e) & set(a)) / 10 for e, a in zip(exact, approx, strict=True)])
    assert recall >= 0.9


def test_ivf_round_trip_keeps_ids_and_nprobe(tmp_path: Path) -> None:
    data = _clustered(3000, 16, 20)
    ids = np.arange(1000, 4000, dtype=np.int64)
    ivf = create_index(data, ids, kind="ivf")
    ivf.save(tmp_path / "v.faiss")
    loaded = read_index(tmp_path / "v.faiss", kind="ivf")
    assert not (tmp_path / "v.faiss.tmp").exists()
    _, before = ivf.search(data[:5], 3)
    _, after = loaded.search(data[:5], 3)
    assert (before == after).all() and before.min() >= 1000
    import faiss

    assert faiss.extract_index_ivf(loaded.index).nprobe >= IVFIndex.MIN_NPROBE


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_a_memory_mapped_index_searches_in_place_and_grows_beside_itself(kind: str, tmp_path: Path) -> None:
    data = _clustered(3000, 16, 20)
    built = create_index(data, kind=kind)
    built.save(tmp_path / "v.faiss")
    mapped = read_index(tmp_path / "v.faiss", kind=kind, mmap=True)
    in_memory = read_index(tmp_path / "v.faiss", kind=kind)
    assert mapped.mapped == vector_index.can_mmap() and not in_memory.mapped
    assert (mapped.search(data[:20], 5)[1] == in_memory.search(data[:20], 5)[1]).all()
    # Growing a mapped FAISS index aborts the process; added vectors go to an overlay searched beside it.
    extra = _unit(data[:3] + 0.001)
    for index in (mapped, in_memory):
        index.add(extra, np.arange(3000, 3003))
    assert len(mapped) == len(in_memory) == 3003
    m_scores, m_ids = mapped.search(data[:3], 4)
    i_scores, i_ids = in_memory.search(data[:3], 4)
    assert {int(i) for i in m_ids[:, :2].ravel()} == {int(i) for i in i_ids[:, :2].ravel()}  # ties may swap
    # The overlay keeps added vectors exactly; IVF-SQ8 keeps them 8-bit quantised (cosines off by ~1e-3).
    assert np.allclose(np.sort(m_scores, axis=1), np.sort(i_scores, axis=1), atol=1e-5 if kind == "flat" else 5e-3)
    if kind == "flat":
        assert np.allclose(mapped.stored([0, 3001]), in_memory.stored([0, 3001]))
    if mapped.mapped:
        with pytest.raises(VectorIndexError, match="cannot be saved"):
            mapped.save(tmp_path / "again.faiss")


def test_flat_search_is_exact_and_clamps_k() -> None:
    data = _unit(np.eye(4, dtype=np.float32) + 0.01)
    index = create_index(data, np.array([10, 11, 12, 13]), kind="flat")
    scores, ids = index.search(data[2], 50)
    assert ids.shape == (1, 4) and ids[0, 0] == 12
    assert scores[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_create_index_rejects_empty_and_unknown_kind() -> None:
    with pytest.raises(VectorIndexError, match="empty"):
        create_index(np.zeros((0, 8), dtype=np.float32))
    with pytest.raises(VectorIndexError, match="hnsw"):
        create_index(_clustered(10, 8, 2), kind="hnsw")


def test_read_index_garbage_is_vector_index_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.faiss"
    path.write_bytes(b"garbage")
    with pytest.raises(VectorIndexError, match=re.escape(str(path))):
        read_index(path, kind="flat")


def test_each_article_keeps_its_own_vectors_and_old_versions_are_pruned(
    seeds_copy: Path, fake_embedder, fake_embedder_class, index_dir: Path
) -> None:
    build_index(load_corpus(seeds_copy), fake_embedder, index_dir)
    (seeds_copy / "001_new.txt").write_text("A new article about rockets.\n\nSecond paragraph.", encoding="utf-8")
    first = fake_embedder_class()
    build_index(load_corpus(seeds_copy), first, index_dir)
    assert (first.passages_embedded, first.queries_embedded) == (2, 0)  # not the seed article's units again
    assert len(list((index_dir / DOCS_DIR).glob("*.npy"))) == 2
    (seeds_copy / "001_new.txt").write_text("A new article about rockets.\n\nThird paragraph.", encoding="utf-8")
    second = fake_embedder_class()
    build_index(load_corpus(seeds_copy), second, index_dir)
    assert second.passages_embedded == 2
    names = sorted(p.name for p in (index_dir / DOCS_DIR).glob("*.npy"))
    assert len(names) == 2 and sum(n.startswith("001_new-") for n in names) == 1  # the old version's file is gone
