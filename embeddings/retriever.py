"""Question -> ranked passages: dense (FAISS) and lexical (BM25) evidence fused, with refusal.

The steps, each switchable in :class:`RetrievalConfig` so ``summit-bot eval``
can ablate them (see docs/retrieval.md):

1. detect the question's language; fold an elliptical follow-up into the
   previous question of the conversation;
2. dense scores per passage from the paragraph *in the question's language*
   (the English translation for English questions) and its best sentence;
3. BM25 over normalised, stemmed words of the same language view;
4. weighted fusion of both into one ranking;
5. refusal: answered only when the top passage stands out from the rest of the
   corpus (a relative threshold, since e5 cosines bunch together) or shares
   enough rare words with the question.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .corpus import Corpus, Passage, load_corpus
from .embedders import Embedder
from .language import Language, detect_language
from .lexical import LexicalIndex, build_lexical, terms
from .store import LoadedIndex, Unit, open_index

log = logging.getLogger(__name__)

# Telegram caps messages at 4096 characters; nothing useful for retrieval lies
# beyond the first sentences, and the embedder's 512-token window is ~2000 chars.
MAX_QUESTION_CHARS = 1000

# Words that make a question lean on the previous one ("and ...", "he", "that").
_FOLLOW_UP_MARKERS = frozenset(
    """
    and also what about how he she it they them him her his their that this those there then same
    else other
    و ف هو هي هم ذلك هذا هذه هناك حينها وقتها عنه عنها عنهم فيه فيها ده دي دول كمان برضه بعدين
    """.split()
)


class RetrievalError(Exception):
    """A question cannot be answered for a reason the asker can fix (e.g. it is empty)."""


@dataclass(frozen=True, slots=True)
class RetrievalConfig:
    """Every retrieval choice that is a real trade-off, with the measured defaults."""

    translation_views: bool = True  # match each question against the paragraph in its own language
    sentence_scoring: bool = True  # let a paragraph's best sentence lift its score
    sentence_weight: float = 0.5  # blend of paragraph cosine and best-sentence cosine
    lexical: bool = True  # BM25 evidence fused with the dense score
    lexical_weight: float = 0.06  # BM25 share, in cosine units, of the best lexical match
    follow_ups: bool = True  # fold elliptical questions into the previous one
    context_weight: float = 0.6  # weight of the previous question's vector in a follow-up
    min_margin: float = 0.045  # top dense score minus corpus median, in cosine units
    min_coverage: float = 0.5  # share of question idf found in the top passage
    min_score: float = 0.78  # absolute floor below which nothing is an answer
    candidates: int = 256  # units fetched from FAISS per question on large corpora
    cache_size: int = 512  # recent answers kept in memory


@dataclass(frozen=True, slots=True)
class Hit:
    """One ranked passage for a question."""

    passage: Passage
    score: float
    dense: float
    lexical: float
    highlights: dict[str, str]

    def highlight(self, language: str) -> str:
        """Best sentence of the passage in ``language`` (falls back to the original's)."""
        return self.highlights.get(language) or self.highlights[self.passage.language]


@dataclass(frozen=True, slots=True)
class Answer:
    """The retrieval result for one question."""

    question: str
    language: Language
    answered: bool
    confidence: str  # "high", "medium", "low" (low is never answered)
    hits: tuple[Hit, ...]
    used_context: bool = False
    truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        """The ``summit-bot ask --json`` object."""
        return {
            "question": self.question,
            "language": self.language,
            "answered": self.answered,
            "confidence": self.confidence,
            "used_context": self.used_context,
            "passages": [
                {
                    "id": hit.passage.id,
                    "doc": hit.passage.doc,
                    "paragraph": hit.passage.paragraph,
                    "score": round(hit.score, 4),
                    "text": hit.passage.text,
                    "translation": hit.passage.translation,
                    "highlight": hit.highlight(self.language),
                }
                for hit in self.hits
            ],
        }


def is_elliptical(question: str) -> bool:
    """Whether a question seems to lean on the previous one: short, or opening with "and"/a pronoun."""
    words = [w for w in question.lower().replace("؟", " ").replace("?", " ").split()]
    if not words:
        return False
    first = words[0]
    # Arabic glues "and" to the next word: "ومن", "وماذا".
    if first in _FOLLOW_UP_MARKERS or (first.startswith(("و", "ف")) and len(first) <= 6):
        return True
    content = terms(question)
    return len(content) <= 2 or any(w in _FOLLOW_UP_MARKERS for w in words)


@dataclass
class Retriever:
    """Answers questions over one corpus with one embedder and its index."""

    corpus: Corpus
    embedder: Embedder
    index: LoadedIndex
    config: RetrievalConfig = field(default_factory=RetrievalConfig)
    lexical: dict[str, LexicalIndex] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.lexical:
            self.lexical = build_lexical(self.corpus)
        # unit id -> position, and per passage: language -> [paragraph unit, sentence units...]
        self._units_of: list[dict[str, list[int]]] = [{} for _ in self.corpus.passages]
        for uid, unit in enumerate(self.index.units):
            self._units_of[unit.passage].setdefault(unit.language, []).append(uid)
        self._cache: OrderedDict[tuple[str, str | None, int], Answer] = OrderedDict()
        self._cache_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        *,
        seeds_dir: Path,
        index_dir: Path,
        embedder: Embedder,
        config: RetrievalConfig | None = None,
        rebuild: bool = False,
        repair: bool = False,
    ) -> Retriever:
        """Load the corpus, load or (re)build its index, and return a ready retriever."""
        corpus = load_corpus(seeds_dir)
        index = open_index(corpus, embedder, index_dir, rebuild=rebuild, repair=repair)
        return cls(corpus=corpus, embedder=embedder, index=index, config=config or RetrievalConfig())

    def with_config(self, config: RetrievalConfig) -> Retriever:
        """The same corpus and index with other settings (used by the ablation)."""
        return replace(self, config=config)

    # -- public API -------------------------------------------------------------------------

    def ask(self, question: str, *, k: int = 3, context: str | None = None) -> Answer:
        """Rank passages for ``question``; ``context`` is the previous question of the conversation."""
        question = " ".join(question.split())
        if not question:
            raise RetrievalError("the question is empty")
        truncated = len(question) > MAX_QUESTION_CHARS
        query = question[:MAX_QUESTION_CHARS]
        context = " ".join((context or "").split())[:MAX_QUESTION_CHARS] or None
        key = (query, context, k)
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return replace(cached, question=question)
        answer = self._answer(query, k=k, context=context, truncated=truncated)
        answer = replace(answer, question=question)
        with self._cache_lock:
            self._cache[key] = answer
            while len(self._cache) > self.config.cache_size:
                self._cache.popitem(last=False)
        return answer

    # -- internals ----------------------------------------------------------------------------

    def _answer(self, query: str, *, k: int, context: str | None, truncated: bool) -> Answer:
        cfg = self.config
        language: Language = detect_language(query)
        use_context = bool(cfg.follow_ups and context and is_elliptical(query))
        if use_context:
            q_vec, c_vec = self.embedder.embed_queries([query, context])  # type: ignore[list-item]
            vector = q_vec + cfg.context_weight * c_vec
            vector /= np.linalg.norm(vector) or 1.0
            query_terms = terms(query) + terms(context or "")
        else:
            vector = self.embedder.embed_queries([query])[0]
            query_terms = terms(query)

        unit_scores = self._unit_scores(vector)
        view = language if cfg.translation_views else None
        passages = self.corpus.passages
        dense = np.full(len(passages), -1.0, dtype=np.float32)
        for i in {u.passage for u in (self.index.units[j] for j in unit_scores)}:
            dense[i] = self._dense_score(i, view, unit_scores)

        lexical = np.zeros(len(passages), dtype=np.float32)
        lex_language = language if language in self.lexical else passages[0].language
        if cfg.lexical and query_terms:
            raw = self.lexical[lex_language].scores(query_terms)
            if raw.max() > 0:
                lexical = raw / raw.max()
        fused = dense + (cfg.lexical_weight * lexical if cfg.lexical else 0.0)

        order = np.argsort(-fused, kind="stable")[: max(1, k)]
        seen = dense[dense > -1.0]
        top = int(order[0])
        margin = float(dense[top] - np.median(seen)) if len(seen) else 0.0
        coverage = self.lexical[lex_language].coverage(query_terms, top) if query_terms else 0.0
        answered, confidence = self._decide(float(dense[top]), margin, coverage)

        hits = tuple(
            Hit(
                passage=passages[i],
                score=float(fused[i]),
                dense=float(dense[i]),
                lexical=float(lexical[i]),
                highlights=self._highlights(i, unit_scores, query_terms),
            )
            for i in order
            if dense[i] > -1.0 or lexical[i] > 0
        )
        return Answer(
            question=query,
            language=language,
            answered=answered,
            confidence=confidence,
            hits=hits,
            used_context=use_context,
            truncated=truncated,
        )

    def _unit_scores(self, vector: np.ndarray) -> dict[int, float]:
        """Cosine of the question with every unit (small corpora) or the top candidates (large)."""
        total = len(self.index.vectors)
        k = total if total <= 4 * self.config.candidates else self.config.candidates
        scores, ids = self.index.vectors.search(vector[None, :], k)
        return {int(i): float(s) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0}

    def _dense_score(self, passage: int, view: str | None, unit_scores: dict[int, float]) -> float:
        units = self._units_of[passage]
        language = view if view in units else self.corpus.passages[passage].language
        ids = units[language]
        paragraph = unit_scores.get(ids[0])
        if paragraph is None:  # only some of its sentences made the candidate list
            paragraph = min((unit_scores[j] for j in ids if j in unit_scores), default=-1.0)
        if not self.config.sentence_scoring or len(ids) == 1:
            return paragraph
        best_sentence = max((unit_scores.get(j, -1.0) for j in ids[1:]), default=-1.0)
        w = self.config.sentence_weight
        return (1 - w) * paragraph + w * max(paragraph, best_sentence)

    def _decide(self, top: float, margin: float, coverage: float) -> tuple[bool, str]:
        cfg = self.config
        if top < cfg.min_score:
            return False, "low"
        strong_margin = margin >= cfg.min_margin
        strong_words = coverage >= cfg.min_coverage
        if strong_margin and strong_words:
            return True, "high"
        if strong_margin or strong_words:
            return True, "medium"
        return False, "low"

    def _highlights(self, passage: int, unit_scores: dict[int, float], query_terms: list[str]) -> dict[str, str]:
        """Best sentence per language view: dense sentence score, ties broken by shared words."""
        p = self.corpus.passages[passage]
        wanted = set(query_terms)
        out: dict[str, str] = {}
        for language, ids in self._units_of[passage].items():
            sentences = p.sentences_in(language)
            if len(ids) == 1 or len(sentences) == 1:
                out[language] = sentences[0]
                continue

            def score(n: int, ids: list[int] = ids, sentences: tuple[str, ...] = sentences) -> float:
                overlap = len(wanted & set(terms(sentences[n]))) / (len(wanted) or 1)
                return unit_scores.get(ids[n + 1], 0.0) + 0.1 * overlap

            out[language] = sentences[max(range(len(sentences)), key=score)]
        return out


__all__ = ["Answer", "Hit", "RetrievalConfig", "RetrievalError", "Retriever", "Unit", "is_elliptical"]
