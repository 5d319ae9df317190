"""The on-disk index: FAISS file + JSON sidecar + manifest, rebuilt when stale.

Files in the index folder:

* ``vectors.faiss`` -- the FAISS index (``faiss.write_index``);
* ``units.json`` -- what each FAISS id is: passage id, language view, sentence number
  and editor question number;
* ``manifest.json`` -- backend, model id, dimension, corpus hash, normaliser and
  format versions. Written last, so a crash mid-build leaves no valid manifest
  and the next start rebuilds;
* ``docs/<doc>-<key>.npy`` -- each article's unit vectors, keyed by a hash of everything
  they were computed from (the embedder, the formats, the article's unit texts). A changed
  corpus rebuilds the FAISS index from these, embedding only new or changed articles:
  adding an article embeds that article alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .corpus import Corpus, continues_previous
from .embedders import Embedder
from .normalize import NORMALISER_VERSION
from .vector_index import VectorIndex, VectorIndexError, choose_kind, create_index, read_index

log = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 3: editor questions are units too
INDEX_FILE = "vectors.faiss"
UNITS_FILE = "units.json"
MANIFEST_FILE = "manifest.json"
DOCS_DIR = "docs"  # per-article vector cache
FIX_COMMAND = "summit-bot index --rebuild"


class IndexUnreadableError(Exception):
    """An index file exists but cannot be read; the message names it and the command that fixes it."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"index file {path} is unreadable ({reason}); run `{FIX_COMMAND}` to rebuild it")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Unit:
    """One embedded text: a whole paragraph (``sentence`` = 0), one of its sentences (1-based),
    or one of the questions an editor wrote for it (``question``, 1-based; not article text)."""

    passage: int  # position in Corpus.passages
    language: str
    sentence: int
    question: int = 0


@dataclass(frozen=True, slots=True)
class Manifest:
    """What an index was built from; any difference from the running setup means rebuild."""

    format_version: int
    backend: str
    model_id: str
    dim: int
    corpus_hash: str
    normaliser_version: int
    index_kind: str
    count: int
    passages: int
    built_at: float

    def identity(self) -> str:
        """A short hash of what the index's contents follow from (formats, embedder, corpus): the
        retriever's version for an index built in place, where the answer cache keys on it."""
        fields = [self.format_version, self.backend, self.model_id, self.dim, self.normaliser_version]
        digest = hashlib.sha256(json.dumps([*fields, self.corpus_hash, self.index_kind]).encode())
        return digest.hexdigest()[:12]

    def mismatch(self, expected: Manifest) -> str | None:
        """Why this manifest does not fit ``expected``, or None when it does."""
        for name in ("format_version", "backend", "model_id", "dim", "corpus_hash", "normaliser_version"):
            have, want = getattr(self, name), getattr(expected, name)
            if have != want:
                return f"{name} changed ({have!r} -> {want!r})"
        return None


@dataclass(slots=True)
class LoadedIndex:
    """An index ready for search, with the units its ids point to."""

    vectors: VectorIndex
    units: list[Unit]
    manifest: Manifest


def corpus_units(corpus: Corpus) -> list[tuple[Unit, str]]:
    """Everything to embed: each paragraph in each language, its sentences when it has several,
    and the questions editors wrote for it."""
    units: list[tuple[Unit, str]] = []
    for i, passage in enumerate(corpus.passages):
        for language, text in passage.views().items():
            units.append((Unit(i, language, 0), with_antecedent(corpus, i, language, text)))
            sentences = passage.sentences_in(language)
            if len(sentences) > 1:
                units.extend((Unit(i, language, n), s) for n, s in enumerate(sentences, start=1))
        units.extend((Unit(i, lang, 0, n), q) for n, (lang, q) in enumerate(passage.questions, start=1))
    return units


def with_antecedent(corpus: Corpus, index: int, language: str, text: str) -> str:
    """A paragraph that opens by pointing back ("He added: ...") embedded after the sentence it points to.

    News paragraphs often continue the previous speaker; without the name, "What did
    Ahn Chan-il say about the war?" cannot find the quote that follows his introduction.
    """
    passage = corpus.passages[index]
    if index == 0 or corpus.passages[index - 1].doc != passage.doc or not continues_previous(passage):
        return text
    antecedent = corpus.passages[index - 1].sentences_in(language)[0]
    return f"{antecedent} {text}"


def expected_manifest(corpus: Corpus, embedder: Embedder, count: int, kind: str) -> Manifest:
    return Manifest(
        format_version=FORMAT_VERSION,
        backend=embedder.backend,
        model_id=embedder.model_id,
        dim=embedder.dim,
        corpus_hash=corpus.hash,
        normaliser_version=NORMALISER_VERSION,
        index_kind=kind,
        count=count,
        passages=len(corpus.passages),
        built_at=time.time(),
    )


def _write_json(path: Path, data: object) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def _document_key(embedder: Embedder, units: list[tuple[Unit, str]], passages: list[int]) -> str:
    """What one article's vectors depend on: the embedder, the formats and its units' texts and
    roles (positions are made relative to the article, so moving it in the corpus changes nothing)."""
    digest = hashlib.sha256()
    base = passages[0] if passages else 0
    head = [FORMAT_VERSION, NORMALISER_VERSION, embedder.backend, embedder.model_id, embedder.dim]
    digest.update(json.dumps(head).encode())
    for unit, text in units:
        row = [unit.passage - base, unit.language, unit.sentence, unit.question, text]
        digest.update(json.dumps(row, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()[:16]


def _embed(embedder: Embedder, units: list[tuple[Unit, str]], progress: Callable[[int, int], None] | None):
    """Vectors of ``units``: article text as passages, editor questions as queries."""
    # Editor questions are embedded as queries: e5 compares query with query symmetrically,
    # and the question a reader types is a query.
    asked = np.array([u.question > 0 for u, _ in units], dtype=bool)
    vectors = np.zeros((len(units), embedder.dim), dtype=np.float32)
    if (~asked).any():
        vectors[~asked] = embedder.embed_passages([text for u, text in units if not u.question], progress=progress)
    if asked.any():
        vectors[asked] = embedder.embed_queries([text for u, text in units if u.question])
    return vectors


def _cached_vectors(
    corpus: Corpus,
    embedder: Embedder,
    units: list[tuple[Unit, str]],
    cache_dir: Path | None,
    progress: Callable[[int, int], None] | None,
) -> tuple[np.ndarray, int]:
    """Vectors of every unit, read from the per-article cache where it holds them; the rest are
    embedded in one pass and cached. Returns the vectors and how many units were embedded."""
    by_doc: dict[str, list[int]] = {}
    for row, (unit, _) in enumerate(units):
        by_doc.setdefault(corpus.passages[unit.passage].doc, []).append(row)
    vectors = np.zeros((len(units), embedder.dim), dtype=np.float32)
    missing: list[tuple[Path | None, list[int]]] = []
    names: set[str] = set()
    for doc, rows in by_doc.items():
        doc_units = [units[r] for r in rows]
        name = f"{doc}-{_document_key(embedder, doc_units, sorted({u.passage for u, _ in doc_units}))}.npy"
        names.add(name)
        path = cache_dir / name if cache_dir else None
        cached = None
        if path is not None and path.exists():
            try:
                cached = np.load(path, allow_pickle=False)
            except (OSError, ValueError) as exc:
                log.warning("cached vectors %s are unreadable (%s); embedding the article again", path, exc)
        if cached is not None and cached.shape == (len(rows), embedder.dim):
            vectors[rows] = cached
        else:
            missing.append((path, rows))
    todo = [r for _, rows in missing for r in rows]
    if todo:
        vectors[todo] = _embed(embedder, [units[r] for r in todo], progress)
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for path, rows in missing:
            assert path is not None
            tmp = path.with_name(path.name + ".tmp.npy")
            np.save(tmp, vectors[rows], allow_pickle=False)
            tmp.replace(path)
        # Vectors of articles no longer in the corpus (or of their old versions) go.
        for stale in cache_dir.glob("*.npy"):
            if stale.name not in names:
                stale.unlink(missing_ok=True)
    return vectors, len(todo)


def build_index(
    corpus: Corpus,
    embedder: Embedder,
    index_dir: Path,
    *,
    kind: str = "auto",
    progress: Callable[[int, int], None] | None = None,
    reuse: bool = True,
) -> LoadedIndex:
    """Embed every unit of ``corpus`` (reusing each unchanged article's cached vectors unless
    ``reuse`` is false), write the three files and return the loaded index."""
    index_dir.mkdir(parents=True, exist_ok=True)
    units = corpus_units(corpus)
    cache_dir = index_dir / DOCS_DIR
    if not reuse and cache_dir.exists():
        for old in cache_dir.glob("*.npy"):
            old.unlink(missing_ok=True)
    vectors, embedded = _cached_vectors(corpus, embedder, units, cache_dir, progress)
    log.info("embedded %d of %d units (the rest from the per-article cache)", embedded, len(units))
    index = create_index(vectors, np.arange(len(units), dtype=np.int64), kind=kind)
    manifest = expected_manifest(corpus, embedder, len(units), index.kind)
    (index_dir / MANIFEST_FILE).unlink(missing_ok=True)  # invalid until fully written
    index.save(index_dir / INDEX_FILE)
    _write_json(index_dir / UNITS_FILE, [[u.passage, u.language, u.sentence, u.question] for u, _ in units])
    _write_json(index_dir / MANIFEST_FILE, asdict(manifest))
    return LoadedIndex(index, [u for u, _ in units], manifest)


def read_manifest(index_dir: Path) -> Manifest | None:
    """The manifest, or None when it is missing or not one we can read (both mean: rebuild)."""
    path = index_dir / MANIFEST_FILE
    try:
        return Manifest(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        log.warning("index manifest %s is unreadable (%s)", path, exc)
        return None


def load_index(index_dir: Path, manifest: Manifest, *, mmap: bool = False) -> LoadedIndex:
    """Read the FAISS file and sidecar that ``manifest`` describes (``mmap``: search the file in place)."""
    try:
        vectors = read_index(index_dir / INDEX_FILE, kind=manifest.index_kind, mmap=mmap)
    except VectorIndexError as exc:
        raise IndexUnreadableError(index_dir / INDEX_FILE, str(exc)) from exc
    try:
        raw = json.loads((index_dir / UNITS_FILE).read_text(encoding="utf-8"))
        units = [Unit(int(p), str(lang), int(s), int(q)) for p, lang, s, q in raw]
    except (OSError, ValueError, TypeError) as exc:
        raise IndexUnreadableError(index_dir / UNITS_FILE, str(exc)) from exc
    if len(units) != len(vectors) or vectors.dim != manifest.dim or len(units) != manifest.count:
        raise IndexUnreadableError(
            index_dir / INDEX_FILE,
            f"holds {len(vectors)} vectors of dimension {vectors.dim}, "
            f"manifest says {manifest.count} of {manifest.dim} and the sidecar {len(units)}",
        )
    return LoadedIndex(vectors, units, manifest)


def open_index(
    corpus: Corpus,
    embedder: Embedder,
    index_dir: Path,
    *,
    rebuild: bool = False,
    repair: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> LoadedIndex:
    """Load the index for ``corpus``, rebuilding it (with a log line saying why) when missing or stale.

    An unreadable index raises :class:`IndexUnreadableError` unless ``repair`` is
    set, in which case the bad files are kept aside (``*.bad``) and rebuilt.
    """
    manifest = read_manifest(index_dir)
    expected = expected_manifest(corpus, embedder, 0, choose_kind(0))
    reason = "rebuild requested" if rebuild else None
    if reason is None:
        reason = "no index yet" if manifest is None else manifest.mismatch(expected)
    if reason is None:
        missing = [name for name in (INDEX_FILE, UNITS_FILE) if not (index_dir / name).exists()]
        reason = f"{', '.join(missing)} missing" if missing else None
    if reason is None:
        assert manifest is not None
        try:
            return load_index(index_dir, manifest)
        except IndexUnreadableError as exc:
            if not repair:
                raise
            for name in (INDEX_FILE, UNITS_FILE, MANIFEST_FILE):
                bad = index_dir / name
                if bad.exists():
                    bad.replace(bad.with_name(f"{name}.{int(time.time())}.bad"))
            log.warning("%s; kept the bad files aside as *.bad and rebuilding", exc)
            reason = "index was unreadable"
    log.info("building index in %s: %s", index_dir, reason)
    started = time.perf_counter()
    # --rebuild embeds everything again; any other reason reuses each unchanged article's vectors.
    loaded = build_index(corpus, embedder, index_dir, progress=progress, reuse=not rebuild)
    log.info(
        "index built: %d vectors for %d passages in %.1fs",
        len(loaded.vectors),
        loaded.manifest.passages,
        time.perf_counter() - started,
    )
    return loaded
