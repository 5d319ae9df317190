"""Loading articles from ``seeds/`` into paragraph passages.

Layout of ``seeds/`` (a new article needs only the first file):

* ``<doc>.txt`` -- the original article, paragraphs separated by blank lines;
* ``<doc>.<lang>.txt`` -- an optional translation (``lang`` is a two-letter code),
  aligned paragraph for paragraph with the original;
* ``<doc>.meta.json`` -- optional metadata: ``title`` (per language), ``source`` (one note, or per language),
  ``files`` mapping each file name to its ``language``, ``examples`` (questions to
  suggest, per language), ``date`` (of publication), ``questions`` (per paragraph number and language, the
  questions editors know that paragraph answers) and ``summary`` (an editor's key
  points per language, each ``{"text": ..., "paragraph": N}``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .language import detect_language

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# A sentence ends at . ! ? ؟ … (optionally followed by closing quotes) and whitespace.
_SENTENCE_END = re.compile(r"([.!?؟…]+[\"”»’)]*)\s+")
# Openers that continue the previous paragraph's speaker or subject ("He added:", "وأضاف:").
_CONTINUATION = {
    "en": re.compile(r"^(He|She|They|It|His|Her|Their)\b"),
    "ar": re.compile(r"^(وأضاف|وتابع|وأصر|وأوضح|وأشار|واعتبر|وختم|كما (أشاد|أكد|قال|أضاف))"),
}
_TRANSLATION_NAME = re.compile(r"^(?P<doc>.+)\.(?P<lang>[a-z]{2})\.txt$")


class CorpusError(Exception):
    """The seeds folder cannot be turned into a corpus; the message says why and where."""


class AlignmentError(CorpusError):
    """A translation does not have the same number of paragraphs as its original."""


def continues_previous(passage: Passage) -> bool:
    """Whether a paragraph opens by pointing back to the previous one, in any of its languages."""
    return any(
        pattern.match(passage.text_in(language)) is not None
        for language, pattern in _CONTINUATION.items()
        if language in passage.views()
    )


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines; a file without blank lines is one paragraph per line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return []
    parts = _PARAGRAPH_BREAK.split(text)
    if len(parts) == 1:
        parts = text.split("\n")
    return [" ".join(p.split()) for p in parts if p.strip()]


def split_sentences(paragraph: str) -> tuple[str, ...]:
    """Sentences of a paragraph, for highlighting the best one."""
    marked = _SENTENCE_END.sub("\\1\n", paragraph)
    sentences = [s.strip() for s in marked.split("\n") if s.strip()]
    return tuple(sentences) or (paragraph,)


@dataclass(frozen=True, slots=True)
class Passage:
    """One paragraph of one article, with its translation when the article has one."""

    id: str
    doc: str
    paragraph: int
    language: str
    text: str
    sentences: tuple[str, ...]
    translation: str | None = None
    translation_language: str | None = None
    translation_sentences: tuple[str, ...] = ()
    # (language, question) pairs an editor wrote for this paragraph: retrieval evidence, never quoted.
    questions: tuple[tuple[str, str], ...] = ()

    def questions_in(self, language: str) -> tuple[str, ...]:
        """The editors' questions for this paragraph in ``language``."""
        return tuple(q for lang, q in self.questions if lang == language)

    def text_in(self, language: str) -> str:
        """The paragraph in ``language`` if available, else the original."""
        if language == self.translation_language and self.translation is not None:
            return self.translation
        return self.text

    def sentences_in(self, language: str) -> tuple[str, ...]:
        """Sentences in ``language`` if available, else those of the original."""
        if language == self.translation_language and self.translation_sentences:
            return self.translation_sentences
        return self.sentences

    def views(self) -> dict[str, str]:
        """Every language this paragraph is available in, mapped to its text."""
        views = {self.language: self.text}
        if self.translation is not None and self.translation_language:
            views[self.translation_language] = self.translation
        return views


def _default(notes: dict[str, str], language: str) -> str:
    """The note in English (what the CLI and logs print), else in the article's language, else any."""
    return notes.get("en") or notes.get(language) or next(iter(notes.values()), "")


@dataclass(frozen=True, slots=True)
class Document:
    """An article: its id, titles, source note and files."""

    id: str
    language: str
    titles: dict[str, str]
    source: str
    path: Path
    translation_path: Path | None
    paragraph_count: int
    examples: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # An editor's key points per language, as (sentence, paragraph number); empty: summarised by the bot.
    summary: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    date: str | None = None  # publication date as the editor gives it (ISO 8601)
    # The source note per language, when the editor wrote it in more than one; ``source`` is the default.
    sources: dict[str, str] = field(default_factory=dict)

    def title(self, language: str) -> str:
        """Title in ``language``, falling back to any title we have."""
        return self.titles.get(language) or next(iter(self.titles.values()), self.id)

    def source_in(self, language: str) -> str:
        """The source note in ``language``, falling back to the default one."""
        return self.sources.get(language) or self.source


@dataclass(frozen=True, slots=True)
class Corpus:
    """All passages of all articles in a seeds folder, in a stable order."""

    documents: tuple[Document, ...]
    passages: tuple[Passage, ...]
    hash: str = field(compare=False)

    def passage(self, passage_id: str) -> Passage | None:
        """Look a passage up by its id (``doc:paragraph``)."""
        return self._by_id().get(passage_id)

    def _by_id(self) -> dict[str, Passage]:
        # Keyed by hash, but kept for these very passages: two loads of the same seeds are equal
        # corpora with distinct objects, and a lookup must return this corpus's own passage.
        cached = _ID_CACHE.get(self.hash)
        if cached is None or cached[0] is not self.passages:
            cached = _ID_CACHE[self.hash] = (self.passages, {p.id: p for p in self.passages})
        return cached[1]

    @property
    def languages(self) -> set[str]:
        """Languages any passage is available in."""
        return {lang for p in self.passages for lang in p.views()}


_ID_CACHE: dict[str, tuple[tuple[Passage, ...], dict[str, Passage]]] = {}


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path} is not valid UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def _read_meta(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        meta = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise CorpusError(f"{path} must hold a JSON object")
    return meta


def _file_language(meta: dict, path: Path, text: str) -> str:
    files = meta.get("files") or {}
    declared = (files.get(path.name) or {}).get("language") if isinstance(files, dict) else None
    return str(declared) if declared else detect_language(text)


def _load_document(original: Path, translations: list[Path]) -> tuple[Document, list[Passage]]:
    doc_id = original.name.removesuffix(".txt")
    meta = _read_meta(original.with_name(f"{doc_id}.meta.json"))
    text = _read_text(original)
    paragraphs = split_paragraphs(text)
    if not paragraphs:
        raise CorpusError(f"{original} has no text")
    language = _file_language(meta, original, text)

    translation_path: Path | None = None
    translated: list[str] = []
    translation_language: str | None = None
    # One translation per article: prefer one in a language the original is not in.
    for candidate in sorted(translations):
        lang = _TRANSLATION_NAME.match(candidate.name)["lang"]  # type: ignore[index]
        if lang == language:
            continue
        translated = split_paragraphs(_read_text(candidate))
        if len(translated) != len(paragraphs):
            raise AlignmentError(
                f"{candidate.name} has {len(translated)} paragraphs but {original.name} has "
                f"{len(paragraphs)}: a translation must be aligned paragraph for paragraph "
                f"(in {original.parent})"
            )
        translation_path, translation_language = candidate, lang
        break

    questions = _editor_questions(meta, original, len(paragraphs))
    titles = meta.get("title") if isinstance(meta.get("title"), dict) else {}
    # "source" is one note, or one per language like "title".
    note = meta.get("source")
    sources = {str(k): str(v) for k, v in note.items() if v} if isinstance(note, dict) else {}
    if not titles:
        titles = {language: paragraphs[0][:80]}
    document = Document(
        id=doc_id,
        language=language,
        titles={str(k): str(v) for k, v in titles.items()},
        source=_default(sources, language) if isinstance(note, dict) else str(note or ""),
        sources=sources,
        path=original,
        translation_path=translation_path,
        paragraph_count=len(paragraphs),
        examples={
            str(lang): tuple(str(q) for q in questions)
            for lang, questions in (meta.get("examples") or {}).items()
            if isinstance(questions, list)
        },
        summary=_editor_summary(meta, original, len(paragraphs)),
        date=str(meta["date"]) if meta.get("date") else None,
    )
    passages = [
        Passage(
            id=f"{doc_id}:{number}",
            doc=doc_id,
            paragraph=number,
            language=language,
            text=paragraph,
            sentences=split_sentences(paragraph),
            translation=translated[number - 1] if translated else None,
            translation_language=translation_language,
            translation_sentences=split_sentences(translated[number - 1]) if translated else (),
            questions=questions.get(number, ()),
        )
        for number, paragraph in enumerate(paragraphs, start=1)
    ]
    return document, passages


def _meta_path(original: Path) -> Path:
    return original.with_name(original.name.removesuffix(".txt") + ".meta.json")


def _editor_questions(meta: dict, original: Path, paragraphs: int) -> dict[int, tuple[tuple[str, str], ...]]:
    """``questions`` of a meta file: {"3": {"en": [...], "ar": [...]}} -> {3: (("en", q), ...)}."""
    raw = meta.get("questions") or {}
    where = _meta_path(original)
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: 'questions' must map paragraph numbers to {{language: [questions]}}")
    out: dict[int, tuple[tuple[str, str], ...]] = {}
    for key, by_language in raw.items():
        if not str(key).isdigit() or not 1 <= int(key) <= paragraphs:
            raise CorpusError(f"{where}: 'questions' names paragraph {key!r}; the article has 1 to {paragraphs}")
        if not isinstance(by_language, dict) or not all(isinstance(v, list) for v in by_language.values()):
            raise CorpusError(f"{where}: 'questions' for paragraph {key} must map languages to lists of questions")
        out[int(key)] = tuple(
            (str(lang), " ".join(str(q).split())) for lang, qs in by_language.items() for q in qs if str(q).strip()
        )
    return out


def _editor_summary(meta: dict, original: Path, paragraphs: int) -> dict[str, tuple[tuple[str, int], ...]]:
    """``summary`` of a meta file: {"en": [{"text": ..., "paragraph": 1}, ...]}."""
    raw = meta.get("summary") or {}
    where = _meta_path(original)
    out: dict[str, tuple[tuple[str, int], ...]] = {}
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: 'summary' must map languages to lists of {{text, paragraph}}")
    for language, points in raw.items():
        items: list[tuple[str, int]] = []
        for point in points if isinstance(points, list) else [None]:
            if (
                not isinstance(point, dict)
                or not str(point.get("text", "")).strip()
                or not isinstance(point.get("paragraph"), int)
                or not 1 <= point["paragraph"] <= paragraphs
            ):
                raise CorpusError(
                    f"{where}: each 'summary' point needs a 'text' and a 'paragraph' from 1 to {paragraphs}"
                )
            items.append((" ".join(str(point["text"]).split()), point["paragraph"]))
        out[str(language)] = tuple(items)
    return out


def load_corpus(seeds_dir: Path) -> Corpus:
    """Read every article in ``seeds_dir``; raise :class:`CorpusError` with the path when unusable."""
    seeds_dir = Path(seeds_dir)
    if not seeds_dir.is_dir():
        raise CorpusError(f"seeds folder not found: {seeds_dir} (set SUMMIT_SEEDS_DIR or create it)")
    originals: dict[str, Path] = {}
    translations: dict[str, list[Path]] = {}
    for path in sorted(seeds_dir.glob("*.txt")):
        match = _TRANSLATION_NAME.match(path.name)
        if match and (seeds_dir / f"{match['doc']}.txt").exists():
            translations.setdefault(match["doc"], []).append(path)
        else:
            originals[path.name.removesuffix(".txt")] = path
    if not originals:
        raise CorpusError(f"seeds folder {seeds_dir} has no articles (*.txt files)")

    documents: list[Document] = []
    passages: list[Passage] = []
    digest = hashlib.sha256()
    for doc_id, path in sorted(originals.items()):
        document, doc_passages = _load_document(path, translations.get(doc_id, []))
        documents.append(document)
        passages.extend(doc_passages)
        for file in (path, document.translation_path, path.with_name(f"{doc_id}.meta.json")):
            if file is not None and file.exists():
                digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return Corpus(documents=tuple(documents), passages=tuple(passages), hash=digest.hexdigest()[:16])


# -- snapshot (a shipped index carries its corpus, so serving never reads seeds/) -----------------

SNAPSHOT_FORMAT = 1


def corpus_to_json(corpus: Corpus) -> dict[str, Any]:
    """Everything retrieval and the replies read of a corpus: articles (titles, source, date, example
    questions, editors' summaries) and passages (text, sentences, translation, editors' questions).

    File paths are kept as names only: they say where an article came from, nothing reads them.
    """
    return {
        "format": SNAPSHOT_FORMAT,
        "hash": corpus.hash,
        "documents": [
            {
                "id": d.id,
                "language": d.language,
                "titles": d.titles,
                "source": d.source,
                "sources": d.sources,
                "file": d.path.name,
                "translation_file": d.translation_path.name if d.translation_path else None,
                "paragraphs": d.paragraph_count,
                "examples": {lang: list(qs) for lang, qs in d.examples.items()},
                "summary": {lang: [[text, n] for text, n in points] for lang, points in d.summary.items()},
                "date": d.date,
            }
            for d in corpus.documents
        ],
        "passages": [
            {
                "id": p.id,
                "doc": p.doc,
                "paragraph": p.paragraph,
                "language": p.language,
                "text": p.text,
                "sentences": list(p.sentences),
                "translation": p.translation,
                "translation_language": p.translation_language,
                "translation_sentences": list(p.translation_sentences),
                "questions": [[lang, q] for lang, q in p.questions],
            }
            for p in corpus.passages
        ],
    }


def corpus_from_json(data: dict[str, Any]) -> Corpus:
    """The corpus :func:`corpus_to_json` described; :class:`CorpusError` when it is not one."""
    try:
        if data.get("format") != SNAPSHOT_FORMAT:
            raise CorpusError(f"corpus snapshot format {data.get('format')!r}, expected {SNAPSHOT_FORMAT}")
        documents = tuple(
            Document(
                id=str(d["id"]),
                language=str(d["language"]),
                titles={str(k): str(v) for k, v in d["titles"].items()},
                source=str(d["source"]),
                sources={str(k): str(v) for k, v in (d.get("sources") or {}).items()},  # absent before 2026-12-07
                path=Path(d["file"]),
                translation_path=Path(d["translation_file"]) if d["translation_file"] else None,
                paragraph_count=int(d["paragraphs"]),
                examples={str(lang): tuple(str(q) for q in qs) for lang, qs in d["examples"].items()},
                summary={
                    str(lang): tuple((str(text), int(n)) for text, n in points) for lang, points in d["summary"].items()
                },
                date=str(d["date"]) if d["date"] else None,
            )
            for d in data["documents"]
        )
        passages = tuple(
            Passage(
                id=str(p["id"]),
                doc=str(p["doc"]),
                paragraph=int(p["paragraph"]),
                language=str(p["language"]),
                text=str(p["text"]),
                sentences=tuple(str(s) for s in p["sentences"]),
                translation=str(p["translation"]) if p["translation"] is not None else None,
                translation_language=str(p["translation_language"]) if p["translation_language"] else None,
                translation_sentences=tuple(str(s) for s in p["translation_sentences"]),
                questions=tuple((str(lang), str(q)) for lang, q in p["questions"]),
            )
            for p in data["passages"]
        )
        corpus_hash = str(data["hash"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CorpusError(f"not a corpus snapshot: {exc!r}") from exc
    if not documents or not passages:
        raise CorpusError("the corpus snapshot holds no articles")
    return Corpus(documents=documents, passages=passages, hash=corpus_hash)


_EXAMPLE_TEMPLATES = {"en": "What does the article say about {title}?", "ar": "ماذا يقول المقال عن {title}؟"}


def example_questions(corpus: Corpus, language: str) -> list[str]:
    """Example questions in ``language``: each article's ``examples``, else one built from its title."""
    questions: list[str] = []
    for document in corpus.documents:
        listed = document.examples.get(language)
        if listed:
            questions.extend(listed)
        else:
            template = _EXAMPLE_TEMPLATES.get(language, _EXAMPLE_TEMPLATES["en"])
            questions.append(template.format(title=document.title(language)[:60]))
    return questions
