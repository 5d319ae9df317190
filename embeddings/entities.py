"""Named things of world news that an article may never mention (``data/entities.json``).

A question about the article's world often names someone the article does not: "What did
Zelensky say about the summit?", "مين رئيس كوريا الجنوبية؟". Such a question shares most of its
words with a paragraph (the summit, the leaders) and clears every similarity threshold, yet the
article cannot answer it: it never mentions him. A gazetteer of people, places, organisations and
events, each with its spellings in both languages, catches these; an entity counts as mentioned
when any of its aliases occurs anywhere in the article, so the check never refuses a question
about someone the article does name and carries over to new articles unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import NoReturn

from .datafile import read_json_object
from .normalize import normalise

ENTITIES_FILE = Path(__file__).parent / "data" / "entities.json"
_KEY = re.compile(r"[a-z][a-z0-9_]*")
_LANGUAGES = ("en", "ar")


class EntitiesError(ValueError):
    """The entities data file is missing or malformed; the message names the file."""


@dataclass(frozen=True, slots=True)
class Entity:
    """One named thing: how replies name it, and one pattern for all its aliases."""

    key: str
    names: Mapping[str, str]
    pattern: re.Pattern[str]

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names["en"]


def _alias_pattern(alias: str, language: str) -> str:
    """One alias as a regular expression over normalised text, with its clitics or plural."""
    if language == "ar":
        if alias.startswith("ال"):
            # "والناتو", "بالناتو", "للناتو" (ل + ال is written لل).
            return r"(?:و|ف)?(?:(?:ب|ك)?ال|لل)" + re.escape(alias[2:])
        return r"(?:و|ف)?(?:ب|ل|ك)?" + re.escape(alias)
    return re.escape(alias) + "s?"  # "zelenskys" (possessive, apostrophe dropped), "iranians"


def load_entities(path: Path = ENTITIES_FILE) -> tuple[Entity, ...]:
    """Read and validate an entities file; any problem raises :class:`EntitiesError` naming it."""

    def fail(message: str) -> NoReturn:
        raise EntitiesError(f"{path}: {message}")

    data = read_json_object(path, EntitiesError)
    entities = data.get("entities")
    if not isinstance(entities, dict) or not entities:
        fail('expected an object with a non-empty "entities" object')
    loaded = []
    for key, spec in entities.items():
        where = f"entity {key!r}"
        if not _KEY.fullmatch(key):
            fail(f"{where}: a key is lower-case letters, digits and underscores")
        if not isinstance(spec, dict) or set(spec) - {"names", "aliases", "note"}:
            fail(f"{where}: expected an object with names, aliases (and an optional note)")
        names, aliases = spec.get("names"), spec.get("aliases")
        if not isinstance(names, dict) or not all(
            isinstance(names.get(x), str) and names[x].strip() for x in _LANGUAGES
        ):
            fail(f"{where}: names needs a non-empty name for each of {list(_LANGUAGES)}")
        if not isinstance(aliases, dict) or not any(aliases.get(x) for x in _LANGUAGES):
            fail(f"{where}: aliases needs a list of words for at least one of {list(_LANGUAGES)}")
        parts = []
        for language, words in aliases.items():
            if language not in _LANGUAGES or not isinstance(words, list):
                fail(f"{where}: aliases.{language}: expected a list under 'en' or 'ar'")
            for word in words:
                folded = normalise(word) if isinstance(word, str) else ""
                if not folded:
                    fail(f"{where}: aliases.{language}: {word!r} is empty once normalised")
                parts.append(_alias_pattern(folded, language))
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")
        loaded.append(Entity(key=key, names=MappingProxyType(dict(names)), pattern=pattern))
    return tuple(loaded)


@cache
def entities() -> tuple[Entity, ...]:
    """The gazetteer, read from the data file once."""
    return load_entities(ENTITIES_FILE)


class Mentions:
    """Which entities of the gazetteer an article (all its text, every language) never mentions."""

    def __init__(self, texts: Iterable[str], known: tuple[Entity, ...] | None = None):
        corpus = normalise(" \n ".join(texts))
        self.absent = tuple(e for e in (entities() if known is None else known) if not e.pattern.search(corpus))

    def unmentioned(self, *questions: str) -> Entity | None:
        """The first entity a question names (in any of its readings) that the article never mentions."""
        folded = [normalise(q) for q in questions if q]
        for entity in self.absent:
            if any(entity.pattern.search(text) for text in folded):
                return entity
        return None


def entity_named(key: str) -> Entity | None:
    """The gazetteer entry with this key (an :attr:`Answer.entity`), if the data still has it."""
    return next((e for e in entities() if e.key == key), None)
