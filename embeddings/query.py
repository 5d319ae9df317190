"""What a typed question becomes before retrieval: the text to embed, the text to match words on.

People type Arabic in Latin letters ("meen 7ader el egtema3?"), in dialect ("شو قال بوتين؟") and
spell names their own way ("Shoygu"). Each rewrite here is data-driven (``embeddings/data/``):

1. Arabizi is transliterated to Arabic script, so the question meets the Arabic paragraphs and
   is answered in Arabic; English chat shorthand and typos of small words ("wher", "abt") are
   read as the words meant (:mod:`.shorthand`);
2. words the article spells differently are rewritten to its spelling (:mod:`.spelling`);
3. dialect question and function words are mapped to MSA, for word matching only: the embedder
   reads dialect well enough, while BM25 and the answer-type cues need the MSA word.
"""

from __future__ import annotations

from dataclasses import dataclass

from .arabizi import is_arabizi, to_arabic
from .dialect import to_msa
from .language import Language, detect_language
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


def read_query(typed: str, *, speller: Speller | None = None, arabizi: bool = True, dialect: bool = True) -> Query:
    """Apply the rewrites that are switched on; each is a no-op on text it does not concern."""
    was_arabizi = arabizi and is_arabizi(typed)
    text = to_arabic(typed) if was_arabizi else typed
    if not was_arabizi and detect_language(text) == "en":
        text = expand(text)
    if speller is not None:
        text = speller.correct(text)
    language = detect_language(text)
    words = to_msa(text) if dialect and language == "ar" else text
    return Query(typed=typed, text=text, words=words, language=language, arabizi=was_arabizi)
