"""The project's question set and the metrics ``summit-bot eval`` reports.

Recall@k counts a question as found when any of its answer paragraphs is among
the top k; refusal is scored as a detector of off-topic questions (positive =
"the bot said the article does not answer"); small-talk lines score the intent the
bot read, and every real question read as small talk counts against it.

Questions go through a :class:`Responder`: the whole conversation engine when the
bot layer supplies one (``bot.dialogue.Dialogue.responder``), else retrieval alone.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .retriever import Answer, Retriever


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    """One line of ``eval/questions.jsonl``."""

    id: str
    type: str  # "answerable", "offtopic", "followup" or "smalltalk"
    lang: str
    question: str
    paragraphs: tuple[int, ...]
    doc: str | None = None
    context: str | None = None
    kind: str | None = None
    intent: str | None = None  # smalltalk lines: greeting, thanks, goodbye, help or summary


@dataclass(frozen=True, slots=True)
class Response:
    """What the bot made of one message: its intent, and the retrieval answer when it ran."""

    intent: str
    answer: Answer | None


class Responder(Protocol):
    def __call__(self, question: str, *, context: str | None = None) -> Response:
        """Answer ``question`` asked right after ``context`` (None: first message of a chat)."""
        ...


def retrieval_only(retriever: Retriever) -> Responder:
    """Every message is a question: retrieval alone, without the conversation engine."""

    def respond(question: str, *, context: str | None = None) -> Response:
        return Response("question", retriever.ask(question, k=3, context=context, cache=False))

    return respond


def load_questions(path: Path) -> list[EvalQuestion]:
    """Read the JSONL question set; a bad line is an error naming the file and line."""
    questions = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(
                EvalQuestion(
                    id=row["id"],
                    type=row["type"],
                    lang=row["lang"],
                    question=row["question"],
                    paragraphs=tuple(row.get("paragraphs") or ()),
                    doc=row.get("doc"),
                    context=row.get("context"),
                    kind=row.get("kind"),
                    intent=row.get("intent"),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a question row ({exc})") from exc
    return questions


@dataclass(slots=True)
class RankStats:
    """Recall@1/3, MRR and the share answered over a group of answerable questions."""

    n: int = 0
    hit1: int = 0
    hit3: int = 0
    rr: float = 0.0
    answered: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, q: EvalQuestion, answer: Answer | None) -> None:
        hits = answer.hits if answer is not None else ()
        ranks = [
            r
            for r, h in enumerate(hits, start=1)
            if h.passage.paragraph in q.paragraphs and (q.doc is None or h.passage.doc == q.doc)
        ]
        first = ranks[0] if ranks else None
        self.n += 1
        self.hit1 += first == 1
        self.hit3 += first is not None and first <= 3
        self.rr += 1 / first if first else 0.0
        self.answered += answer is not None and answer.answered
        if first != 1:
            got = hits[0].passage.paragraph if hits else None
            self.misses.append(f"{q.id}: {q.question} -> ¶{got}, want {list(q.paragraphs)}")

    def row(self) -> dict[str, float | int]:
        n = self.n or 1
        return {
            "n": self.n,
            "recall@1": round(self.hit1 / n, 3),
            "recall@3": round(self.hit3 / n, 3),
            "mrr": round(self.rr / n, 3),
            "answered": round(self.answered / n, 3),
        }


@dataclass(slots=True)
class EvalReport:
    """Everything ``summit-bot eval`` prints."""

    answerable: dict[str, RankStats]
    followup: dict[str, RankStats]
    in_conversation: dict[str, RankStats]  # answerable, asked right after an unrelated question
    by_kind: dict[tuple[str, str], RankStats]  # (language, kind) -> answerable questions of that kind
    offtopic: dict[str, tuple[int, int]]  # language -> (refused, asked): each alone and after a real question
    refused_answerable: int
    total_answerable: int
    median_ms: float
    smalltalk: dict[str, tuple[int, int]] = field(default_factory=dict)  # language -> (right intent, asked)
    taken_for_small_talk: int = 0  # real questions (answerable, off-topic, follow-up) read as small talk
    real_questions: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # why off-topic questions were refused
    smalltalk_misses: list[str] = field(default_factory=list)
    offtopic_misses: list[str] = field(default_factory=list)  # off-topic questions answered

    def refusal(self) -> dict[str, float]:
        refused_off = sum(r for r, _ in self.offtopic.values())
        total_off = sum(t for _, t in self.offtopic.values()) or 1
        refused_all = refused_off + self.refused_answerable
        return {
            "precision": round(refused_off / refused_all, 3) if refused_all else 1.0,
            "recall": round(refused_off / total_off, 3),
            "false_refusals": round(self.refused_answerable / (self.total_answerable or 1), 3),
        }

    def to_json(self) -> dict:
        return {
            "answerable": {lang: s.row() for lang, s in self.answerable.items()},
            "followup": {lang: s.row() for lang, s in self.followup.items()},
            "in_conversation": {lang: s.row() for lang, s in self.in_conversation.items()},
            "by_kind": {
                lang: {kind: s.row() for (lang_, kind), s in sorted(self.by_kind.items()) if lang_ == lang}
                for lang in sorted({lang for lang, _ in self.by_kind})
            },
            "offtopic": {
                lang: {"refused": r, "n": t, "recall": round(r / (t or 1), 3)} for lang, (r, t) in self.offtopic.items()
            },
            "refusal": self.refusal(),
            "refusal_reasons": dict(sorted(self.reasons.items())),
            "smalltalk": {
                lang: {"right_intent": r, "n": t, "accuracy": round(r / (t or 1), 3)}
                for lang, (r, t) in sorted(self.smalltalk.items())
            },
            "questions_taken_for_small_talk": round(self.taken_for_small_talk / (self.real_questions or 1), 3),
            "median_ms": round(self.median_ms, 2),
        }

    def misses(self) -> list[str]:
        ranked = [m for group in (self.answerable, self.followup) for s in group.values() for m in s.misses]
        return ranked + self.offtopic_misses + self.smalltalk_misses

    def table(self) -> str:
        lines = [
            "| set | lang | n | Recall@1 | Recall@3 | MRR | answered |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        groups = (
            ("answerable", self.answerable),
            ("after another question", self.in_conversation),
            ("follow-up", self.followup),
        )
        for name, group in groups:
            for lang, stats in sorted(group.items()):
                r = stats.row()
                lines.append(
                    f"| {name} | {lang} | {r['n']} | {r['recall@1']:.3f} | {r['recall@3']:.3f} "
                    f"| {r['mrr']:.3f} | {r['answered']:.3f} |"
                )
        if self.by_kind:
            lines += ["", "| answerable, by kind | lang | n | Recall@1 | Recall@3 |", "|---|---|---:|---:|---:|"]
            for (lang, kind), stats in sorted(self.by_kind.items()):
                r = stats.row()
                lines.append(f"| {kind} | {lang} | {r['n']} | {r['recall@1']:.3f} | {r['recall@3']:.3f} |")
        lines.append("")
        lines.append("| off-topic | lang | n | refused |")
        lines.append("|---|---|---:|---:|")
        for lang, (refused, total) in sorted(self.offtopic.items()):
            lines.append(f"| off-topic | {lang} | {total} | {refused / (total or 1):.3f} |")
        if self.smalltalk:
            lines += ["", "| small talk | lang | n | right intent |", "|---|---|---:|---:|"]
            for lang, (right, total) in sorted(self.smalltalk.items()):
                lines.append(f"| small talk | {lang} | {total} | {right / (total or 1):.3f} |")
        ref = self.refusal()
        lines.append("")
        lines.append(
            f"Refusal precision {ref['precision']:.3f}, recall {ref['recall']:.3f}; "
            f"answerable questions refused: {ref['false_refusals']:.3f}; "
            f"real questions taken for small talk: {self.taken_for_small_talk / (self.real_questions or 1):.3f}; "
            f"median query time {self.median_ms:.1f} ms"
        )
        return "\n".join(lines)


def evaluate(responder: Responder | Retriever, questions: Iterable[EvalQuestion]) -> EvalReport:
    """Ask every question (bypassing the answer cache) and score the replies."""
    ask = retrieval_only(responder) if isinstance(responder, Retriever) else responder
    answerable: dict[str, RankStats] = {}
    followup: dict[str, RankStats] = {}
    in_conversation: dict[str, RankStats] = {}
    by_kind: dict[tuple[str, str], RankStats] = {}
    questions = list(questions)
    pool: dict[str, list[EvalQuestion]] = {}
    for q in questions:
        if q.type == "answerable":
            pool.setdefault(q.lang, []).append(q)
    offtopic: dict[str, tuple[int, int]] = {}
    smalltalk: dict[str, tuple[int, int]] = {}
    reasons: dict[str, int] = {}
    smalltalk_misses: list[str] = []
    offtopic_misses: list[str] = []
    refused_answerable = total_answerable = taken = real = 0
    timings: list[float] = []

    def answered(response: Response) -> bool:
        return response.answer is not None and response.answer.answered

    for q in questions:
        started = time.perf_counter()
        response = ask(q.question, context=q.context)
        timings.append((time.perf_counter() - started) * 1000)
        if q.type == "smalltalk":
            right, total = smalltalk.get(q.lang, (0, 0))
            smalltalk[q.lang] = (right + (response.intent == q.intent), total + 1)
            if response.intent != q.intent:
                smalltalk_misses.append(f"{q.id}: {q.question} -> {response.intent}, want {q.intent}")
            continue
        real += 1
        taken += response.intent != "question"
        if q.type == "offtopic":
            # Off-topic questions come right after an on-topic one in a chat, too: both count.
            before = pool[q.lang][len(offtopic) % len(pool[q.lang])] if pool.get(q.lang) else None
            chained = ask(q.question, context=before.question) if before else response
            refused, total = offtopic.get(q.lang, (0, 0))
            offtopic[q.lang] = (refused + (not answered(response)) + (not answered(chained)), total + 2)
            for r, where in ((response, "alone"), (chained, "after another question")):
                if not answered(r):
                    why = r.answer.reason if r.answer is not None and r.answer.reason else r.intent
                    reasons[why] = reasons.get(why, 0) + 1
                elif r.answer is not None and r.answer.hits:
                    got = r.answer.hits[0].passage.paragraph
                    offtopic_misses.append(f"{q.id}: {q.question} -> answered with ¶{got} ({where})")
            continue
        group = followup if q.type == "followup" else answerable
        group.setdefault(q.lang, RankStats()).add(q, response.answer)
        total_answerable += 1
        refused_answerable += not answered(response)
        if q.type == "answerable" and q.kind:
            by_kind.setdefault((q.lang, q.kind), RankStats()).add(q, response.answer)
        if q.type == "answerable":
            # In a chat every question has a predecessor; a standalone question must not
            # be dragged towards it. Ask it after an answerable question about another paragraph.
            others = [o for o in pool[q.lang] if not set(o.paragraphs) & set(q.paragraphs)]
            previous = others[len(others) // 2] if others else None
            if previous is not None:
                chained = ask(q.question, context=previous.question)
                in_conversation.setdefault(q.lang, RankStats()).add(q, chained.answer)
    return EvalReport(
        answerable=answerable,
        followup=followup,
        in_conversation=in_conversation,
        by_kind=by_kind,
        offtopic=offtopic,
        refused_answerable=refused_answerable,
        total_answerable=total_answerable,
        median_ms=statistics.median(timings) if timings else 0.0,
        smalltalk=smalltalk,
        taken_for_small_talk=taken,
        real_questions=real,
        reasons=reasons,
        smalltalk_misses=smalltalk_misses,
        offtopic_misses=offtopic_misses,
    )


__all__ = ["EvalQuestion", "EvalReport", "Responder", "Response", "evaluate", "load_questions", "retrieval_only"]
