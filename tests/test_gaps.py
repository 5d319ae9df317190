"""The knowledge-gap store: grouping, bounds, salted hashes, decisions, export, digest marks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.feedback import FeedbackStore
from bot.gaps import GROUP_COSINE, GapStore, apply_decisions, export_rows
from embeddings.corpus import Corpus
from embeddings.retriever import Retriever
from embeddings.store import build_index, open_index

DOC = "000_54d2f6cd4b201a0d"
DIM = 16


def unit(*weights: float) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[: len(weights)] = weights
    return v / np.linalg.norm(v)


# Three questions: rewordings of each sit above GROUP_COSINE, different questions far below it.
Q1, Q1b, Q1c = unit(1, 0.1), unit(1, 0, 0.1), unit(1, 0.05, 0.05)
Q2, Q2b = unit(0, 0, 0, 1, 0.1), unit(0, 0, 0, 1)
Q3 = unit(0, 0, 0, 0, 0, 1)


@pytest.fixture
def store(tmp_path: Path):
    gaps = GapStore(tmp_path / "gaps.sqlite3")
    yield gaps
    gaps.close()


def record(store: GapStore, question: str, vector: np.ndarray, *, kind="refused", chat=1, candidates=None, now=None):
    return store.record(
        chat,
        question=question,
        language="en",
        kind=kind,
        candidates=candidates or [f"{DOC}:22", f"{DOC}:11", f"{DOC}:17"],
        reply="The article does not answer that.",
        vector=vector,
        now=now,
    )


def test_the_vectors_of_this_test_mean_what_they_say() -> None:
    assert min(Q1 @ Q1b, Q1 @ Q1c, Q2 @ Q2b) >= GROUP_COSINE > max(Q1 @ Q2, Q1 @ Q3, Q2 @ Q3)


def test_rewordings_are_one_group_with_their_count_most_frequent_first(store: GapStore) -> None:
    record(store, "Where is the third question?", Q3)
    first = record(store, "What did the Americans threaten?", Q1)
    record(store, "What did Seoul say?", Q2)
    record(store, "What threat did the Americans make?", Q1b, kind="medium", candidates=[f"{DOC}:11", f"{DOC}:22"])
    record(store, "What did Seoul say?", Q2b, kind="down")
    record(store, "what did the americans threaten", Q1c)
    groups = store.groups()
    assert [g.count for g in groups] == [3, 2, 1]
    top = groups[0]
    assert top.id == first and top.question == "What did the Americans threaten?"
    assert {q for _, q in top.wordings} == {
        "What did the Americans threaten?",
        "What threat did the Americans make?",
        "what did the americans threaten",
    }
    assert top.candidates[0] == f"{DOC}:22"  # a top candidate of most wordings
    assert dict(top.kinds) == {"refused": 2, "medium": 1}
    assert groups[1].question == "What did Seoul say?" and groups[1].wordings == (("en", "What did Seoul say?"),)


def test_the_store_is_bounded_oldest_first(tmp_path: Path) -> None:
    store = GapStore(tmp_path / "gaps.sqlite3", max_gaps=5, max_age_days=30)
    ids = [record(store, f"question {n}", unit(1, n), now=1_000_000.0 + n) for n in range(8)]
    assert store.count() == 5
    assert sorted(i for g in store.groups() for i in g.gap_ids) == ids[3:]
    record(store, "much later", Q3, now=1_000_000.0 + 31 * 86400)  # a month later: everything else is too old
    assert store.count() == 1
    store.close()


def test_chat_ids_are_kept_only_as_the_installs_salted_hash(tmp_path: Path) -> None:
    store = GapStore(tmp_path / "gaps.sqlite3")
    record(store, "What did the Americans threaten?", Q1, chat=987654321)
    feedback = FeedbackStore(tmp_path / "feedback.sqlite3")
    assert store.chat_hash(987654321) == feedback.chat_hash(987654321)  # one salt per install
    store.close()
    feedback.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("gaps.sqlite3*"))
    assert b"987654321" not in raw
    assert store.chat_hash(987654321).encode() in raw
    (tmp_path / "other").mkdir()
    other = GapStore(tmp_path / "other" / "gaps.sqlite3")
    assert other.chat_hash(987654321) != store.chat_hash(987654321)
    other.close()


def test_deciding_a_group_decides_every_wording_and_exports_it(store: GapStore, corpus: Corpus) -> None:
    group_id = record(store, "What did the Americans threaten?", Q1)
    record(store, "What threat did the Americans make?", Q1b)
    seoul = record(store, "What did Seoul say?", Q2)
    decided = store.decide(group_id, verdict="answer", corpus=corpus, passage_id=f"{DOC}:22")
    assert decided is not None and len(decided) == 2
    assert store.decide(group_id, verdict="ignore") is None  # decided already: a stale button
    assert [g.id for g in store.groups()] == [seoul]
    # The same question asked again is not a gap any more (a 👎 on it still is).
    assert record(store, "What did the Americans threaten?", Q1) is None
    assert record(store, "What did the Americans threaten?", Q1, kind="down") is not None
    store.decide(seoul, verdict="refuse")
    rows = export_rows(store.decisions())
    assert rows[0] == {
        "id": rows[0]["id"],
        "type": "answerable",
        "lang": "en",
        "question": "What did the Americans threaten?",
        "doc": DOC,
        "paragraphs": [22],
        "kind": "editor",
    }
    assert rows[2] == {
        "id": rows[2]["id"],
        "type": "offtopic",
        "lang": "en",
        "question": "What did Seoul say?",
        "paragraphs": [],
    }
    assert len({r["id"] for r in rows}) == 3
    with pytest.raises(ValueError, match="passage"):
        store.decide(seoul, verdict="answer", corpus=corpus, passage_id=f"{DOC}:99")


def test_ignored_groups_leave_the_list_and_the_export(store: GapStore) -> None:
    group_id = record(store, "What did Seoul say?", Q2)
    assert store.decide(group_id, verdict="ignore") is not None
    assert store.groups() == [] and export_rows(store.decisions()) == []


def test_decisions_survive_a_restart_and_re_apply_to_a_fresh_retriever(
    tmp_path: Path, corpus: Corpus, fake_embedder
) -> None:
    store = GapStore(tmp_path / "gaps.sqlite3")
    question = "Zorblax quuxified frobnitz wibble?"
    group_id = record(store, question, Q1)
    store.decide(group_id, verdict="answer", corpus=corpus, passage_id=f"{DOC}:22")
    forbid_id = record(store, "Where did Kim and Putin meet?", Q2)
    store.decide(forbid_id, verdict="refuse")
    store.close()

    build_index(corpus, fake_embedder, tmp_path / "index")
    retriever = Retriever(
        corpus=corpus, embedder=fake_embedder, index=open_index(corpus, fake_embedder, tmp_path / "index")
    )
    reopened = GapStore(tmp_path / "gaps.sqlite3")
    applied = reopened.apply(retriever)
    assert (applied.taught, applied.forbidden) == (1, 1)
    assert retriever.ask(question).hits[0].passage.paragraph == 22 and retriever.ask(question).answered
    assert retriever.ask("Where did Kim and Putin meet?").reason == "not_in_article"
    assert apply_decisions(retriever, reopened.decisions()).taught == 0  # applying twice changes nothing
    reopened.close()


def test_the_digest_names_only_groups_new_since_the_last_one(store: GapStore) -> None:
    record(store, "What did the Americans threaten?", Q1)
    new, newest = store.new_groups()
    assert [g.question for g in new] == ["What did the Americans threaten?"]
    store.mark_digest(newest)
    assert store.new_groups()[0] == []
    record(store, "What did Seoul say?", Q2)
    record(store, "What threat did the Americans make?", Q1b)  # an old question asked again counts as new
    assert sorted(g.question for g in store.new_groups()[0]) == [
        "What did Seoul say?",
        "What did the Americans threaten?",
    ]


def test_gap_rows_are_plain_json(store: GapStore) -> None:
    record(store, "What did Seoul say?", Q2, candidates=[f"{DOC}:13"])
    group = store.groups()[0]
    assert json.loads(json.dumps(group.candidates)) == [f"{DOC}:13"]
