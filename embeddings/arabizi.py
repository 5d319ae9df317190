"""Arabizi: Arabic typed in Latin letters, with digits for the sounds Latin lacks.

People type Arabic on Latin keyboards: "meen 7ader el egtema3?", "leh kim ra7 rusya",
"shu 2al kim" (2 = ء/ق, 3 = ع, 5 = خ, 7 = ح, 9 = ق, 3' = غ, 7' = خ, 6 = ط, 8 = غ). This module
says whether a question is written that way (:func:`is_arabizi`) and rewrites it in Arabic
script (:func:`to_arabic`), word by word: frequent words and names from a dictionary, any other
word through the letter map with a few vowel rules. The output keeps the dialect's own words
("ليه", "مين", "فين"); :func:`embeddings.dialect.to_msa` maps those to MSA, and the spelling
corrector snaps near misses to the article's vocabulary.

All language data is in ``embeddings/data/arabizi.json``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .datafile import read_json_object
from .language import detect_language

DATA_FILE = "arabizi.json"

# A token: letters and digits of any script; 3' 7' 9' 6' keep their apostrophe (غ خ ض ظ).
_TOKEN = re.compile(r"(?:[3679]['’‘`]|[^\W_])+")
_LATIN = re.compile(r"[a-z]")
_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_ARABIZI_DIGIT = re.compile(r"[2356789]")
_VOWEL = re.compile(r"[aeiouy]")
_PUNCTUATION = str.maketrans({"?": "؟", ",": "،", ";": "؛"})
# A gap between a glued prefix word and the next word: "el egtema3", "el-egtema3".
_GLUE_GAP = re.compile(r"[ \t\-]*")
# Sun letters: "errusi", "ennas", "essa3a" are ال + word with the l assimilated. Not t:
# "itt"/"ett" starts the ifta'al form (ittihad, ettefa2).
_ASSIMILATED_ARTICLE = re.compile(r"^[aei](sh|th|dh|[drzsn6])\1(.{2,})$")
# Prefixes that may be cut off the front of any word (the rest need not be in the dictionary).
_ARTICLE_PREFIXES = ("el", "il", "al", "wel", "wil", "bel", "bil", "fel", "fil", "lel", "lil")
_SHORT_VOWELS = frozenset("aeiou")
_WORD_GROUPS = ("question", "function", "verbs", "nouns", "chat")


class ArabiziDataError(ValueError):
    """``embeddings/data/arabizi.json`` does not have the expected shape."""


@dataclass(frozen=True, slots=True)
class ArabiziData:
    """The contents of ``arabizi.json``, checked and indexed."""

    letters: dict[str, str | dict[str, str]]
    vowels: dict[str, dict[str, str]]  # "initial" / "medial" / "final" -> cluster -> Arabic
    units: tuple[str, ...]  # every letter and vowel key, longest first
    final_a_after: frozenset[str]
    prefixes: dict[str, str]
    article_prefixes: dict[str, str]  # prefix word -> the article, used before common words
    words: dict[str, str]  # every word group merged
    kinds: dict[str, str]  # word -> its group ("question", "function", ...)
    names: dict[str, str]
    english: frozenset[str]
    weak: frozenset[str]
    number_suffixes: frozenset[str]
    not_arabizi: frozenset[str]


def _data_path() -> Any:
    return resources.files("embeddings") / "data" / DATA_FILE


def _fail(message: str) -> ArabiziDataError:
    return ArabiziDataError(f"{_data_path()}: {message}")


def _str_map(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise _fail(f"{where} must be a non-empty object of strings")
    for key, item in value.items():
        if not isinstance(item, str) or not key or key != key.strip():
            raise _fail(f"{where}: entry {key!r} must map a non-empty word to a string")
    return value


def _word_list(value: object, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(w, str) and w for w in value):
        raise _fail(f"{where} must be a non-empty list of strings")
    return frozenset(value)


@cache
def load_arabizi() -> ArabiziData:
    """Read and check ``embeddings/data/arabizi.json`` (once per process)."""
    raw = read_json_object(_data_path(), ArabiziDataError)
    missing = {"letters", "vowels", "final_a_after", "prefixes", "article_prefixes", "words", "names"} - raw.keys()
    missing |= {"english", "weak", "number_suffixes", "not_arabizi"} - raw.keys()
    if missing:
        raise _fail(f"missing sections: {', '.join(sorted(missing))}")

    letters = raw["letters"]
    if not isinstance(letters, dict) or not letters:
        raise _fail("letters must be a non-empty object")
    for key, value in letters.items():
        positional = isinstance(value, dict) and set(value) == {"initial", "medial", "final"}
        if not (isinstance(value, str) or (positional and all(isinstance(v, str) for v in value.values()))):
            raise _fail(f"letters: {key!r} must map to a string or to initial/medial/final strings")
    vowels = raw["vowels"]
    if not isinstance(vowels, dict) or set(vowels) != {"initial", "medial", "final"}:
        raise _fail("vowels must have exactly the sections initial, medial and final")
    vowels = {position: _str_map(table, f"vowels.{position}") for position, table in vowels.items()}
    if not set(vowels["initial"]) <= set(vowels["medial"]) or set(vowels["medial"]) != set(vowels["final"]):
        raise _fail("vowels: medial and final must list the same clusters, initial a subset of them")
    final_a = raw["final_a_after"]
    if not isinstance(final_a, dict):
        raise _fail("final_a_after must be an object with a letters list")
    groups = raw["words"]
    if not isinstance(groups, dict) or set(groups) != set(_WORD_GROUPS):
        raise _fail(f"words must have exactly the groups {', '.join(_WORD_GROUPS)}")
    words: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for group in _WORD_GROUPS:
        for word, arabic in _str_map(groups[group], f"words.{group}").items():
            if words.get(word, arabic) != arabic:
                raise _fail(f"words: {word!r} is {words[word]!r} in {kinds[word]} but {arabic!r} in {group}")
            words[word] = arabic
            kinds.setdefault(word, group)
    names = _str_map(raw["names"], "names")
    prefixes = _str_map(raw["prefixes"], "prefixes")
    article = raw["article_prefixes"]
    if not isinstance(article, dict):
        raise _fail("article_prefixes must be an object with a words object")
    article_prefixes = _str_map(article.get("words"), "article_prefixes.words")
    if not article_prefixes.keys() <= prefixes.keys():
        raise _fail(f"article_prefixes: {sorted(article_prefixes.keys() - prefixes.keys())} are not in prefixes")
    clash = sorted(w for w in names if w in words and names[w] != words[w])
    if clash:
        raise _fail(f"names and words disagree on {', '.join(clash)}")
    return ArabiziData(
        letters=letters,
        vowels=vowels,
        units=tuple(sorted({*letters, *vowels["medial"]}, key=len, reverse=True)),
        final_a_after=_word_list(final_a.get("letters"), "final_a_after.letters"),
        prefixes=prefixes,
        article_prefixes=article_prefixes,
        words=words,
        kinds=kinds,
        names=names,
        english=_word_list(raw["english"], "english"),
        weak=_word_list(raw["weak"], "weak"),
        number_suffixes=_word_list(raw["number_suffixes"], "number_suffixes"),
        not_arabizi=_word_list(raw["not_arabizi"], "not_arabizi"),
    )


def _fold(token: str) -> str:
    """Lower-case Latin letters without accents (é -> e), one kind of apostrophe."""
    token = unicodedata.normalize("NFKD", token.casefold())
    token = "".join(c for c in token if not unicodedata.combining(c))
    return re.sub(r"['’‘`]", "'", token)


def _is_latin_word(token: str) -> bool:
    return bool(_LATIN.search(token)) and not _ARABIC.search(token)


# --- detection -------------------------------------------------------------------------------


def _digit_word(word: str, data: ArabiziData) -> bool:
    """Letters with Arabizi digits inside ("7ader", "egtema3", "3o2obat"), not "5pm", "mp3", "2019s"."""
    if word in data.not_arabizi or not _ARABIZI_DIGIT.search(word) or re.search(r"\d\d", word):
        return False
    letters = re.sub(r"[^a-z]", "", word)
    if len(letters) < 2 or not _VOWEL.search(letters):
        return False
    number_unit = re.fullmatch(r"\d([a-z]+)", word)
    return not (number_unit and number_unit.group(1) in data.number_suffixes)


def _dictionary_word(word: str, data: ArabiziData) -> bool:
    """An Arabizi dictionary word, alone or behind a glued prefix ("wmeen", "elegtema3")."""
    if word in data.words or word in data.prefixes:
        return True
    # The rest must be a word of three letters or more: "wifi" is not w + fi.
    rests = (word[len(p) :] for p in data.prefixes if word.startswith(p))
    return any(len(rest) >= 3 and rest in data.words for rest in rests)


def arabizi_evidence(text: str) -> tuple[float, int]:
    """(Arabizi weight, English word count) of ``text``'s Latin words.

    A word with Arabizi digits weighs 2, an Arabizi dictionary word 1 (a short function word
    such as "el", "w", "ya" only 0.5). Common English words count for English, and win when a
    word is both ("we", "law"). Names ("kim", "putin", "russia") count for neither.
    """
    data = load_arabizi()
    arabizi = 0.0
    english = 0
    for token in _TOKEN.findall(text):
        word = _fold(token)
        if not _is_latin_word(word):
            continue
        if word in data.english:
            english += 1
        elif word in data.names:
            continue
        elif _digit_word(word, data):
            arabizi += 2
        elif _dictionary_word(word, data):
            arabizi += 0.5 if word in data.weak else 1
    return arabizi, english


def is_arabizi(text: str) -> bool:
    """Whether ``text`` is Arabic typed in Latin letters ("meen 7ader el egtema3?", "shokran").

    True when its Arabizi evidence (see :func:`arabizi_evidence`) is at least 1 and outweighs
    its common English words; always False for text written mostly in Arabic script.
    """
    if not isinstance(text, str) or detect_language(text, default="en") == "ar":
        return False
    arabizi, english = arabizi_evidence(text)
    return arabizi >= 1 and arabizi > english


# --- transliteration -------------------------------------------------------------------------


def _split_units(word: str, data: ArabiziData) -> list[str]:
    """``word`` cut into letter-map and vowel units, longest match first ("sh", "ou", "3'")."""
    units: list[str] = []
    i = 0
    while i < len(word):
        unit = next((u for u in data.units if word.startswith(u, i)), word[i])
        units.append(unit)
        i += len(unit)
    return units


def _spell(word: str, data: ArabiziData) -> str:
    """Arabic letters for a word the dictionary does not know, through the letter map."""
    medial = data.vowels["medial"]
    units = _split_units(word, data)
    is_vowel = [u in medial for u in units]
    out: list[str] = []
    last = len(units) - 1
    for i, unit in enumerate(units):
        if not is_vowel[i]:
            if i > 0 and unit == units[i - 1]:
                continue  # a doubled consonant is one letter (shadda)
            letter = data.letters.get(unit, unit)
            if isinstance(letter, dict):
                letter = letter["initial" if i == 0 else "final" if i == last else "medial"]
            out.append(letter)
            continue
        if i == 0:
            out.append(data.vowels["initial"].get(unit, medial[unit]))
        elif i == last:
            previous = units[i - 1]
            if unit in ("a", "e") and (previous in data.final_a_after or len(units) <= 2):
                out.append("ا" if unit == "a" else "")
            elif unit in ("o", "u", "ou", "oo", "uu") and (is_vowel[i - 1] or len(units) <= 2):
                out.append("و")
            else:
                out.append(data.vowels["final"][unit])
        elif units[i - 1] == "2" and i == 1 and unit in _SHORT_VOWELS:
            continue  # the vowel an initial hamza carries (2ana -> أنا)
        elif unit in _SHORT_VOWELS and i + 2 <= last and not is_vowel[i + 1] and not is_vowel[i + 2]:
            continue  # a short vowel in a closed syllable (3askari, 7arb, marra)
        else:
            out.append(medial[unit])
    spelled = "".join(out)
    return re.sub(r"([يو])\1+", r"\1", spelled)  # a vowel before its glide: "ريية" -> "رية"


def _join(prefix: str, arabic: str) -> str:
    """Glue a prefix to a word, merging the article: و+ال, ل+ال -> لل, ال+ال -> ال."""
    if arabic.startswith("ال"):
        if prefix.endswith("ال") or prefix.endswith("لل"):
            return prefix + arabic[2:]
        if prefix.endswith("ل"):
            return prefix + arabic[1:]
    return prefix + arabic


def _lookup(word: str, data: ArabiziData) -> str | None:
    return data.words.get(word) or data.names.get(word)


def _word_to_arabic(word: str, data: ArabiziData) -> str:
    """One folded Latin word in Arabic script."""
    found = _lookup(word, data)
    if found:
        return found
    if word in data.prefixes:
        return data.prefixes[word].strip()
    for prefix in sorted(data.prefixes, key=len, reverse=True):
        rest = word[len(prefix) :]
        if not word.startswith(prefix) or not rest:
            continue
        found = _lookup(rest, data)
        if found:
            return _join(data.prefixes[prefix], found)
        if prefix in _ARTICLE_PREFIXES and len(rest) >= 3:
            return _join(data.prefixes[prefix], _word_to_arabic(rest, data))
    assimilated = _ASSIMILATED_ARTICLE.match(word)
    if assimilated:
        return "ال" + _word_to_arabic(assimilated.group(1) + assimilated.group(2), data)
    return _spell(word, data)


def _prefix_word(word: str, following: str, data: ArabiziData) -> str:
    """A prefix word glued to ``following``: "l wazir" -> ال, but "l moscow", "l meen" -> ل."""
    common = following not in data.names and data.kinds.get(following) not in ("question", "function")
    if word in data.article_prefixes and common:
        return data.article_prefixes[word]
    return data.prefixes[word]


def _token_to_arabic(token: str, data: ArabiziData) -> str:
    word = _fold(token)
    if not _is_latin_word(word):
        return token  # Arabic script, numbers
    return _word_to_arabic(word, data)


def to_arabic(text: str) -> str:
    """``text`` with its Latin words written in Arabic script: "leh kim ra7 rusya" -> "ليه كيم راح روسيا".

    Word by word: the dictionary first (question and function words, frequent verbs and nouns,
    names), else the letter map. "el"/"w"/"b"/"fel"... are glued to the next word (el egtema3 ->
    الاجتماع); ? , ; become ؟ ، ؛. Arabic words and numbers are kept. Never raises.
    """
    data = load_arabizi()
    matches = list(_TOKEN.finditer(text))
    parts: list[str] = []
    pending = ""  # a prefix word waiting for the next word
    position = 0
    for index, match in enumerate(matches):
        gap = text[position : match.start()]
        if pending:
            if _GLUE_GAP.fullmatch(gap):
                gap = ""
            else:
                parts.append(pending.strip())
                pending = ""
        parts.append(gap.translate(_PUNCTUATION))
        token = match.group()
        word = _fold(token)
        following = _fold(matches[index + 1].group()) if index + 1 < len(matches) else ""
        if word in data.prefixes and _is_latin_word(following):
            pending = _join(pending, _prefix_word(word, following, data))
        else:
            arabic = _token_to_arabic(token, data)
            parts.append(_join(pending, arabic) if pending else arabic)
            pending = ""
        position = match.end()
    if pending:
        parts.append(pending.strip())
    parts.append(text[position:].translate(_PUNCTUATION))
    return "".join(parts)
