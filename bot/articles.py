"""Adding and removing articles while the bot runs: ``summit-bot add`` and the admins' uploads.

Telegram-free. :func:`add_article` reads a file or URL (:mod:`embeddings.ingest`), writes the
article into ``seeds/`` beside the others, and opens a new retriever over the corpus; the
index is rebuilt from the per-article vector cache, so only the new article is embedded. The
caller swaps the new retriever in (the bot does so under its reload lock). If anything fails
after the files were written, they are taken out again: the corpus and the index being served
stay as they were. :func:`remove_article` is the reverse, with the files kept aside until the
retriever without them is ready.

Both refuse (:func:`refuse_if_shipped`) when the bot serves a shipped index (``SUMMIT_INDEX_DIR``):
that index is read-only and rebuilt where it is built, so an article written here would be
served by nothing and lost at the next version.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from pathlib import Path

from embeddings import ingest
from embeddings.corpus import Corpus, Document
from embeddings.embedders import Embedder
from embeddings.ingest import Article, IngestError
from embeddings.retriever import Retriever

from .services import ServiceError, open_retriever
from .settings import Settings

SHIPPED_READ_ONLY = (
    "this deployment serves a shipped index (SUMMIT_INDEX_DIR), which is read-only; add or remove articles "
    "in seeds/ where the index is built and publish it with `summit-bot index --out DIR`"
)


def refuse_if_shipped(settings: Settings) -> None:
    """:class:`IngestError` when articles cannot be added or removed here (a shipped index is served)."""
    if settings.shipped_index is not None:
        raise IngestError(SHIPPED_READ_ONLY)


@dataclass(frozen=True, slots=True)
class Source:
    """Bytes of one article and their format; ``url`` when fetched from the web."""

    data: bytes
    kind: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Added:
    """The article now served and the retriever that serves it (not yet swapped in)."""

    document: Document
    retriever: Retriever
    seconds: float  # reading, writing, embedding and indexing


def read_source(path_or_url: str) -> Source:
    """A local file or an http(s) URL, read and typed; :class:`IngestError` says what is wrong."""
    if ingest.is_url(path_or_url):
        data, kind = ingest.fetch_url(path_or_url)
        return Source(data, kind, url=path_or_url)
    path = Path(path_or_url)
    kind = ingest.kind_of(path.name)
    try:
        ingest.check_size(path.stat().st_size)
        return Source(path.read_bytes(), kind)
    except FileNotFoundError:
        raise IngestError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise IngestError(f"{path} is a folder, not a file") from None
    except OSError as exc:
        raise IngestError(f"{path} cannot be read ({exc.strerror})") from exc


def _check_date(date: str | None) -> str | None:
    if date is None:
        return None
    try:
        return datetime.date.fromisoformat(date.strip()).isoformat()
    except ValueError:
        raise IngestError(f"the date {date!r} is not a date like 2026-11-27") from None


def add_article(
    settings: Settings,
    source: Source,
    *,
    translation: Source | None = None,
    title: str | None = None,
    origin: str | None = None,
    date: str | None = None,
    embedder: Embedder | None = None,
) -> Added:
    """Extract, write into seeds/, and open a retriever that serves the new article too."""
    refuse_if_shipped(settings)
    started = time.perf_counter()
    date = _check_date(date)
    article = ingest.extract(source.data, source.kind, url=source.url)
    article = Article(
        article.paragraphs,
        title=" ".join(title.split()) if title and title.strip() else article.title,
        date=date or article.date,
        source=origin.strip() if origin and origin.strip() else article.source,
        language=article.language,
    )
    translated = None
    if translation is not None:
        try:
            translated = ingest.extract(translation.data, translation.kind, url=translation.url, minimum=1)
        except IngestError as exc:
            raise IngestError(f"the translation: {exc}") from exc
    doc_id = ingest.write_article(settings.seeds_dir, article, translation=translated)
    try:
        retriever = open_retriever(settings, repair=True, embedder=embedder)
    except BaseException as exc:  # whatever stopped the indexing, the article must not stay half-added
        for path in ingest.article_files(settings.seeds_dir, doc_id):
            path.unlink(missing_ok=True)
        if isinstance(exc, ServiceError):
            raise IngestError(f"the article was read but could not be indexed, so it was not added: {exc}") from exc
        raise
    document = next(d for d in retriever.corpus.documents if d.id == doc_id)
    return Added(document, retriever, time.perf_counter() - started)


def find_document(corpus: Corpus, key: str) -> Document | None:
    """An article by its id or by its number in :func:`article_rows` (1-based)."""
    key = key.strip()
    if key.isdigit() and 1 <= int(key) <= len(corpus.documents):
        return corpus.documents[int(key) - 1]
    return next((d for d in corpus.documents if d.id == key), None)


def remove_article(settings: Settings, doc_id: str, *, embedder: Embedder | None = None) -> Retriever:
    """Take one article out of seeds/ and return a retriever without it; on failure it stays."""
    refuse_if_shipped(settings)
    files = ingest.article_files(settings.seeds_dir, doc_id)
    if not files:
        raise IngestError(f"there is no article {doc_id!r}")
    ingest.check_removable(settings.seeds_dir, doc_id)
    aside = {path: path.with_name(f".{path.name}.removed") for path in files}
    for path, kept in aside.items():
        path.replace(kept)
    try:
        retriever = open_retriever(settings, repair=True, embedder=embedder)
    except BaseException as exc:  # the article goes back in place, whatever stopped the indexing
        for path, kept in aside.items():
            kept.replace(path)
        if isinstance(exc, ServiceError):
            raise IngestError(f"the index without it could not be built, so the article stays: {exc}") from exc
        raise
    for kept in aside.values():
        kept.unlink(missing_ok=True)
    return retriever


def languages(corpus: Corpus, document: Document) -> list[str]:
    """The languages an article can be read in (original first)."""
    found = {lang for p in corpus.passages if p.doc == document.id for lang in p.views()}
    return [document.language, *sorted(found - {document.language})]


def article_rows(corpus: Corpus, language: str) -> list[str]:
    """One line per article: number, title, date, paragraphs, languages, id."""
    return [
        f"{n}. {document.title(language)} · {document.date or '—'} · {document.paragraph_count} ¶ · "
        f"{', '.join(languages(corpus, document))} · {document.id}"
        for n, document in enumerate(corpus.documents, start=1)
    ]
