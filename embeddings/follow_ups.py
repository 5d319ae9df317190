"""When a question leans on the previous turn, and when it points at the answer just shown.

A follow-up ("and why?", "وين صار هالشي؟", "who said that?") cannot be answered alone: the
retriever mixes in the previous question (:func:`is_elliptical`), and when the follow-up asks
about the answer rather than its topic it goes to the paragraph shown or the one it continues
(:func:`points_at_answer`, :func:`quotes_answer`) or to the one after it
(:func:`asks_what_came_next`). Standalone questions must not be read as follow-ups, or they
are dragged towards the previous answer.

The words and patterns are language data, in ``data/follow_ups.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NoReturn

from .datafile import compile_patterns, read_json_object
from .lexical import terms
from .normalize import normalise

FOLLOW_UPS_FILE = Path(__file__).parent / "data" / "follow_ups.json"
_WORD_LISTS = ("and_words", "fillers", "anaphora", "existential", "arabic_question_words", "glued_prepositions")
_PATTERNS = ("pointing_back", "asks_next", "points_at_answer", "quotes_answer")

# A pronoun points back to the previous turn only when the question has not yet named anyone
# it could stand for: "What did he say next?", "How long did they last?" (within the first
# five words), not "Did Kim and Putin speak privately, without their teams?" or "Who stood
# around Putin when he raised a toast?". Measured on both question sets: the old rule (any
# pronoun anywhere) read 21 standalone questions as follow-ups and pulled some off their paragraph.
ANAPHOR_WINDOW = 5
# "ال" and at least three letters: "واليابان", "والصين", not "والد".
_MIN_DEFINITE = 5


class FollowUpsError(ValueError):
    """The follow-ups data file is missing or malformed; the message names the file."""


@dataclass(frozen=True, slots=True)
class FollowUpCues:
    """The contents of ``follow_ups.json``, normalised and compiled."""

    and_words: frozenset[str]
    glued_and: frozenset[str]  # the one-letter "and" words Arabic glues to the next word: و, ف
    fillers: tuple[str, ...]  # longest first: "طيب و" before "طيب"
    anaphora: frozenset[str]
    existential: frozenset[str]
    arabic_question_words: frozenset[str]
    glued_prepositions: frozenset[str]
    pointing_back: re.Pattern[str]
    asks_next: re.Pattern[str]
    points_at_answer: re.Pattern[str]
    quotes_answer: re.Pattern[str]


def load_follow_ups(path: Path = FOLLOW_UPS_FILE) -> FollowUpCues:
    """Read and validate a follow-ups file; any problem raises :class:`FollowUpsError` naming it."""

    def fail(message: str) -> NoReturn:
        raise FollowUpsError(f"{path}: {message}")

    data = read_json_object(path, FollowUpsError)
    lists: dict[str, list[str]] = {}
    for name in _WORD_LISTS:
        words = data.get(name)
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and normalise(w) for w in words):
            fail(f"{name}: expected a non-empty list of words")
        lists[name] = [normalise(w) for w in words]
    patterns = {name: compile_patterns(data.get(name), name, fail, required=("en", "ar")) for name in _PATTERNS}
    return FollowUpCues(
        and_words=frozenset(lists["and_words"]),
        glued_and=frozenset(w for w in lists["and_words"] if len(w) == 1 and not w.isascii()),
        fillers=tuple(sorted(set(lists["fillers"]), key=len, reverse=True)),
        anaphora=frozenset(lists["anaphora"]),
        existential=frozenset(lists["existential"]),
        arabic_question_words=frozenset(lists["arabic_question_words"]),
        glued_prepositions=frozenset(lists["glued_prepositions"]),
        **patterns,
    )


@cache
def cues() -> FollowUpCues:
    """The shipped cues, read once."""
    return load_follow_ups(FOLLOW_UPS_FILE)


def without_fillers(text: str) -> str:
    """Normalised ``text`` without its leading discourse words ("طب وبعدين؟" -> "وبعدين")."""
    text = normalise(text)
    fillers = cues().fillers
    while True:
        filler = next((f for f in fillers if text.startswith(f + " ")), None)
        if filler is None:
            return text
        text = text[len(filler) + 1 :]


def is_elliptical(question: str) -> bool:
    """Whether a question leans on the previous one: opens with "and", points back, or has no topic."""
    c = cues()
    text = without_fillers(question)
    words = text.split()
    if not words:
        return False
    first = words[0]
    if first in c.and_words or first in c.anaphora:
        return True
    # Arabic glues "and" to the next word, and a preposition may sit between them:
    # "ومن", "وماذا", "وإمتى", "وبماذا" (and with what), "ولماذا", "وبعدها" (and after that).
    if first[:1] in c.glued_and:
        rest = first[1:]
        if rest in c.arabic_question_words or rest in c.anaphora:
            return True
        if rest[:1] in c.glued_prepositions and rest[1:] in c.arabic_question_words:
            return True
        # "And" glued to a definite noun: "واليابان شو قالت؟" (and Japan, what did it say?). Words
        # that merely start with these letters are short ("والد", "والي").
        if rest.startswith("ال") and len(rest) >= _MIN_DEFINITE:
            return True
    if c.pointing_back.search(text):
        return True
    return len(terms(text)) <= 1 or _leading_anaphor(words)


def _leading_anaphor(words: list[str]) -> bool:
    c = cues()
    for i, word in enumerate(words[:ANAPHOR_WINDOW]):
        if word in c.anaphora and not (word == "there" and i > 0 and words[i - 1] in c.existential):
            return True
    return False


def asks_what_came_next(question: str) -> bool:
    """ "What did he say next?", "وماذا أضاف؟": the answer follows the one shown."""
    return cues().asks_next.search(without_fillers(question)) is not None


def points_at_answer(question: str) -> bool:
    """ "Who said that?", "ومين قال كده؟": the answer is the paragraph shown, or the one it continues."""
    return cues().points_at_answer.search(without_fillers(question)) is not None


def quotes_answer(question: str) -> bool:
    """ "What exactly did he say?", "بالحرف شو قال؟": the very words of the paragraph shown."""
    return cues().quotes_answer.search(without_fillers(question)) is not None


__all__ = [
    "FollowUpCues",
    "FollowUpsError",
    "asks_what_came_next",
    "cues",
    "is_elliptical",
    "load_follow_ups",
    "points_at_answer",
    "quotes_answer",
    "without_fillers",
]
