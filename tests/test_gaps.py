"""The knowledge-gap store: grouping, bounds, salted hashes, decisions, export, digest marks.

Every behaviour is checked on both backends (``store`` / ``open_store`` are parametrized): SQLite
and a real PostgreSQL (``postgres_url``, a fresh database per test). ``open_store()`` opens the
same database again, as another process or a restart would.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from bot.feedback import FeedbackStore
from bot.gaps import GROUP_COSINE, GapStore, GapStoreBase, apply_decisions, export_rows
from embeddings.corpus import Corpus
from embeddings.retriever import Retriever
from embeddings.store import build_index, open_index

pytest_plugins = ["gap_stores"]  # the open_store fixture: every test runs on SQLite and on PostgreSQL
OpenStore = Callable[..., GapStoreBase]  # open_store(): the test's database, opened once more

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
def store(open_store: OpenStore) -> GapStoreBase:
    return open_store()


def record(
    store: GapStoreBase, question: str, vector: np.ndarray, *, kind="refused", chat=1, candidates=None, now=None
):
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


def test_rewordings_are_one_group_with_their_count_most_frequent_first(store: GapStoreBase) -> None:
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


def test_the_store_is_bounded_oldest_first(open_store: OpenStore) -> None:
    store = open_store(max_gaps=5, max_age_days=30)
    ids = [record(store, f"question {n}", unit(1, n), now=1_000_000.0 + n) for n in range(8)]
    assert store.count() == 5
    assert sorted(i for g in store.groups() for i in g.gap_ids) == ids[3:]
    record(store, "much later", Q3, now=1_000_000.0 + 31 * 86400)  # a month later: everything else is too old
    assert store.count() == 1


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


def test_deciding_a_group_decides_every_wording_and_exports_it(store: GapStoreBase, corpus: Corpus) -> None:
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


def test_ignored_groups_leave_the_list_and_the_export(store: GapStoreBase) -> None:
    group_id = record(store, "What did Seoul say?", Q2)
    assert store.decide(group_id, verdict="ignore") is not None
    assert store.groups() == [] and export_rows(store.decisions()) == []


def test_decisions_survive_a_restart_and_re_apply_to_a_fresh_retriever(
    tmp_path: Path, open_store: OpenStore, corpus: Corpus, fake_embedder
) -> None:
    store = open_store()
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
    reopened = open_store()
    applied = reopened.apply(retriever)
    assert (applied.taught, applied.forbidden) == (1, 1)
    assert retriever.ask(question).hits[0].passage.paragraph == 22 and retriever.ask(question).answered
    assert retriever.ask("Where did Kim and Putin meet?").reason == "not_in_article"
    assert apply_decisions(retriever, reopened.decisions()).taught == 0  # applying twice changes nothing


def test_the_digest_names_only_groups_new_since_the_last_one(store: GapStoreBase) -> None:
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


def test_gap_rows_are_plain_json(store: GapStoreBase) -> None:
    record(store, "What did Seoul say?", Q2, candidates=[f"{DOC}:13"])
    group = store.groups()[0]
    assert json.loads(json.dumps(group.candidates)) == [f"{DOC}:13"]


# -- several processes on one database --------------------------------------------------------------


def test_two_processes_see_each_others_gaps_and_decisions(open_store: OpenStore, corpus: Corpus) -> None:
    one, two = open_store(), open_store()
    first = record(one, "What did the Americans threaten?", Q1)
    record(two, "What threat did the Americans make?", Q1b)
    seoul = record(two, "What did Seoul say?", Q2)
    for store in (one, two):
        assert [(g.id, g.count) for g in store.groups()] == [(first, 2), (seoul, 1)]
        assert store.count() == 3
    decided = two.decide(first, verdict="answer", corpus=corpus, passage_id=f"{DOC}:22")
    assert decided is not None
    assert [g.id for g in one.groups()] == [seoul]
    assert one.decisions() == two.decisions() == decided
    assert one.decide(first, verdict="refuse") is None  # the other process's button is stale now
    assert record(one, "What threat did the Americans make?", Q1b) is None  # decided, whoever asks


def test_decisions_since_returns_each_decision_once_and_a_decision_changed_later_again(
    open_store: OpenStore, corpus: Corpus
) -> None:
    one, two = open_store(), open_store()
    assert two.decisions_since(0) == ([], 0)
    threat = record(one, "What did the Americans threaten?", Q1)
    seoul = record(one, "What did Seoul say?", Q2)
    one.decide(threat, verdict="answer", corpus=corpus, passage_id=f"{DOC}:22")
    seen, marker = two.decisions_since(0)
    assert [(d.question, d.verdict) for d in seen] == [("What did the Americans threaten?", "answer")]
    assert two.decisions_since(marker) == ([], marker)  # nothing new: the same marker back
    one.decide(seoul, verdict="ignore")  # an ignored question is a decision too (applying it does nothing)
    # A 👎 on the decided question opens it again; deciding it again changes the decision in place.
    again = record(one, "What did the Americans threaten?", Q1, kind="down")
    one.decide(again, verdict="refuse")
    seen, later = two.decisions_since(marker)
    assert later > marker
    assert [(d.question, d.verdict) for d in seen] == [
        ("What did Seoul say?", "ignore"),
        ("What did the Americans threaten?", "refuse"),
    ]
    assert seen[1].id == one.decisions()[0].id  # the same decision row (export ids stay stable), a new version
    assert two.decisions_since(0)[1] == later


def test_no_decision_is_skipped_while_several_processes_decide_and_one_polls(open_store: OpenStore) -> None:
    """Versions commit in order: a poller never moves its marker past a decision still being written."""
    stores = [open_store() for _ in range(4)]
    poller = open_store()
    groups = [record(stores[0], f"question number {n}", unit(*([0] * n), 1)) for n in range(12)]
    done = threading.Event()
    seen: list[str] = []

    def poll() -> None:
        marker = 0
        while True:
            finished = done.is_set()  # read before polling: one more round after the last decision
            decisions, marker = poller.decisions_since(marker)
            seen.extend(d.question for d in decisions)
            if finished:
                return

    with ThreadPoolExecutor(len(stores) + 1) as pool:
        watcher = pool.submit(poll)
        decided = list(pool.map(lambda n: stores[n % len(stores)].decide(groups[n], verdict="refuse"), range(12)))
        done.set()
        watcher.result(timeout=30)
    assert all(d is not None for d in decided)
    assert sorted(seen) == sorted(f"question number {n}" for n in range(12))  # each once, none skipped


def test_a_group_decided_at_once_in_several_processes_is_decided_once(open_store: OpenStore) -> None:
    stores = [open_store() for _ in range(6)]
    group_id = record(stores[0], "What did Seoul say?", Q2)
    record(stores[1], "what did seoul say", Q2b)
    start = threading.Barrier(len(stores))

    def press(n: int) -> list | None:
        start.wait()
        return stores[n].decide(group_id, verdict="refuse" if n % 2 else "ignore")

    with ThreadPoolExecutor(len(stores)) as pool:
        results = list(pool.map(press, range(len(stores))))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1, results  # the other presses are stale buttons
    assert stores[0].decisions() == winners[0]
    assert stores[0].groups() == []


def test_the_digest_is_claimed_by_exactly_one_of_several_processes(open_store: OpenStore) -> None:
    stores = [open_store() for _ in range(6)]
    record(stores[0], "What did the Americans threaten?", Q1)
    start = threading.Barrier(len(stores))

    def digest(store: GapStoreBase) -> tuple[bool, int, int]:
        start.wait()
        seen = store.digest_mark()
        new, newest = store.new_groups(seen)
        return (bool(new) and store.claim_digest(seen, newest)), seen, newest

    with ThreadPoolExecutor(len(stores)) as pool:
        claims = list(pool.map(digest, stores))
    winners = [c for c in claims if c[0]]
    assert len(winners) == 1, claims
    _, seen, newest = winners[0]
    assert all(store.digest_mark() == newest for store in stores)
    assert stores[1].new_groups()[0] == []
    # A claim handed back (nobody could be messaged) is claimable again by the next digest.
    assert stores[2].claim_digest(newest, seen) is True
    assert stores[3].digest_mark() == seen and stores[3].claim_digest(seen, newest) is True
    assert stores[4].claim_digest(seen, newest) is False


def test_an_old_sqlite_database_gains_decision_versions(tmp_path: Path) -> None:
    """A gaps.sqlite3 written before decisions_since existed: its decisions count as versions 1..n."""
    path = tmp_path / "gaps.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, question TEXT NOT NULL, "
        "language TEXT NOT NULL, verdict TEXT NOT NULL, passage_id TEXT, doc TEXT, paragraph INTEGER, "
        "UNIQUE (question, language));"
        "INSERT INTO decisions (time, question, language, verdict) VALUES (1.0, 'What did Seoul say?', 'en', 'refuse');"
    )
    db.close()
    store = GapStore(path)
    seen, marker = store.decisions_since(0)
    assert [d.question for d in seen] == ["What did Seoul say?"] and marker == 1
    group_id = record(store, "What did the Americans threaten?", Q1)
    store.decide(group_id, verdict="refuse")
    assert [d.question for d in store.decisions_since(marker)[0]] == ["What did the Americans threaten?"]
    store.close()
    reopened = GapStore(path)
    assert reopened.decisions_since(0)[1] == 2  # opening it again changes nothing
    reopened.close()
