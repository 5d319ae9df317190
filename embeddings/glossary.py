"""The English words of the things an Arabic question asks about, for the checks that read English.

Whether the article gives a name or a count depends on *what* is asked about, and names.py and
counts.py decide it on a passage's English text (original or aligned translation). An English
question names the thing in that text's words; an Arabic one ("شنو اسم مصنع الطيران؟", "كم
يوم رح تطول الزيارة؟") is looked up here, noun by noun, in ``data/glossary.json``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from .datafile import read_json_object
from .normalize import normalise

GLOSSARY_FILE = Path(__file__).parent / "data" / "glossary.json"
# Clitics glued to an Arabic noun, longest first: "بالمصنع", "والقمر", "للوفد", "بوفد".
_PREFIXES = ("وبال", "فبال", "وال", "بال", "فال", "كال", "لل", "ال", "و", "ب", "ل", "ف")
# A stem shorter than this after stripping is a different word ("بلد" is not ب + "لد").
_MIN_STEM = 3


class GlossaryError(ValueError):
    """The glossary data file is missing or malformed; the message names the file."""


def load_glossary(path: Path = GLOSSARY_FILE) -> dict[str, tuple[str, ...]]:
    """Normalised Arabic noun -> its English words (lower case, singular)."""
    data = read_json_object(path, GlossaryError)
    nouns = data.get("nouns")
    if not isinstance(nouns, dict) or not nouns:
        raise GlossaryError(f'{path}: expected a non-empty "nouns" object')
    glossary: dict[str, tuple[str, ...]] = {}
    for arabic, english in nouns.items():
        if not normalise(arabic) or normalise(arabic) != arabic:
            raise GlossaryError(f"{path}: {arabic!r} is not written normalised (as {normalise(arabic)!r})")
        if not isinstance(english, list) or not english or not all(isinstance(w, str) and w.isalpha() for w in english):
            raise GlossaryError(f"{path}: {arabic!r} needs a list of English words")
        glossary[arabic] = tuple(w.lower() for w in english)
    return glossary


@cache
def glossary() -> dict[str, tuple[str, ...]]:
    """The shipped glossary, read once."""
    return load_glossary(GLOSSARY_FILE)


def _lookup(word: str, table: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    if word in table:
        return table[word]
    for prefix in _PREFIXES:
        stem = word[len(prefix) :]
        if word.startswith(prefix) and len(stem) >= _MIN_STEM and stem in table:
            return table[stem]
    return ()


def english_things(question: str) -> tuple[str, ...]:
    """The English words of every noun of an Arabic question the glossary knows, in question order."""
    table = glossary()
    found: list[str] = []
    for word in normalise(question).split():
        found += [w for w in _lookup(word, table) if w not in found]
    return tuple(found)


__all__ = ["GlossaryError", "english_things", "glossary", "load_glossary"]
