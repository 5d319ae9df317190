"""An article's key sentences, chosen extractively: central to the article, early in it, not repeated.

A news report puts its most important facts first (the inverted pyramid), and the sentences a
report keeps coming back to are the ones most like all the others (LexRank's degree
centrality). Each sentence is scored by both; the best are taken greedily, skipping any too
close to one already taken, and shown in the article's order. An editor's summary in
``meta.json`` takes precedence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .corpus import Document, continues_previous
from .retriever import zscore

if TYPE_CHECKING:
    from .retriever import Retriever

KEY_POINTS = 4
# Weight of lead position against centrality (both z-scored). Chosen so the lead sentence is
# picked and the rest come from across the article; at 0 the picks cluster around the
# article's most repeated theme, at 1.5 they are simply the first paragraphs.
LEAD_WEIGHT = 0.7
# Two sentences this alike say the same thing. e5 cosines bunch high: among the seed article's
# sentences the 99th percentile of pairs is 0.90-0.91 (en/ar), and the pairs above 0.95 repeat
# one fact (the "great victory" lead and its quote).
REDUNDANT = 0.92
MIN_WORDS = 6  # fragments and short quotes say little out of context
# "(Moscow) –" or "MOSCOW:" opening the first paragraph.
_DATELINE = re.compile(r"^\(?\s*([^()–—\-:]{2,40}?)\s*\)?\s*[–—\-:]\s+")


@dataclass(frozen=True, slots=True)
class KeyPoint:
    """One sentence of a summary and the paragraph it comes from."""

    text: str
    paragraph: int


@dataclass(frozen=True, slots=True)
class Summary:
    """What an article is about, in one language."""

    doc: str
    title: str
    dateline: str | None
    date: str | None
    points: tuple[KeyPoint, ...]
    by_editor: bool


def dateline(text: str) -> tuple[str | None, str]:
    """("Moscow", rest) when a paragraph opens with a dateline, else (None, text)."""
    match = _DATELINE.match(text)
    if match is None:
        return None, text
    return match.group(1).strip(), text[match.end() :]


def summarise(retriever: Retriever, document: Document, language: str, *, count: int = KEY_POINTS) -> Summary:
    """The title, dateline and ``count`` key sentences of ``document`` in ``language``."""
    passages = [(i, p) for i, p in enumerate(retriever.corpus.passages) if p.doc == document.id]
    first = passages[0][1].text_in(language) if passages else ""
    place, _ = dateline(first)
    editor = document.summary.get(language)
    if editor:
        points = tuple(KeyPoint(text, paragraph) for text, paragraph in editor)
        return Summary(document.id, document.title(language), place, document.date, points, True)

    sentences: list[tuple[int, str]] = []  # (paragraph, sentence)
    unit_ids: list[int | None] = []
    for i, passage in passages:
        own = passage.sentences_in(language)
        for n, sentence in enumerate(own, start=1):
            if n == 1 and i == passages[0][0]:
                sentence = dateline(sentence)[1]
            if len(sentence.split()) < MIN_WORDS or (n == 1 and continues_previous(passage)):
                continue  # "He added: ..." means nothing without the paragraph before it
            sentences.append((passage.paragraph, sentence))
            unit_ids.append(retriever.unit_id(i, language, n if len(own) > 1 else 0))
    if not sentences:
        return Summary(document.id, document.title(language), place, document.date, (), False)

    vectors = _sentence_vectors(retriever, [s for _, s in sentences], unit_ids)
    similarity = vectors @ vectors.T
    centrality = (similarity.sum(axis=1) - 1.0) / max(1, len(sentences) - 1)
    position = np.arange(len(sentences), dtype=np.float32)
    score = zscore(centrality) + LEAD_WEIGHT * zscore(-position)
    chosen: list[int] = []
    for n in np.argsort(-score, kind="stable"):
        if all(similarity[n, m] < REDUNDANT for m in chosen):
            chosen.append(int(n))
        if len(chosen) == count:
            break
    points = tuple(KeyPoint(sentences[n][1], sentences[n][0]) for n in sorted(chosen))
    return Summary(document.id, document.title(language), place, document.date, points, False)


def _sentence_vectors(retriever: Retriever, texts: list[str], unit_ids: list[int | None]) -> np.ndarray:
    """The index's own vectors of these sentences where it keeps them, else embedded now."""
    known = [u for u in unit_ids if u is not None]
    if len(known) == len(texts):
        stored = retriever.index.vectors.stored(known)
        if stored is not None:
            return stored.astype(np.float32)
    return retriever.embedder.embed_passages(texts)
