"""Where the retriever keeps answers it has computed: in memory by default, or in a store shared by
every process (Redis), through one small protocol.

Keys are made by :meth:`embeddings.retriever.Retriever.answer_key`: they hold the index version,
the retrieval settings and the editors' decisions applied, so an entry is never read by a
retriever it was not computed for; a new index version simply misses.

A shared store holds bytes: :func:`encode_answer` writes an answer as compact JSON naming its
passages by id (with their scores, and each highlighted sentence by its number), and
:func:`decode_answer` rebuilds it against the reader's corpus. An entry naming a passage the
corpus does not have, or a sentence it no longer has, is a miss, never an error.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Protocol

from .answer import Answer, Hit

if TYPE_CHECKING:
    from .corpus import Corpus

log = logging.getLogger(__name__)

ANSWER_FORMAT = 1  # bump when the JSON below changes: older entries then read as misses


class AnswerCache(Protocol):
    """Answers by key."""

    def get(self, key: str, corpus: Corpus) -> Answer | None:
        """The answer stored under ``key``, rebuilt against ``corpus`` where it was stored as data."""
        ...

    def put(self, key: str, answer: Answer) -> None:
        """Keep ``answer`` under ``key`` (for as long as the cache sees fit)."""
        ...


class ByteStore(Protocol):
    """A shared key-value store of bytes with expiry (a thin wrapper over a Redis client)."""

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl: float) -> None: ...


class MemoryAnswerCache:
    """The ``size`` most recently used answers of this process, kept as objects (LRU)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._answers: OrderedDict[str, Answer] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, corpus: Corpus) -> Answer | None:
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None:
                self._answers.move_to_end(key)
            return answer

    def put(self, key: str, answer: Answer) -> None:
        if self.size <= 0:  # cache_size=0: benchmarks time every question in full
            return
        with self._lock:
            self._answers[key] = answer
            self._answers.move_to_end(key)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()

    def __len__(self) -> int:
        return len(self._answers)


class StoredAnswerCache:
    """Answers in a :class:`ByteStore` shared by every process, as :func:`encode_answer` JSON.

    The store failing (Redis down) costs the cache, not the question: it is logged and read as
    a miss, and a failed write is dropped.
    """

    def __init__(self, store: ByteStore, *, ttl: float, prefix: str = "answer:") -> None:
        self.store = store
        self.ttl = ttl
        self.prefix = prefix

    def get(self, key: str, corpus: Corpus) -> Answer | None:
        try:
            data = self.store.get(self.prefix + key)
        except Exception as exc:  # any client error: the answer is computed instead
            log.warning("answer cache read failed (%s); answering without it", exc)
            return None
        return decode_answer(data, corpus) if data is not None else None

    def put(self, key: str, answer: Answer) -> None:
        try:
            self.store.set(self.prefix + key, encode_answer(answer), self.ttl)
        except Exception as exc:  # any client error: the answer was given, only its reuse is lost
            log.warning("answer cache write failed (%s)", exc)


def encode_answer(answer: Answer) -> bytes:
    """``answer`` as compact JSON: passage ids with their scores, highlights as sentence numbers."""
    hits = []
    for hit in answer.hits:
        highlights: dict[str, int | str] = {}
        for language, sentence in hit.highlights.items():
            sentences = hit.passage.sentences_in(language)
            # A sentence number is shorter, and a corpus whose sentence changed reads the entry as a miss.
            highlights[language] = sentences.index(sentence) if sentence in sentences else sentence
        hits.append([hit.passage.id, hit.score, hit.dense, hit.lexical, highlights])
    data: dict[str, Any] = {
        "f": ANSWER_FORMAT,
        "q": answer.question,
        "l": answer.language,
        "a": answer.answered,
        "c": answer.confidence,
        "h": hits,
        "u": answer.used_context,
        "t": answer.truncated,
        "r": answer.reason,
        "at": answer.attribute,
        "e": answer.entity,
        "z": answer.arabizi,
        "d": answer.decided,
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_answer(data: bytes | str, corpus: Corpus) -> Answer | None:
    """The answer :func:`encode_answer` wrote, with ``corpus``'s passages; None when it is not one
    or names a passage or sentence ``corpus`` does not have."""
    try:
        raw = json.loads(data)
        if not isinstance(raw, dict) or raw.get("f") != ANSWER_FORMAT:
            return None
        hits = []
        for passage_id, score, dense, lexical, stored in raw["h"]:
            passage = corpus.passage(str(passage_id))
            if passage is None:
                return None
            highlights: dict[str, str] = {}
            for language, value in stored.items():
                if isinstance(value, str):
                    highlights[language] = value
                    continue
                sentences = passage.sentences_in(language)
                if not isinstance(value, int) or not 0 <= value < len(sentences):
                    return None
                highlights[language] = sentences[value]
            hits.append(Hit(passage, float(score), float(dense), float(lexical), highlights))
        return Answer(
            question=str(raw["q"]),
            language=raw["l"],
            answered=bool(raw["a"]),
            confidence=str(raw["c"]),
            hits=tuple(hits),
            used_context=bool(raw["u"]),
            truncated=bool(raw["t"]),
            reason=raw["r"],
            attribute=raw["at"],
            entity=raw.get("e"),
            arabizi=bool(raw["z"]),
            decided=bool(raw["d"]),
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
