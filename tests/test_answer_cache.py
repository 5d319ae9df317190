"""The answer cache: a protocol with a memory default, keys that carry the index version, and the compact
JSON a shared store (Redis) holds, which must give back an equal Answer."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from embeddings.answer_cache import (
    ANSWER_FORMAT,
    MemoryAnswerCache,
    StoredAnswerCache,
    decode_answer,
    encode_answer,
)
from embeddings.corpus import Corpus
from embeddings.retriever import MAX_QUESTION_CHARS, Answer, Retriever
from embeddings.store import open_index

REPO = Path(__file__).resolve().parent.parent


def eval_rows(limit: int | None = None) -> list[dict]:
    rows = [json.loads(line) for line in (REPO / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    return rows[:limit]


@pytest.fixture
def retriever(corpus: Corpus, fake_embedder, tmp_path: Path) -> Retriever:
    return Retriever(corpus=corpus, embedder=fake_embedder, index=open_index(corpus, fake_embedder, tmp_path / "index"))


class DictStore:
    """A ByteStore in a dict, counting calls (what the lead's Redis wrapper does over the network)."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.ttls: dict[str, float] = {}
        self.gets = 0

    def get(self, key: str) -> bytes | None:
        self.gets += 1
        return self.data.get(key)

    def set(self, key: str, value: bytes, ttl: float) -> None:
        self.data[key], self.ttls[key] = value, ttl


class BrokenStore:
    def get(self, key: str) -> bytes | None:
        raise ConnectionError("redis is down")

    def set(self, key: str, value: bytes, ttl: float) -> None:
        raise ConnectionError("redis is down")


def round_trip(answer: Answer, corpus: Corpus) -> Answer | None:
    return decode_answer(encode_answer(answer), corpus)


# -- serialisation --------------------------------------------------------------------------------


def test_every_answer_to_the_question_set_survives_the_round_trip(retriever: Retriever, corpus: Corpus) -> None:
    # The fake embedder's cosines never reach the refusal threshold: a second pass answers everything.
    permissive = retriever.with_config(replace(retriever.config, min_relevance=0.0, min_relevance_ar=0.0))
    answered = refused = 0
    for each in (retriever, permissive):
        for n, row in enumerate(eval_rows()):
            answer = each.ask(row["question"], k=1 + n % 5, context=row.get("context"), cache=False)
            assert round_trip(answer, corpus) == answer, row["question"]
            answered += answer.answered
            refused += not answer.answered
    assert answered > 100 and refused > 100  # both kinds were covered


def test_unusual_answers_survive_the_round_trip(retriever: Retriever, corpus: Corpus) -> None:
    long_question = "Where did Kim and Putin meet? " * 60  # truncated
    taught = "Which colour was the carpet at the station?"
    retriever.teach(corpus.passages[3].id, "en", taught)
    retriever.forbid("What did they eat for dinner?")
    answers = [
        retriever.ask(long_question, cache=False),
        retriever.ask("wein iltaqa kim w putin?", cache=False),  # Arabizi
        retriever.ask(taught, cache=False),  # decided by an editor: answered
        retriever.ask("What did they eat for dinner?", cache=False),  # decided: refused
        retriever.ask("And what did he say next?", context="What did Kim say?", shown=corpus.passages[4].id),
    ]
    assert answers[0].truncated and len(long_question) > MAX_QUESTION_CHARS
    assert answers[1].arabizi and answers[2].decided and answers[3].decided and answers[4].used_context
    for answer in answers:
        assert round_trip(answer, corpus) == answer


@pytest.mark.slow
def test_real_model_answers_survive_the_round_trip(e5_retriever: Retriever, corpus: Corpus) -> None:
    for row in eval_rows(60):
        answer = e5_retriever.ask(row["question"], context=row.get("context"), cache=False)
        assert round_trip(answer, corpus) == answer, row["question"]


def test_the_json_is_compact_and_names_passages_by_id(retriever: Retriever, corpus: Corpus) -> None:
    answer = retriever.ask("Where did Kim and Putin meet?", cache=False)
    data = encode_answer(answer)
    raw = json.loads(data)
    assert raw["f"] == ANSWER_FORMAT and [h[0] for h in raw["h"]] == [h.passage.id for h in answer.hits]
    assert all(isinstance(n, int) for h in raw["h"] for n in h[4].values())  # sentences by number
    assert len(data) < 200 * len(answer.hits) + 300  # not the passages' text
    assert b": " not in data and b", " not in data


def test_an_entry_naming_passages_the_corpus_lacks_is_a_miss(retriever: Retriever, corpus: Corpus) -> None:
    answer = retriever.ask("Where did Kim and Putin meet?", cache=False)
    data = encode_answer(answer)
    gone = replace(corpus, passages=tuple(p for p in corpus.passages if p.id != answer.hits[0].passage.id))
    assert decode_answer(data, gone) is None
    raw = json.loads(data)
    language = next(iter(raw["h"][0][4]))
    raw["h"][0][4][language] = 999  # a sentence the passage no longer has
    assert decode_answer(json.dumps(raw), corpus) is None
    for bad in (b"", b"not json", b"[]", json.dumps({**raw, "f": ANSWER_FORMAT + 1}).encode(), b'{"f": 1}'):
        assert decode_answer(bad, corpus) is None


# -- the cache in the retriever ------------------------------------------------------------------


def test_keys_carry_the_version_the_settings_and_the_editors_decisions(retriever: Retriever) -> None:
    key = retriever.answer_key("Where did they meet?", None, None, 3)
    assert key.startswith(retriever.version + ":")
    assert retriever.version == retriever.index.manifest.identity()
    other = replace(retriever, version="0123456789ab")
    assert other.answer_key("Where did they meet?", None, None, 3) != key
    assert (
        retriever.with_config(replace(retriever.config, lexical_weight=0.1)).answer_key(
            "Where did they meet?", None, None, 3
        )
        != key
    )
    assert retriever.answer_key("Where did they meet?", None, None, 2) != key
    retriever.teach(retriever.corpus.passages[0].id, "en", "Where was the summit held?")
    assert retriever.answer_key("Where did they meet?", None, None, 3) != key


def test_the_memory_cache_is_the_default_and_remembers_answers(retriever: Retriever) -> None:
    assert isinstance(retriever.answers, MemoryAnswerCache)
    first = retriever.ask("Where did Kim and Putin meet?")
    assert len(retriever.answers) == 1
    assert retriever.ask("Where  did Kim and Putin meet?") is not first  # the typed question is kept...
    assert retriever.ask("Where did Kim and Putin meet?") == first  # ...the answer is the one cached
    uncached = retriever.with_config(replace(retriever.config, cache_size=0))
    uncached.ask("Where did Kim and Putin meet?")
    assert len(uncached.answers) == 0 and uncached.answers is not retriever.answers


def test_a_shared_store_holds_answers_for_every_process(retriever: Retriever, corpus: Corpus, fake_embedder) -> None:
    store = DictStore()
    shared = StoredAnswerCache(store, ttl=600)
    one = replace(retriever, answers=shared)
    two = Retriever(corpus=corpus, embedder=fake_embedder, index=retriever.index, answers=shared)  # another process
    answer = one.ask("Where did Kim and Putin meet?")
    (key,) = store.data
    assert key.startswith("answer:" + one.version) and store.ttls[key] == 600
    calls = fake_embedder.queries_embedded
    assert two.ask("Where did Kim and Putin meet?") == answer
    assert fake_embedder.queries_embedded == calls  # served from the store: the question was not even embedded
    newer = replace(retriever, answers=shared, version="0123456789ab")
    newer.ask("Where did Kim and Putin meet?")
    assert len(store.data) == 2  # another index version never reads the first one's entry


def test_a_failing_store_costs_the_cache_not_the_answer(retriever: Retriever, caplog: pytest.LogCaptureFixture) -> None:
    broken = replace(retriever, answers=StoredAnswerCache(BrokenStore(), ttl=60))
    assert broken.ask("Where did Kim and Putin meet?").hits
    assert "answer cache read failed" in caplog.text and "answer cache write failed" in caplog.text
