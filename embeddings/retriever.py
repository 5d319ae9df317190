"""Question -> ranked passages: dense (FAISS) and lexical (BM25) evidence fused, with refusal.

The steps, each switchable in :class:`RetrievalConfig` so ``summit-bot eval``
can ablate them (see docs/retrieval.md):

1. rewrite names spelled unlike the article (Shoygu -> Shoigu); detect the
   question's language; fold an elliptical follow-up into the previous question;
2. dense scores per passage from the paragraph *in the question's language*
   (the English translation for English questions), mixed with its other-language
   view, each blended with its best sentence;
3. BM25 over normalised, stemmed words of the same language view;
4. z-score fusion of both into one ranking, plus a small bonus for passages that
   hold the kind of answer asked for (place, time, quantity, reason); a "what did he
   say next?" follow-up goes to the paragraph that carries the previous answer on;
5. refusal: answered only when the best cosine, plus how far it stands out from
   the corpus median (e5 cosines bunch together), plus capped BM25 evidence,
   reaches a threshold, and, for a question asking for a fact such as an age or a
   birth date, when one of the top passages states such a fact.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .answer_types import AnswerType, Attribute, asked_attribute, expected_type, states, supplies
from .corpus import Corpus, Passage, continues_previous, load_corpus
from .embedders import Embedder
from .language import Language, detect_language
from .lexical import LexicalIndex, build_lexical, terms
from .normalize import normalise
from .spelling import Speller
from .store import LoadedIndex, Unit, open_index

log = logging.getLogger(__name__)

# Telegram caps messages at 4096 characters; nothing useful for retrieval lies
# beyond the first sentences, and the embedder's 512-token window is ~2000 chars.
MAX_QUESTION_CHARS = 1000

# Words that make a question lean on the previous one ("and ...", "he", "that").
# Words that point back to something said before ("he", "there", "عنه"). Question words
# are absent ("What is the capital of France?" is not a follow-up), and so are words that
# also open standalone questions: "this summit", Arabic copulas "ما هي", Egyptian "هو كيم...".
_ANAPHORA = frozenset(
    normalise(w)
    for w in """
    he she it they them him her his its their theirs there then else
    ذلك تلك هناك حينها وقتها عنه عنها عنهم فيه فيها منه منها ده دول هيك كمان برضه بعدين بعدها بعده قبلها قبله
    """.split()
)
# Question words that, glued to a leading "and" (و/ف), open an Arabic follow-up: "ومن حضر؟".
_AR_QUESTION_WORDS = frozenset(
    normalise(w)
    for w in """
    ماذا من متى أين كيف هل لماذا كم ما إمتى امتى ليش ليه شو ايه إيه ايش وش شنو مين منو وين فين ازاي إزاي بعدين
    """.split()
)

# A demonstrative before a noun that names something said before ("that city", "the same day"),
# or "in return" ("بالمقابل"). Bare "that"/"this" open standalone questions too, and "this
# summit/visit" names the article's own subject, so only these nouns count.
_POINTING_BACK = re.compile(
    r"\b(that|this|those|these|the same) (city|country|place|man|person|leader|day|year|time)s?\b"
    r"|\bin (return|exchange)\b|\bبالمقابل\b|\bفي المقابل\b"
)

# "What did he say next?", "What else did he say?", "وماذا أضاف؟": the answer is what follows the
# previous answer, which mixing in the previous question cannot find (it pulls towards the
# paragraph already shown).
_ASKS_WHAT_CAME_NEXT = re.compile(
    r"\b(next|added?|adds|else did (he|she|they) say|go(es)? on|went on|continued?)\b"
    r"|\b(اضاف|يضيف|تابع|قال كمان|قال ايضا|قال بعد)"
)


class RetrievalError(Exception):
    """A question cannot be answered for a reason the asker can fix (e.g. it is empty)."""


@dataclass(frozen=True, slots=True)
class RetrievalConfig:
    """Every retrieval choice that is a real trade-off, with the defaults measured in docs/retrieval.md."""

    translation_views: bool = True  # score against the paragraph in the question's language too
    cross_view_weight: float = 0.5  # share of the other language's view in a passage's dense score
    sentence_scoring: bool = True  # let a paragraph's best sentence lift its score
    sentence_weight: float = 0.5  # blend of paragraph cosine and best-sentence cosine
    lexical: bool = True  # BM25 evidence fused with the dense score
    lexical_weight: float = 0.4  # BM25 z-score weight relative to the dense z-score
    answer_type_weight: float = 0.8  # z-score bonus for passages holding the kind of answer asked (place/time/...)
    spelling: bool = True  # rewrite words the corpus spells differently (Shoygu -> Shoigu) before retrieval
    attribute_check: bool = True  # "How old is...?" needs a passage that states an age (answer_types.py)
    follow_ups: bool = True  # fold elliptical questions into the previous one
    continuations: bool = True  # "what did he add?" -> the "He added:" paragraph after the previous answer
    context_weight: float = 0.5  # weight of the previous question's vector in a follow-up
    # Refusal. relevance = best dense cosine + margin_weight * (best - corpus median)
    #                      + lexical_bonus * min(best BM25, 3).
    # e5 cosines of unrelated text sit around 0.70-0.80 and of answering passages
    # around 0.82-0.92 once each question meets the paragraph in its own language;
    # the margin term rewards a passage that stands out from the rest of the corpus,
    # the capped BM25 term rewards rare shared words (names, places).
    min_relevance: float = 0.85
    # Arabic questions meet Arabic paragraphs at lower e5 cosines (finer sub-word
    # pieces); on the project's set off-topic Arabic questions peak ~0.04 below
    # English ones, so the Arabic threshold sits lower by half that.
    min_relevance_ar: float = 0.83
    margin_weight: float = 0.5
    lexical_bonus: float = 0.04
    high_confidence: float = 0.04  # relevance this far above the threshold is "high"
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
    """Whether a question leans on the previous one: opens with "and", points back, or has no topic."""
    text = normalise(question)
    words = text.split()
    if not words:
        return False
    first = words[0]
    if first in ("and", "so", "also", "و", "ف") or first in _ANAPHORA:
        return True
    # Arabic glues "and" to the next word, and a preposition may sit between them:
    # "ومن", "وماذا", "وإمتى", "وبماذا" (and with what), "ولماذا", "وبعدها" (and after that).
    if first[:1] in ("و", "ف"):
        rest = first[1:]
        if rest in _AR_QUESTION_WORDS or rest in _ANAPHORA:
            return True
        if rest[:1] in ("ب", "ل", "ك") and rest[1:] in _AR_QUESTION_WORDS:
            return True
    if _POINTING_BACK.search(text):
        return True
    return len(terms(question)) <= 1 or _leading_anaphor(words)


# A pronoun points back to the previous turn only when the question has not yet named anyone
# it could stand for: "What did he say next?", "How long did they last?" (within the first
# five words), not "Did Kim and Putin speak privately, without their teams?" or "Who stood
# around Putin when he raised a toast?". Measured on both question sets: the old rule (any
# pronoun anywhere) read 21 standalone questions as follow-ups and pulled some off their paragraph.
_ANAPHOR_WINDOW = 5
_EXISTENTIAL = frozenset({"is", "was", "are", "were", "will"})  # "is there ...?" asks whether something exists


def _leading_anaphor(words: list[str]) -> bool:
    for i, word in enumerate(words[:_ANAPHOR_WINDOW]):
        if word in _ANAPHORA and not (word == "there" and i > 0 and words[i - 1] in _EXISTENTIAL):
            return True
    return False


@dataclass
class Retriever:
    """Answers questions over one corpus with one embedder and its index."""

    corpus: Corpus
    embedder: Embedder
    index: LoadedIndex
    config: RetrievalConfig = field(default_factory=RetrievalConfig)
    lexical: dict[str, LexicalIndex] = field(default_factory=dict)
    speller: Speller | None = None

    def __post_init__(self) -> None:
        if not self.lexical:
            self.lexical = build_lexical(self.corpus)
        if self.speller is None:
            self.speller = Speller.from_texts(text for p in self.corpus.passages for text in p.views().values())
        # unit id -> position, and per passage: language -> [paragraph unit, sentence units...]
        self._units_of: list[dict[str, list[int]]] = [{} for _ in self.corpus.passages]
        for uid, unit in enumerate(self.index.units):
            self._units_of[unit.passage].setdefault(unit.language, []).append(uid)
        self._cache: OrderedDict[tuple[str, str | None, int], Answer] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._flags: dict[str, np.ndarray] = {}  # see _passage_flags
        # Stemmed words of each sentence, filled on first use: highlighting must not re-stem per question.
        self._sentence_terms: dict[tuple[int, str], tuple[frozenset[str], ...]] = {}

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

    def ask(self, question: str, *, k: int = 3, context: str | None = None, cache: bool = True) -> Answer:
        """Rank passages for ``question``; ``context`` is the previous question of the conversation.

        ``cache=False`` bypasses the answer cache (evaluation and benchmarks time real work).
        """
        question = " ".join(question.split())
        if not question:
            raise RetrievalError("the question is empty")
        truncated = len(question) > MAX_QUESTION_CHARS
        query = question[:MAX_QUESTION_CHARS]
        context = " ".join((context or "").split())[:MAX_QUESTION_CHARS] or None
        key = (query, context, k)
        if not cache:
            return replace(self._answer(query, k=k, context=context, truncated=truncated), question=question)
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
        spell = self.speller.correct if cfg.spelling and self.speller is not None else None
        if spell is not None:
            query = spell(query)
        language: Language = detect_language(query)
        use_context = bool(cfg.follow_ups and context and is_elliptical(query))
        if use_context:
            if spell is not None:  # only a context that will be read is worth correcting
                context = spell(context or "")
            q_vec, c_vec = self.embedder.embed_queries([query, context])  # type: ignore[list-item]
            vector = q_vec + cfg.context_weight * c_vec
            vector /= np.linalg.norm(vector) or 1.0
            query_terms = terms(query) + terms(context or "")
        else:
            vector = self.embedder.embed_queries([query])[0]
            query_terms = terms(query)

        unit_scores = self._unit_scores(vector)
        passages = self.corpus.passages
        candidates = sorted({self.index.units[j].passage for j in unit_scores})
        dense = np.array([self._dense_score(i, language, unit_scores) for i in candidates], dtype=np.float32)
        fused = _zscore(dense)
        lexical = np.zeros(len(candidates), dtype=np.float32)
        lex_language = language if language in self.lexical else passages[0].language
        if cfg.lexical and query_terms:
            lexical = self.lexical[lex_language].scores(query_terms)[candidates]
            if lexical.max() > 0:
                fused = fused + cfg.lexical_weight * _zscore(lexical)

        kind = expected_type(query) if cfg.answer_type_weight else None
        if kind is not None:
            fused = fused + cfg.answer_type_weight * self._supplies(kind)[candidates]
        if use_context and cfg.continuations and _ASKS_WHAT_CAME_NEXT.search(normalise(query)):
            following = self._continuation(c_vec, context or "")
            if following in candidates:
                fused[candidates.index(following)] = fused.max() + 1.0

        ranked = np.argsort(-fused, kind="stable")
        order = ranked[: max(1, k)]
        best = float(dense.max())
        relevance = (
            best
            + cfg.margin_weight * (best - float(np.median(dense)))
            + (cfg.lexical_bonus * min(float(lexical.max()), 3.0) if cfg.lexical else 0.0)
        )
        threshold = cfg.min_relevance_ar if language == "ar" else cfg.min_relevance
        answered = relevance >= threshold
        attribute = asked_attribute(query) if cfg.attribute_check else None
        if attribute is not None and not any(self._states(attribute)[candidates[i]] for i in ranked[:3]):
            answered = False  # about the right person or place, but the article never gives that fact
        confidence = "low"
        if answered:
            confidence = "high" if relevance >= threshold + cfg.high_confidence else "medium"

        hits = tuple(
            Hit(
                passage=passages[candidates[i]],
                score=float(fused[i]),
                dense=float(dense[i]),
                lexical=float(lexical[i]),
                highlights=self._highlights(candidates[i], unit_scores, query_terms),
            )
            for i in order
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

    def _continuation(self, context_vector: np.ndarray, context: str) -> int | None:
        """The paragraph that carries on the previous answer ("He added: ..."), if the article has one.

        News reports continue a quote in a paragraph that opens by pointing back; only such a
        paragraph is taken as "what came next", so a question is never pushed onto an unrelated one.
        """
        scores = self._unit_scores(context_vector)
        language = detect_language(context)
        shown = max({self.index.units[j].passage for j in scores}, key=lambda i: self._dense_score(i, language, scores))
        following = shown + 1
        passages = self.corpus.passages
        carries_on = (
            following < len(passages)
            and passages[following].doc == passages[shown].doc
            and continues_previous(passages[following])
        )
        return following if carries_on else None

    def _supplies(self, kind: AnswerType) -> np.ndarray:
        """1.0 for passages that contain an answer of ``kind`` (a place, a time...)."""
        return self._passage_flags(f"type:{kind}", partial(supplies, kind))

    def _states(self, attribute: Attribute) -> np.ndarray:
        """1.0 for passages that state a fact of this kind (an age, a population...)."""
        return self._passage_flags(f"fact:{attribute}", partial(states, attribute))

    def _passage_flags(self, key: str, test: Callable[[dict[str, str]], bool]) -> np.ndarray:
        """1.0 for every passage whose language views pass ``test``; computed once per key."""
        flags = self._flags.get(key)
        if flags is None:
            flags = self._flags[key] = np.array([test(p.views()) for p in self.corpus.passages], dtype=np.float32)
        return flags

    def _unit_scores(self, vector: np.ndarray) -> dict[int, float]:
        """Cosine of the question with every unit (small corpora) or the top candidates (large)."""
        total = len(self.index.vectors)
        k = total if total <= 4 * self.config.candidates else self.config.candidates
        scores, ids = self.index.vectors.search(vector[None, :], k)
        return {int(i): float(s) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0}

    def _view_score(self, ids: list[int], unit_scores: dict[int, float]) -> float | None:
        """Cosine of one language view: paragraph blended with its best sentence."""
        scored = [unit_scores[j] for j in ids if j in unit_scores]
        if not scored:
            return None
        paragraph = unit_scores.get(ids[0], min(scored))
        if not self.config.sentence_scoring or len(ids) == 1:
            return paragraph
        best_sentence = max((unit_scores[j] for j in ids[1:] if j in unit_scores), default=paragraph)
        w = self.config.sentence_weight
        return (1 - w) * paragraph + w * max(paragraph, best_sentence)

    def _dense_score(self, passage: int, language: str, unit_scores: dict[int, float]) -> float:
        """Dense score of a passage: its view in the question's language, mixed with the other view.

        Matching an English question against the English translation is much
        stronger than e5's cross-lingual match; keeping some of the other view
        still helps when a translation words things differently.
        """
        units = self._units_of[passage]
        original = self.corpus.passages[passage].language
        if not self.config.translation_views:
            return self._view_score(units[original], unit_scores) or -1.0
        own = language if language in units else original
        scores = {lang: self._view_score(ids, unit_scores) for lang, ids in units.items()}
        own_score = scores.pop(own)
        others = [v for v in scores.values() if v is not None]
        if own_score is None:
            return max(others, default=-1.0)
        if not others or self.config.cross_view_weight <= 0:
            return own_score
        w = self.config.cross_view_weight
        return (1 - w) * own_score + w * max(others)

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

            words = self._sentence_terms.get((passage, language))
            if words is None:
                words = self._sentence_terms[(passage, language)] = tuple(frozenset(terms(x)) for x in sentences)

            def score(n: int, ids: list[int] = ids, words: tuple[frozenset[str], ...] = words) -> float:
                overlap = len(wanted & words[n]) / (len(wanted) or 1)
                return unit_scores.get(ids[n + 1], 0.0) + 0.1 * overlap

            out[language] = sentences[max(range(len(sentences)), key=score)]
        return out


def _zscore(values: np.ndarray) -> np.ndarray:
    """Standardise scores so evidence on different scales (cosine, BM25) can be added."""
    spread = float(values.std())
    return (values - values.mean()) / spread if spread > 1e-9 else np.zeros_like(values)


__all__ = ["Answer", "Hit", "RetrievalConfig", "RetrievalError", "Retriever", "Unit", "is_elliptical"]
