"""What a message is, before it is treated as a question: small talk, a question about the bot or
the article, a request for a summary, or a real question.

Three tests, all on data in ``bot/data/intents.json``:

1. the whole message is a known phrase ("thanks!", "مع السلامة", "salam");
2. a pattern that decides on its own ("summarize ...", "who are you", "متى نشر المقال");
3. the message's vector (the one retrieval uses anyway) is much closer to an intent's example
   phrases than to anything the article or its editors' questions say.

The third test is deliberately strict: a real question mistaken for small talk loses its answer,
while small talk mistaken for a question is refused politely, which users forgive.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np

from embeddings.answer_types import asked_attribute
from embeddings.datafile import read_json_object
from embeddings.embedders import Embedder
from embeddings.normalize import normalise

log = logging.getLogger(__name__)

Intent = Literal["question", "greeting", "thanks", "goodbye", "help", "summary"]
INTENTS_FILE = Path(__file__).parent / "data" / "intents.json"

# A message is small talk by its vector only when its best example is at least as close as its
# intent's ``min_similarity`` in the data file (0.90 for social phrases, stricter for help and
# summary), and closer by this much than the closest passage, sentence or editor question of the
# article. Measured on the project's question sets (593 questions and contexts): no real question
# reached 0.93 against any example (the closest 0.916), three follow-ups ("when was that?", "وأين جرى
# ذلك اللقاء؟") reached 0.90-0.92 against a help example — hence 0.93 for help and summary — and
# real questions led the article by at most 0.07.
MIN_LEAD = 0.03
# Long messages are questions: small talk is short. A few words of greeting before a question
# ("hi, where did they meet?") must not hide the question.
MAX_WORDS = 8


class IntentDataError(Exception):
    """The intents data file is missing or malformed; the message names the file."""


@dataclass(frozen=True, slots=True)
class IntentSpec:
    """One intent's data: whole phrases, deciding patterns, and examples for the embedder."""

    name: Intent
    exact: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]
    examples: tuple[str, ...]
    min_similarity: float
    # Greeting, thanks, goodbye: never decided by the vector when the message asks something.
    social: bool = False
    # Whole phrases listed under "ar" in the data: "bslama" typed in Latin letters is Arabic, answered in Arabic.
    exact_arabic: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Guess:
    """The intent of one message and what decided it ("exact", "pattern", "vector" or "none")."""

    intent: Intent
    by: str
    score: float = 0.0
    language: str | None = None  # the language of the phrase it matched, when that says more than the script


def _fold(text: str) -> str:
    """Normalised words only: punctuation, emoji and repeated letters ("thanksss") do not matter."""
    return re.sub(r"(.)\1{2,}", r"\1", normalise(text))


def _strip_vocatives(folded: str, vocatives: tuple[str, ...]) -> str:
    """ "thanks bot" -> "thanks", "ahlan ya bot" -> "ahlan": forms of address around a phrase."""
    changed = True
    while changed:
        changed = False
        for vocative in vocatives:
            if folded.endswith(" " + vocative):
                folded, changed = folded[: -len(vocative) - 1], True
            elif folded.startswith(vocative + " "):
                folded, changed = folded[len(vocative) + 1 :], True
    return folded


def _bare_emoji(text: str) -> str:
    """An emoji without its variation selector or skin tone ("👍🏽" and "👍" are one)."""
    return "".join(c for c in text if c != "\ufe0f" and not 0x1F3FB <= ord(c) <= 0x1F3FF)


def _question_words(words: list[str]) -> re.Pattern[str] | None:
    """Whole question or request words, also glued to "و"/"ف" ("وكيف", "فوين")."""
    folded = sorted({_fold(w) for w in words if _fold(w)}, key=len, reverse=True)
    if not folded:
        return None
    return re.compile(r"(?:^|\s)(?:و|ف)?(?:" + "|".join(map(re.escape, folded)) + r")(?=\s|$)")


@cache
def load_data(path: Path = INTENTS_FILE) -> tuple[tuple[IntentSpec, ...], tuple[str, ...]]:
    """The intents in file order (which breaks ties) and the vocatives; read and validated once."""
    specs, vocatives, _, _ = load_all(path)
    return specs, vocatives


@cache
def load_all(
    path: Path = INTENTS_FILE,
) -> tuple[tuple[IntentSpec, ...], tuple[str, ...], re.Pattern[str] | None, dict[str, Intent]]:
    """:func:`load_data` plus the question-word pattern of ``question_words`` and the ``emoji`` map."""
    data = read_json_object(path, IntentDataError)
    try:
        vocatives = tuple(sorted({_fold(v) for v in data.get("vocatives", [])}, key=len, reverse=True))
        asking = _question_words([w for words in data.get("question_words", {}).values() for w in words])
        emoji = {_bare_emoji(e): intent for intent, marks in data.get("emoji", {}).items() for e in marks}
        specs = []
        for name, spec in data["intents"].items():
            specs.append(
                IntentSpec(
                    name=name,
                    exact=frozenset(_fold(p) for phrases in spec["exact"].values() for p in phrases),
                    # A phrase listed in both languages ("bye", "merci") keeps the reply in the script's language.
                    exact_arabic=frozenset(_fold(p) for p in spec["exact"].get("ar", ()))
                    - {_fold(p) for p in spec["exact"].get("en", ())},
                    patterns=tuple(re.compile(p) for ps in spec["patterns"].values() for p in ps),
                    examples=tuple(e for examples in spec["examples"].values() for e in examples),
                    min_similarity=float(spec["min_similarity"]),
                    social=bool(spec.get("social", False)),
                )
            )
    except (OSError, ValueError, KeyError, TypeError, AttributeError, re.error) as exc:
        raise IntentDataError(f"{path} is not a valid intents file: {exc!r}") from exc
    if not specs:
        raise IntentDataError(f"{path} defines no intents")
    unknown = sorted(set(emoji.values()) - {spec.name for spec in specs})
    if unknown:
        raise IntentDataError(f"{path}: emoji listed under unknown intent(s) {unknown}")
    return tuple(specs), vocatives, asking, emoji


class IntentClassifier:
    """Tells small talk and questions about the bot or article from questions about its content."""

    def __init__(
        self,
        specs: tuple[IntentSpec, ...],
        example_vectors: np.ndarray,
        vocatives: tuple[str, ...] = (),
        asking: re.Pattern[str] | None = None,
        emoji: dict[str, Intent] | None = None,
    ):
        self.specs = specs
        self.vocatives = vocatives
        self.emoji = emoji or {}  # emoji -> intent, for messages of emoji only
        self.asking = asking  # question and request words (see _question_words)
        self.vectors = example_vectors
        self.owner = np.array([n for n, spec in enumerate(specs) for _ in spec.examples], dtype=np.int64)

    @staticmethod
    def cache_name(embedder: Embedder, path: Path = INTENTS_FILE) -> str:
        """The file name of the example vectors for this data and model (``intents-<key>.npy``)."""
        specs, _ = load_data(path)
        examples = [e for spec in specs for e in spec.examples]
        key = hashlib.sha256(
            json.dumps([embedder.backend, embedder.model_id, examples], ensure_ascii=False).encode()
        ).hexdigest()[:16]
        return f"intents-{key}.npy"

    @classmethod
    def load(
        cls,
        embedder: Embedder,
        *,
        cache_dir: Path | None = None,
        path: Path = INTENTS_FILE,
        write_cache: bool = True,
    ) -> IntentClassifier:
        """Embed the example phrases (or read them from ``cache_dir``, keyed by data and model).

        ``write_cache=False`` never writes into ``cache_dir`` (a shipped index is read-only): when
        it lacks the vectors, the examples are embedded in memory, with a warning.
        """
        specs, vocatives, asking, emoji = load_all(path)
        examples = [e for spec in specs for e in spec.examples]
        cached = cache_dir / cls.cache_name(embedder, path) if cache_dir is not None else None
        if cached is not None and cached.exists():
            try:
                vectors = np.load(cached, allow_pickle=False)
                if vectors.shape == (len(examples), embedder.dim):
                    return cls(specs, vectors, vocatives, asking, emoji)
            except (OSError, ValueError):
                pass  # rebuilt just below
        if cached is not None and not write_cache:
            log.warning(
                "%s has no intent vectors for this intents data (%s); embedding %d example phrases in memory",
                cache_dir,
                cached.name,
                len(examples),
            )
        vectors = embedder.embed_queries(examples).astype(np.float32)
        if cached is not None and write_cache:
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_suffix(".tmp.npy")
                np.save(tmp, vectors)
                tmp.replace(cached)
            except OSError:
                pass  # a read-only index folder only costs the embedding at the next start
        return cls(specs, vectors, vocatives, asking, emoji)

    def rule(self, *texts: str) -> Guess | None:
        """The intent a whole phrase or a deciding pattern gives any of ``texts``, if any."""
        if texts and not _fold(texts[0]):
            return self._wordless(texts[0])
        for text in texts:
            folded = _fold(text)
            if not folded:
                continue
            bare = _strip_vocatives(folded, self.vocatives)
            # The whole phrase first: "يلا سلام" is goodbye, though "سلام" alone is a greeting.
            for phrase in (folded, bare):
                for spec in self.specs:
                    if phrase in spec.exact:
                        return Guess(spec.name, "exact", 1.0, "ar" if phrase in spec.exact_arabic else None)
            for spec in self.specs:
                if any(p.search(folded) for p in spec.patterns):
                    return Guess(spec.name, "pattern", 1.0)
        return self._by_sentence(texts[0]) if texts else None

    def _by_sentence(self, text: str) -> Guess | None:
        """ "من وين هالخبر؟ شو المصدر": a message of several sentences (or clauses), each with the same
        intent; a greeting opening it is only an opener ("اهلا، انت مين؟" asks for help, "salam, yalla
        bye" says goodbye)."""
        parts = [p for p in re.split(r"[?!.؟,،\n]+", text) if _fold(p)]
        if len(parts) < 2:
            return None
        guesses = [guess for part in parts if (guess := self.rule(part)) is not None]
        if len(guesses) < len(parts):
            return None
        if guesses[0].intent == "greeting":
            guesses = guesses[1:]
        return guesses[0] if len({g.intent for g in guesses}) == 1 else None

    def _wordless(self, text: str) -> Guess | None:
        """A message with no words: emoji ("👍" thanks, "👋" hello) or a lone "?" (help)."""
        marks = [_bare_emoji(c) for c in text if unicodedata.category(c) == "So"]
        for mark in marks:
            if mark in self.emoji:
                return Guess(self.emoji[mark], "emoji", 1.0)
        if marks:
            return Guess("greeting", "emoji", 1.0)
        if any(c in "?؟" for c in text):
            return Guess("help", "emoji", 1.0)
        return None

    def asks(self, *texts: str) -> bool:
        """Whether any of ``texts`` holds a question or request word ("where", "وين", "اعطيني")."""
        return self.asking is not None and any(self.asking.search(_fold(text)) for text in texts)

    def classify(self, *texts: str, vector: np.ndarray, article_similarity: Callable[[], float]) -> Guess:
        """The intent of a message typed as ``texts[0]`` (rewrites after it), given its vector and
        a way to get its best cosine with the article's units (an index search, only run when a
        close example phrase makes it matter)."""
        guess = self.rule(*texts)
        if guess is not None:
            return guess
        if len(texts[0].split()) > MAX_WORDS or not len(self.vectors):
            return Guess("question", "none")
        similarities = self.vectors @ vector
        best = int(np.argmax(similarities))
        score = float(similarities[best])
        spec = self.specs[int(self.owner[best])]
        if spec.social and self.asks(*texts):
            return Guess("question", "none", score)
        if any(asked_attribute(text) for text in texts):
            # Asks for a fact ("شو اسمها؟" after a paragraph about the base): short questions meet
            # the summary and help examples at cosines of 0.93-0.94, but a fact is never small talk.
            return Guess("question", "none", score)
        if score >= spec.min_similarity and score - article_similarity() >= MIN_LEAD:
            return Guess(spec.name, "vector", score)
        return Guess("question", "none", score)
