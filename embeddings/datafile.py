"""Reading the language data files (``embeddings/data/``, ``bot/data/``): one JSON object each.

Every loader reports a broken file the same way: an exception of its own class whose message
starts with the file's path, so an editor who mistyped a bracket knows which file to open.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from .normalize import normalise_arabic

# Characters normalise() folds away (hamza forms, ة, ى...): a pattern holding one never matches.
FOLDED = frozenset(c for c in map(chr, range(0x0600, 0x0700)) if normalise_arabic(c) != c)


def read_json_object(path: Path, error: type[Exception]) -> dict[str, Any]:
    """The JSON object in ``path``; ``error("<path>: why")`` when unreadable, not JSON or not an object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise error(f"{path}: not valid UTF-8 JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise error(f"{path}: must hold a JSON object")
    return data


def compile_patterns(
    spec: object, where: str, fail: Callable[[str], NoReturn], *, required: tuple[str, ...]
) -> re.Pattern[str]:
    """One compiled alternation of a ``{language: [pattern, ...]}`` object, each pattern as whole words.

    Patterns are matched on normalised text, so one holding a character normalise() folds away
    is refused: it could never match.
    """
    if not isinstance(spec, dict):
        fail(f"{where}: expected an object of pattern lists per language")
    missing = [language for language in required if not spec.get(language)]
    if missing:
        fail(f"{where}: no patterns for {missing}")
    parts: list[str] = []
    for language, patterns in spec.items():
        if not isinstance(patterns, list):
            fail(f"{where}.{language}: expected a list of patterns")
        for i, pattern in enumerate(patterns):
            at = f"{where}.{language}[{i}]"
            if not isinstance(pattern, str) or not pattern.strip():
                fail(f"{at}: expected a non-empty string")
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                fail(f"{at}: invalid regular expression {pattern!r}: {exc}")
            if compiled.fullmatch(""):
                fail(f"{at}: {pattern!r} matches the empty string")
            folded = sorted(set(pattern) & FOLDED)
            if folded:
                fail(f"{at}: {pattern!r} holds {folded}, which normalise() folds away (write it normalised)")
            parts.append(rf"\b(?:{pattern})\b")
    if not parts:
        fail(f"{where}: no patterns")
    return re.compile("|".join(parts))
