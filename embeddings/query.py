"""What a typed question becomes before retrieval: the text to embed, the text to match words on.

People type Arabic in Latin letters ("meen 7ader el egtema3?"), in dialect ("شو قال بوتين؟") and
spell names their own way ("Shoygu"). Each rewrite here is data-driven (``embeddings/data/``):

1. Arabizi is transliterated to Arabic script, so the question meets the Arabic paragraphs and
   is answered in Arabic; English chat shorthand and typos of small words ("wher", "abt") are
   read as the words meant (:mod:`.shorthand`);
2. words the article spells differently are rewritten to its spelling (:mod:`.spelling`);
3. dialect question and function words are mapped to MSA, for word matching only: the embedder
   reads dialect well enough, while BM25 and the answer-type cues need the MSA word;
4. the text to embed is tidied the way the article is written: runs of "???" or "!!!" become one
   mark, emoji go, and an English question opens with a capital and writes the article's names
   with theirs ("where did kim and putin meet???" -> "Where did Kim and Putin meet?"). The cased
   e5 tokeniser reads "kim" and "Kim" as different pieces, and a phone-typed question lost its
   answer to that alone.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from .arabizi import is_arabizi, load_arabizi, to_arabic
from .dialect import load_dialect, to_msa
from .language import Language, detect_language
from .normalize import normalise
from .shorthand import expand
from .spelling import Speller


@dataclass(frozen=True, slots=True)
class Query:
    """One question, read."""

    typed: str  # as the user typed it (whitespace folded, truncated)
    text: str  # what is embedded: Arabizi in Arabic script, names in the article's spelling
    words: str  # what is matched word for word: ``text`` with dialect words in MSA
    language: Language
    arabizi: bool = False


_REPEATED_MARKS = re.compile(r"([?!؟])[?!؟.]+|([,،])[,،]+")


@cache
def _spoken_words() -> frozenset[str]:
    """Words Arabizi and dialect data spell on purpose ("كده", "بدي"): never rewritten by consonants."""
    arabizi, dialect = load_arabizi(), load_dialect()
    spelled = [*arabizi.words.values(), *arabizi.names.values(), *arabizi.prefixes.values()]
    return frozenset({normalise(w) for w in spelled} | set(dialect.words))


def tidy(text: str) -> str:
    """One question mark for "???", no emoji or pictographs, whitespace folded."""
    text = "".join(c for c in text if unicodedata.category(c) not in ("So", "Sk", "Cs", "Co") and c != "\ufe0f")
    text = _REPEATED_MARKS.sub(lambda m: m.group(1) or m.group(2), text)
    return " ".join(text.split())


def read_query(
    typed: str, *, speller: Speller | None = None, arabizi: bool = True, dialect: bool = True, tidied: bool = True
) -> Query:
    """Apply the rewrites that are switched on; each is a no-op on text it does not concern."""
    was_arabizi = arabizi and is_arabizi(typed)
    text = tidy(typed) if tidied else typed
    text = to_arabic(text) if was_arabizi else text
    if was_arabizi and speller is not None:
        text = speller.snap(text, keep=_spoken_words())
    if not was_arabizi and detect_language(text) == "en":
        text = expand(text)
    if speller is not None:
        text = speller.correct(text)
    language = detect_language(text)
    if tidied and language == "en" and speller is not None:
        text = speller.truecase(text)
    words = to_msa(text) if dialect and language == "ar" else text
    return Query(typed=typed, text=text, words=words, language=language, arabizi=was_arabizi)
