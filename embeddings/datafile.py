"""Reading the language data files (``embeddings/data/``, ``bot/data/``): one JSON object each.

Every loader reports a broken file the same way: an exception of its own class whose message
starts with the file's path, so an editor who mistyped a bracket knows which file to open.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


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
