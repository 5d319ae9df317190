"""Whether the article gives the count a question asks for ("How many carriages does the train have?").

"How many" questions about the article's world are the commonest fact it never gives: the
carriages of a train, the ships of a naval display, the shells in a stockpile. Whether a passage
gives the count depends on what is counted, so the ``count`` kind of ``data/fact_types.json`` has
this check instead of patterns, read on a passage's English text (the original or the aligned
translation), whose numbers are unambiguous:

* an English question names what it counts ("how many *ballistic missiles*"): a passage gives the
  count when a sentence that mentions it holds a number ("two ballistic missiles", "failed twice to
  put a spy satellite into orbit"), or when it lists three of them ("Defence Minister…, Foreign
  Minister… and Industry Minister…");
* otherwise (an Arabic question, or a thing the top passages word differently) the top passage
  must give a count of some kind: a number, or a list of three of something.

A year is not a count ("in 2019"), nor is a number glued to a name ("Covid-19").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from .names import SENTENCE, singular
from .normalize import normalise

_HOW_MANY = re.compile(r"\b(?:how many|the number of|number of) (?P<thing>.+)$")
# What is counted ends where the rest of the question starts: a verb or a preposition.
_STOP = re.compile(
    r"\b(?:do|does|did|is|are|was|were|has|have|had|will|would|can|could|should|in|at|on|of|for|to|from|"
    r"with|by|during|after|before|that|which|who|there|took|take|came|come|went|go|attended|joined|"
    r"he|she|it|they|we|you|i)\b.*$"
)
_DIGITS = re.compile(r"(?<![\w-])\d+(?:[.,]\d+)?(?![\w-])")
_YEAR = re.compile(r"^(1[89]|20)\d\d$")
_WORD = re.compile(r"[A-Za-z]+")
_TIMES = frozenset({"once", "twice", "thrice"})
_POINTING = frozenset({"the", "these", "those", "both", "its", "their", "his", "her", "our"})
# A word listed this many times in one passage is an enumeration: the count can be read off it.
LISTED = 3


def counted(question: str) -> tuple[str, ...]:
    """The words of what an English question counts ("ballistic", "missile"), if it says."""
    match = _HOW_MANY.search(normalise(question))
    if match is None:
        return ()
    return tuple(singular(w) for w in _STOP.sub("", match.group("thing")).split())


def _has_number(text: str, number_words: frozenset[str]) -> bool:
    if any(not _YEAR.match(m.group()) for m in _DIGITS.finditer(text)):
        return True
    words = [w.lower() for w in _WORD.findall(text)]
    # "the two leaders", "these two countries" point back at things already counted; they report no count.
    return any(w in number_words and (i == 0 or words[i - 1] not in _POINTING) for i, w in enumerate(words))


# A number counts the thing when it stands this close to it: "two ballistic missiles", "a year and
# a half", "failed twice to put a spy satellite"; in "nearly two hours of formal talks with their
# delegations" it counts the hours, not the delegations.
NEAR = 3
# Words and numbers; "Covid-19" stays one token, so its 19 is not a count.
_TOKEN = re.compile(r"[A-Za-z][\w'-]*|\d+(?:[.,]\d+)?")


def _counts_near(sentence: str, wanted: set[str], number_words: frozenset[str], events: frozenset[str]) -> bool:
    """Whether a number in ``sentence`` stands within :data:`NEAR` words of the counted thing.

    "once", "twice" count events ("how many times", "how many launches"): anywhere in the sentence
    for those, never for things ("failed twice to put a spy satellite" says nothing of how many
    satellites there are).
    """
    tokens = [t.lower() for t in _TOKEN.findall(sentence)]
    if wanted & events and _TIMES & set(tokens):
        return True
    numbers = [
        i
        for i, t in enumerate(tokens)
        if (t[0].isdigit() and not _YEAR.match(t))
        or (t in number_words and t not in _TIMES and (i == 0 or tokens[i - 1] not in _POINTING))
    ]
    things = [i for i, t in enumerate(tokens) if singular(t) in wanted or t in wanted]
    return any(abs(i - j) <= NEAR for i in numbers for j in things)


def _lists_something(english: str, skip: frozenset[str]) -> bool:
    words = Counter(singular(w.lower()) for w in _WORD.findall(english) if len(w) > 3)
    return any(n >= LISTED and w not in skip for w, n in words.items())


def gives_count(
    thing: Iterable[str],
    english: str,
    number_words: frozenset[str],
    skip: frozenset[str],
    events: frozenset[str] = frozenset({"time"}),
) -> bool | None:
    """Whether ``english`` gives the count of ``thing``; None when it never names the thing.

    ``skip``: words too common, or too often repeated without being listed, to make a list.
    ``events``: things counted by "once", "twice" (times, launches, attempts).
    """
    wanted = set(thing) - skip
    if "time" in wanted:  # "how many times": "failed twice" says it
        wanted |= _TIMES
    mentioning = [s for s in SENTENCE.split(english) if wanted & {singular(w.lower()) for w in _WORD.findall(s)}]
    if not mentioning:
        return None
    if any(_counts_near(s, wanted, number_words, events) for s in mentioning):
        return True
    listed = Counter(singular(w.lower()) for w in _WORD.findall(english))
    return any(listed[w] >= LISTED for w in wanted)


def gives_a_count(english: str, number_words: frozenset[str], skip: frozenset[str]) -> bool:
    """Whether ``english`` gives any count: a number, or a list of three of something."""
    return _has_number(english, number_words) or _lists_something(english, skip)
