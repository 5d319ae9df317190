"""English chat shorthand and typos of common words ("wher", "abt", "w/"), read as the words meant.

Names are left to :mod:`.spelling` (it knows the article's vocabulary); this covers the small
words that decide what a question asks for and that the article never contains.
Data: ``embeddings/data/shorthand.json``.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from .datafile import read_json_object

DATA_FILE = Path(__file__).parent / "data" / "shorthand.json"


class ShorthandDataError(Exception):
    """The shorthand data file is missing or malformed; the message names it."""


@cache
def _load(path: Path = DATA_FILE) -> tuple[re.Pattern[str], dict[str, str]]:
    words = read_json_object(path, ShorthandDataError).get("words")
    if not isinstance(words, dict) or not words:
        raise ShorthandDataError(f"{path}: 'words' must map shorthand to the words meant")
    table = {str(k).lower(): str(v) for k, v in words.items()}
    # Longest first, so "n korea" wins over "n"; whole words only, in any case.
    alternatives = "|".join(re.escape(k) for k in sorted(table, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w/])({alternatives})(?![\w/])", re.IGNORECASE)
    return pattern, table


def expand(text: str) -> str:
    """``text`` with shorthand words replaced by the words meant; anything else unchanged."""
    pattern, table = _load()
    return pattern.sub(lambda m: table[m.group(1).lower()], text)
