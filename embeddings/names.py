"""Whether the article gives the name a question asks for ("What's the name of the Chinese spokeswoman?").

Readers ask for the name of someone or something the article describes without naming: the
spokeswoman, the spy satellite, the train. Such a question is about the right paragraph and
clears every similarity threshold; only the missing name tells it apart. News English marks a
name by capitals, so the check reads a passage's English text (the original or the aligned
translation), with the words that are capitalised without being names (weekdays, months,
nationalities, titles) listed in ``data/fact_types.json`` under the ``name`` kind:

* an English question names the thing ("the name of North Korea's *spy satellite*"): a passage
  gives its name when it writes the thing with a capital ("the *Vostochny* space base", "*Industry
  Minister* Denis Manturov") or right next to a name;
* an Arabic question's noun cannot be found in the English text, so there the best sentence for
  the question must hold a name at all ("a spokeswoman for Chinese diplomacy affirmed on Wednesday"
  holds none).

When a passage has no English text, or no passage mentions the thing, the check cannot judge and
does not refuse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .normalize import normalise

# Where the thing asked about starts and stops in "what is the name of the X who ...?".
_NAME_OF = re.compile(r"\bnames? of (?:the |this |that |his |her |its |their |a |an )?(?P<thing>.+)$")
_CALLED = re.compile(
    r"\b(?:what|how) (?:is|was|are|were|s) (?:the |this |that |his |her |its |their )?(?P<thing>.+?) called\b"
)
_STOP = re.compile(r"\b(?:who|whom|whose|that|which|where|when|he|she|they|it|in|at|on|from|during|after)\b.*$")
_DETERMINERS = frozenset({"the", "a", "an", "this", "that", "his", "her", "its", "their"})
# English words (with their apostrophes and hyphens) and single marks: names.py, counts.py and speakers.py
# read English text with it.
TOKEN = re.compile(r"[A-Za-z][A-Za-z'’-]*|[^\sA-Za-z]")
# Sentence boundaries in English text.
SENTENCE = re.compile(r"(?<=[.!?])\s+")
# A capital after these opens a sentence or a quote: it says nothing about a name.
_OPENERS = frozenset({".", "(", "–", '"', "“", ":", "!", "?"})


def thing_asked(question: str, *, proper: Iterable[str] = ()) -> tuple[str, ...]:
    """The words of the thing an English question asks the name of ("spy satellite"), if it asks one.

    ``proper``: the article's names (lower case). Names before the thing own it ("North Korea's spy
    satellite"); a name after it starts the rest of the question ("the factory Kim was going to visit").
    """
    text = normalise(question)
    match = _NAME_OF.search(text) or _CALLED.search(text)
    if match is None:
        return ()
    names = set(proper)
    words = [w for w in _STOP.sub("", match.group("thing")).split() if w not in _DETERMINERS]
    while words and singular(words[0]) in names | {singular(n) for n in names}:
        words.pop(0)
    for i, word in enumerate(words):
        if word in names:
            words = words[:i]
            break
    return tuple(singular(w) for w in words)


def singular(word: str) -> str:
    """ "koreas" (possessive, apostrophe dropped) and "satellites" both meet "satellite"."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def is_name(token: str, not_names: frozenset[str]) -> bool:
    """A capitalised word that is not a title, nationality, weekday... (``not_names``)."""
    return token[:1].isupper() and token.replace("'", "").replace("-", "").isalpha() and token.lower() not in not_names


def names_thing(thing: Iterable[str], english: str, not_names: frozenset[str]) -> bool | None:
    """Whether ``english`` gives a name for the thing; None when it never mentions the thing.

    A name sits right before or after the words of the thing ("Industry Minister *Denis*
    Manturov", "the *World* Institute"), or one describing word before them ("the *Vostochny*
    space base" names the base).
    """
    words = set(thing)
    tokens = TOKEN.findall(english)

    def ours(token: str) -> bool:
        return singular(token.lower().rstrip("'’")) in words

    found = False
    for i, token in enumerate(tokens):
        if not ours(token):
            continue
        found = True
        before = i - 1
        while before >= 0 and ours(tokens[before]):
            before -= 1
        after = i + 1
        while after < len(tokens) and ours(tokens[after]):
            after += 1
        if before >= 0 and is_name(tokens[before], not_names) and (before == 0 or tokens[before - 1] not in _OPENERS):
            return True
        # One describing word may stand between, inside one noun phrase: "the *Vostochny* space base"
        # names the base; "help North Korea build satellites" names no satellite (no determiner
        # opens the phrase).
        first = before - 1
        while first - 1 >= 0 and is_name(tokens[first - 1], not_names):
            first -= 1
        if (
            first >= 1
            and tokens[before].islower()
            and tokens[before] not in _DETERMINERS
            and is_name(tokens[before - 1], not_names)
            and tokens[first - 1].lower() in _DETERMINERS
        ):
            return True
        if after < len(tokens) and (is_name(tokens[after], not_names) or tokens[after] in ("named", "called")):
            return True
    return False if found else None


def holds_a_name(sentence: str, not_names: frozenset[str]) -> bool:
    """Whether an English sentence holds a name (a capitalised word that does not open it)."""
    tokens = TOKEN.findall(sentence)
    return any(is_name(token, not_names) and i > 0 and tokens[i - 1] not in _OPENERS for i, token in enumerate(tokens))
