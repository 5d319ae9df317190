"""A shipped index: built once (``summit-bot index --out DIR``), copied to the servers, served read-only.

Layout of ``DIR``::

    CURRENT                      one line: the version being served
    <version>/                   one folder per version, never changed once written
        manifest.json            what it is (see ArtifactManifest); its file list with sizes and hashes
        vectors.faiss            the FAISS index (memory-mapped when served)
        units.json               what each FAISS id is (passage, language view, sentence, editor question)
        corpus.json              the articles and their passages (corpus_to_json): seeds/ is never read
        speller.json             the corpus's vocabulary for spelling correction
        lexical/<lang>/          BM25 over each language view (bm25s's own files, memory-mapped when served)
        expanded/<lang>/         the same with editors' questions added (absent when there are none)
        intents-<key>.npy        the intent classifier's example vectors (extra files, named by the caller)

``<version>`` is a short hash of the files' contents and of what they were built with
(formats, embedder): building the same seeds with the same model again gives the same
version, and the folder already there is kept. A version is written into a temporary
folder beside the others and renamed into place; only then is ``CURRENT`` replaced
(temp file and ``os.replace``), so a reader sees the old version or the new one, whole.
Old versions stay until pruned (``keep``): a rollback is writing an older version into
``CURRENT``.

Loading (:func:`open_artifact`) writes nothing, reads nothing outside the version's folder,
embeds nothing, and refuses a version built for another embedder (:class:`ArtifactMismatchError`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .corpus import Corpus, CorpusError, corpus_from_json, corpus_to_json
from .embedders import Embedder
from .lexical import LexicalIndex, LexicalIndexError
from .normalize import NORMALISER_VERSION
from .spelling import Speller
from .store import FORMAT_VERSION, INDEX_FILE, UNITS_FILE, IndexUnreadableError, LoadedIndex, Manifest, load_index

log = logging.getLogger(__name__)

ARTIFACT_FORMAT = 1
CURRENT_FILE = "CURRENT"
MANIFEST_FILE = "manifest.json"
CORPUS_FILE = "corpus.json"
SPELLER_FILE = "speller.json"
LEXICAL_DIR = "lexical"
EXPANDED_DIR = "expanded"
VERSION_CHARS = 12
_VERSION = re.compile(rf"^[0-9a-f]{{{VERSION_CHARS}}}$")
_TEMP_PREFIX = ".tmp-"
_STALE_TEMP_SECONDS = 24 * 3600  # a build folder this old was left by a build that died
BUILD_COMMAND = "summit-bot index --out DIR"


class ArtifactError(Exception):
    """A shipped index cannot be served; the message is one line naming the folder and why."""


class ArtifactMismatchError(ArtifactError):
    """A shipped index was built for another embedder (or formats) than the one running."""


@dataclass(frozen=True, slots=True)
class ArtifactManifest:
    """``manifest.json`` of one version: what it was built from, with what, and what it holds."""

    artifact_format: int
    version: str
    created: float  # unix time of the build that first wrote this version
    format_version: int  # of the index (store.FORMAT_VERSION)
    backend: str
    model_id: str
    dim: int
    normaliser_version: int
    corpus_hash: str
    index_kind: str
    documents: int
    passages: int
    vectors: int
    languages: tuple[str, ...]
    expanded: bool  # a separate BM25 with editors' questions (else ranking reads the plain one)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # relative path -> {"size", "sha256"}

    def index_manifest(self) -> Manifest:
        """The index's own manifest (store.Manifest), for :func:`embeddings.store.load_index`."""
        return Manifest(
            format_version=self.format_version,
            backend=self.backend,
            model_id=self.model_id,
            dim=self.dim,
            corpus_hash=self.corpus_hash,
            normaliser_version=self.normaliser_version,
            index_kind=self.index_kind,
            count=self.vectors,
            passages=self.passages,
            built_at=self.created,
        )

    def mismatch(self, embedder: Embedder) -> str | None:
        """Why this version cannot be served with ``embedder`` and this code, or None when it can."""
        expected = {
            "artifact_format": ARTIFACT_FORMAT,
            "format_version": FORMAT_VERSION,
            "normaliser_version": NORMALISER_VERSION,
            "backend": embedder.backend,
            "model_id": embedder.model_id,
            "dim": embedder.dim,
        }
        for name, want in expected.items():
            have = getattr(self, name)
            if have != want:
                return f"it was built with {name} {have!r} and this process runs {want!r}"
        return None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["languages"] = list(self.languages)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ArtifactManifest:
        return cls(**{**data, "languages": tuple(data["languages"])})


@dataclass(slots=True)
class Shipped:
    """One version of a shipped index, loaded: everything a retriever needs."""

    path: Path
    manifest: ArtifactManifest
    corpus: Corpus
    index: LoadedIndex
    lexical: dict[str, LexicalIndex]
    expanded: dict[str, LexicalIndex]
    speller: Speller

    @property
    def version(self) -> str:
        return self.manifest.version


@dataclass(frozen=True, slots=True)
class Published:
    """What :func:`write_artifact` did."""

    version: str
    path: Path
    created: bool  # False: this very version was there already and was kept
    pruned: tuple[str, ...] = ()


# -- writing ------------------------------------------------------------------------------------


def _write_json(path: Path, data: object) -> None:
    # Sorted keys and no timestamps: the same input writes the same bytes, hence the same version.
    path.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")), encoding="utf-8")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(folder: Path) -> dict[str, dict[str, Any]]:
    """Every file under ``folder`` but the manifest, with its size and hash."""
    return {
        path.relative_to(folder).as_posix(): {"size": path.stat().st_size, "sha256": _file_sha256(path)}
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST_FILE
    }


def _version(identity: dict[str, Any], files: dict[str, dict[str, Any]]) -> str:
    """The content hash: what the files hold and what they were built with (a model change with the
    same dimension would not show in the file list's shape)."""
    digest = hashlib.sha256(json.dumps([identity, {p: f["sha256"] for p, f in files.items()}], sort_keys=True).encode())
    return digest.hexdigest()[:VERSION_CHARS]


def _fsync_tree(folder: Path) -> None:
    """Flush every file and folder under ``folder`` (itself included) to disk before it is published."""
    for path in [*sorted(folder.rglob("*"), reverse=True), folder]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_artifact(
    root: Path,
    *,
    corpus: Corpus,
    embedder: Embedder,
    index: LoadedIndex,
    lexical: Mapping[str, LexicalIndex],
    expanded: Mapping[str, LexicalIndex],
    speller: Speller,
    extras: Mapping[str, np.ndarray] | None = None,
    keep: int | None = None,
) -> Published:
    """Write one version into ``root``, point ``root/CURRENT`` at it, and prune to ``keep`` versions.

    ``expanded`` may be ``lexical`` itself (a corpus without editors' questions); ``extras`` are
    further arrays saved as ``<name>`` (the intent classifier's example vectors).
    """
    if keep is not None and keep < 1:
        raise ValueError("keep must be at least 1: the version just built is kept")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX, dir=root))
    try:
        # mkdtemp makes the folder 0700; a server running as another user must be able to read it.
        staging.chmod(0o777 & ~_umask())
        index.vectors.save(staging / INDEX_FILE)
        _write_json(staging / UNITS_FILE, [[u.passage, u.language, u.sentence, u.question] for u in index.units])
        _write_json(staging / CORPUS_FILE, corpus_to_json(corpus))
        _write_json(staging / SPELLER_FILE, speller.to_json())
        separate = expanded is not lexical
        for folder, models in ((LEXICAL_DIR, lexical), (EXPANDED_DIR, expanded if separate else {})):
            for language, model in sorted(models.items()):
                model.save(staging / folder / language)
        for name, array in sorted((extras or {}).items()):
            if Path(name).name != name or not name.endswith(".npy"):
                raise ValueError(f"extra file {name!r} must be a plain .npy file name")
            np.save(staging / name, np.asarray(array), allow_pickle=False)
        m = index.manifest
        identity = {
            "artifact_format": ARTIFACT_FORMAT,
            "format_version": m.format_version,
            "backend": embedder.backend,
            "model_id": embedder.model_id,
            "dim": embedder.dim,
            "normaliser_version": m.normaliser_version,
            "corpus_hash": corpus.hash,
            "index_kind": m.index_kind,
        }
        files = _files(staging)
        version = _version(identity, files)
        manifest = ArtifactManifest(
            version=version,
            created=time.time(),
            documents=len(corpus.documents),
            passages=len(corpus.passages),
            vectors=len(index.units),
            languages=tuple(sorted(lexical)),
            expanded=separate,
            files=files,
            **identity,
        )
        _write_json(staging / MANIFEST_FILE, manifest.to_json())
        _fsync_tree(staging)
        target = root / version
        created = True
        if target.exists():
            problem = verify_version(target)
            if problem is None:
                created = False  # the same content, already published: keep it (a server may be reading it)
                log.info("version %s already in %s; kept", version, root)
            else:
                aside = root / f".bad-{version}-{int(time.time())}"
                log.warning("version folder %s is damaged (%s); moved it to %s", target, problem, aside.name)
                target.rename(aside)
        if created:
            staging.rename(target)
            _fsync_dir(root)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    previous = _current_or_none(root)
    set_current(root, version)
    # The version served until now stays: servers read it until their next poll, and on a shared
    # network volume a folder deleted under another machine's memory map can crash that process.
    protected = (previous,) if previous is not None else ()
    pruned = prune(root, keep, protect=protected) if keep is not None else ()
    return Published(version, target, created, tuple(pruned))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def set_current(root: Path, version: str) -> None:
    """Point ``root/CURRENT`` at ``version``, atomically (a reader sees the old line or the new one)."""
    if not _VERSION.match(version) or not (root / version / MANIFEST_FILE).is_file():
        raise ArtifactError(f"{root} has no version {version!r}")
    tmp = root / f".{CURRENT_FILE}.{os.getpid()}.tmp"
    with tmp.open("w", encoding="ascii") as f:
        f.write(version + "\n")
        f.flush()
        os.fsync(f.fileno())
    tmp.chmod(0o666 & ~_umask())
    os.replace(tmp, root / CURRENT_FILE)
    _fsync_dir(root)


def versions(root: Path) -> list[ArtifactManifest]:
    """The readable versions in ``root``, newest build first."""
    found = []
    for folder in root.iterdir() if root.is_dir() else ():
        if folder.is_dir() and _VERSION.match(folder.name):
            try:
                manifest = read_manifest(folder)
            except ArtifactError:
                continue
            if manifest.version == folder.name:
                found.append(manifest)
    return sorted(found, key=lambda m: m.created, reverse=True)


def _current_or_none(root: Path) -> str | None:
    try:
        return read_current(root)
    except ArtifactError:
        return None


def prune(root: Path, keep: int, *, protect: tuple[str, ...] = ()) -> list[str]:
    """Delete all but the ``keep`` newest versions and dead build folders; never the current
    version (it counts towards ``keep``) nor those in ``protect`` (they do not count).

    On a local disk a process keeps reading the files of a deleted version it has open or
    mapped; on a network volume shared by several machines it may not, so only prune versions
    no server can still be serving.
    """
    current = _current_or_none(root)
    others = keep - 1 if current is not None else keep  # the current version counts towards keep
    removed = []
    for manifest in versions(root):
        if manifest.version == current or manifest.version in protect:
            continue
        if others > 0:
            others -= 1
            continue
        shutil.rmtree(root / manifest.version)
        removed.append(manifest.version)
    now = time.time()
    for folder in root.glob(_TEMP_PREFIX + "*"):
        if folder.is_dir() and now - folder.stat().st_mtime > _STALE_TEMP_SECONDS:
            shutil.rmtree(folder, ignore_errors=True)
    return removed


# -- reading ------------------------------------------------------------------------------------


def read_current(root: Path) -> str:
    """The version ``root/CURRENT`` names; :class:`ArtifactError` when there is none."""
    path = root / CURRENT_FILE
    try:
        version = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise ArtifactError(f"{path} does not exist: no index has been shipped there (run `{BUILD_COMMAND}`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} is unreadable ({exc})") from exc
    if not _VERSION.match(version):
        raise ArtifactError(f"{path} does not hold a version (got {version[:40]!r})")
    return version


def read_manifest(folder: Path) -> ArtifactManifest:
    path = folder / MANIFEST_FILE
    try:
        return ArtifactManifest.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ArtifactError(f"{path} does not exist: not a shipped index version") from None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ArtifactError(f"{path} is unreadable ({exc})") from exc


def _check_sizes(folder: Path, manifest: ArtifactManifest) -> None:
    """Every listed file is there with its listed size: a cheap guard against a half-copied version."""
    for name, info in manifest.files.items():
        path = folder / name
        try:
            size = path.stat().st_size
        except OSError:
            raise ArtifactError(f"{path} is missing: an incomplete copy of version {manifest.version}?") from None
        if size != info.get("size"):
            raise ArtifactError(
                f"{path} is {size} bytes but the manifest says {info.get('size')}: "
                f"an incomplete or altered copy of version {manifest.version}"
            )


def verify_version(folder: Path) -> str | None:
    """Why ``folder`` is not an intact version (every file re-hashed), or None when it is."""
    try:
        manifest = read_manifest(folder)
        _check_sizes(folder, manifest)
    except ArtifactError as exc:
        return str(exc)
    if manifest.version != folder.name:
        return f"its manifest says version {manifest.version}"
    files = _files(folder)
    if files != manifest.files:
        changed = sorted(set(files) ^ set(manifest.files) | {p for p in files if files[p] != manifest.files.get(p)})
        return f"files differ from the manifest: {', '.join(changed[:5])}"
    return None


def open_artifact(root: Path, embedder: Embedder, *, version: str | None = None, mmap: bool = True) -> Shipped:
    """Load ``version`` (default: the one ``CURRENT`` names) of the shipped index in ``root``, read-only.

    The FAISS index and the BM25 score arrays are memory-mapped (``mmap``) where the libraries
    allow it. Raises :class:`ArtifactMismatchError` when it was built for another embedder,
    :class:`ArtifactError` when it is missing, incomplete or unreadable.
    """
    version = version or read_current(root)
    folder = root / version
    if not _VERSION.match(version) or not folder.is_dir():
        raise ArtifactError(f"{folder} does not exist: CURRENT names a version that is not there")
    manifest = read_manifest(folder)
    if manifest.version != version:
        raise ArtifactError(f"{folder}/{MANIFEST_FILE} says version {manifest.version}, not {version}")
    reason = manifest.mismatch(embedder)
    if reason is not None:
        raise ArtifactMismatchError(
            f"shipped index {folder} does not fit this process: {reason}; "
            f"rebuild it with `{BUILD_COMMAND}` using the embedder that serves it"
        )
    _check_sizes(folder, manifest)
    try:
        corpus = corpus_from_json(json.loads((folder / CORPUS_FILE).read_text(encoding="utf-8")))
        speller = Speller.from_json(json.loads((folder / SPELLER_FILE).read_text(encoding="utf-8")))
        index = load_index(folder, manifest.index_manifest(), mmap=mmap)
        lexical = {lang: LexicalIndex.load(folder / LEXICAL_DIR / lang, mmap=mmap) for lang in manifest.languages}
        expanded = (
            {lang: LexicalIndex.load(folder / EXPANDED_DIR / lang, mmap=mmap) for lang in manifest.languages}
            if manifest.expanded
            else lexical
        )
    except IndexUnreadableError as exc:
        # Its own advice (--rebuild) is for a local index; a shipped one is rebuilt where it is built.
        raise ArtifactError(f"shipped index {folder} is unreadable: {exc.path.name}: {exc.reason}") from exc
    except (OSError, ValueError, KeyError, TypeError, CorpusError, LexicalIndexError) as exc:
        raise ArtifactError(f"shipped index {folder} is unreadable: {exc}") from exc
    if corpus.hash != manifest.corpus_hash or len(corpus.passages) != manifest.passages:
        raise ArtifactError(f"shipped index {folder}: its corpus snapshot does not match its manifest")
    if any(len(model) != len(corpus.passages) for model in (*lexical.values(), *expanded.values())):
        raise ArtifactError(f"shipped index {folder}: a BM25 model does not cover every passage")
    if any(not 0 <= u.passage < len(corpus.passages) for u in index.units):
        raise ArtifactError(f"shipped index {folder}: units.json names passages the corpus does not have")
    return Shipped(folder, manifest, corpus, index, lexical, expanded, speller)
