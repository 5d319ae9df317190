"""Text normalisation for lexical matching (Arabic and English) and tokenisation.

Bump NORMALISER_VERSION whenever the output of :func:`normalise` changes: the
index manifest records it, so stale indexes are rebuilt automatically.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

NORMALISER_VERSION = 3  # 3: a hamza on the line is dropped

# Harakat, Quranic marks, superscript alef: they change no meaning for retrieval.
_TASHKEEL = re.compile(r"[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED]")
_TATWEEL = "\u0640"
# Bidi controls and zero-width characters that users paste in from other apps.
_INVISIBLE = re.compile(r"[\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF\u00AD]")
_ARABIC_MAP = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ٲ": "ا",
        "ٳ": "ا",
        "ة": "ه",
        "ى": "ي",
        "ؤ": "و",
        "ئ": "ي",
        # A hamza on the line is left out by most people typing ("الغدا" for "الغداء", "جا" for "جاء").
        "ء": "",
        # Persian/Urdu letter forms that show up in Arabic text typed on other keyboards.
        "ک": "ك",
        "ی": "ي",
        "گ": "ك",
        **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
        **{chr(0x06F0 + d): str(d) for d in range(10)},  # Extended (Persian) digits
    }
)
# Everything that is not a letter or digit (in any script) separates tokens.
_NON_WORD = re.compile(r"[^\w]+|_", re.UNICODE)
_ARABIC_LETTER = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")


def normalise_arabic(text: str) -> str:
    """Fold Arabic spelling variants: alef/hamza forms, ta marbuta, alef maqsura, diacritics, digits."""
    text = _TASHKEEL.sub("", text).replace(_TATWEEL, "")
    return text.translate(_ARABIC_MAP)


def normalise_english(text: str) -> str:
    """Case-fold Latin text; punctuation is handled by :func:`normalise`."""
    return text.casefold()


def normalise(text: str) -> str:
    """Normalise mixed Arabic/English text to space-separated lower-case words."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = normalise_english(normalise_arabic(text))
    # Apostrophes join words ("Russia's" -> "russias") instead of splitting them.
    text = re.sub(r"['’`]", "", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def tokens(text: str) -> list[str]:
    """Normalised word tokens of ``text``."""
    return normalise(text).split()


def is_arabic_word(word: str) -> bool:
    """True when the word contains Arabic-script letters."""
    return bool(_ARABIC_LETTER.search(word))


_STEMMERS: dict[str, object] = {}


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Light stem of a normalised word, using the Snowball stemmer for its script."""
    language = "arabic" if is_arabic_word(word) else "english"
    stemmer = _STEMMERS.get(language)
    if stemmer is None:
        import Stemmer  # PyStemmer: C Snowball stemmers, imported only when lexical search runs

        stemmer = _STEMMERS[language] = Stemmer.Stemmer(language)
    stemmed = stemmer.stemWord(word)  # type: ignore[attr-defined]
    # Snowball's Arabic stemmer restores ة/أ forms; fold them again so queries match.
    return normalise_arabic(stemmed) if language == "arabic" else stemmed
