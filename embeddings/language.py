"""Question language detection: Arabic script versus Latin script is enough here."""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["ar", "en"]
LANGUAGES: tuple[Language, ...] = ("ar", "en")

_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")


def detect_language(text: str, *, default: Language = "en") -> Language:
    """Return "ar" when Arabic letters are at least as many as Latin ones, else "en".

    Mixed questions ("What did بوتين say?") go to whichever script carries more
    letters; a question with no letters at all falls back to ``default``.
    """
    arabic = len(_ARABIC.findall(text))
    latin = len(_LATIN.findall(text))
    if arabic == 0 and latin == 0:
        return default
    return "ar" if arabic >= latin else "en"
