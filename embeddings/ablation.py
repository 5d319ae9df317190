"""``summit-bot eval --ablation``: each retrieval technique switched on in turn, one table."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

from .evaluation import EvalQuestion, Responder, evaluate, retrieval_only
from .retriever import RetrievalConfig, Retriever

_FULL = RetrievalConfig()
_PLAIN = replace(
    _FULL,
    translation_views=False,
    sentence_scoring=False,
    lexical=False,
    answer_type_weight=0.0,
    spelling=False,
    tidy=False,
    attribute_check=False,
    entity_check=False,
    follow_ups=False,
    arabizi=False,
    dialect=False,
    dialect_vector=False,
    editor_questions=False,
    question_weight=0.0,
    points_at_answer=False,
    chain_weight=0.0,
    shown_penalty=0.0,
)

# Cumulative: each row switches one technique on over the row above it; the last row is the
# shipped configuration (tests/test_ablation.py checks that it equals RetrievalConfig()).
_CHANGES: list[tuple[str, dict[str, object]]] = [
    ("plain dense (original paragraphs)", {}),
    ("+ question-language view", {"translation_views": True, "cross_view_weight": 0.0}),
    ("+ other-language view mixed in", {"cross_view_weight": _FULL.cross_view_weight}),
    ("+ best-sentence scoring", {"sentence_scoring": True}),
    ("+ BM25 fusion", {"lexical": True}),
    ("+ answer-type bonus", {"answer_type_weight": _FULL.answer_type_weight}),
    ("+ corpus spelling of names", {"spelling": True}),
    ("+ question tidied (one '?', no emoji, the article's capitals)", {"tidy": True}),
    ("+ asked-for fact check (age, birth...)", {"attribute_check": True}),
    ("+ follow-up context", {"follow_ups": True}),
    (
        "+ follow-ups read against the answer shown",
        {"points_at_answer": True, "chain_weight": _FULL.chain_weight, "shown_penalty": _FULL.shown_penalty},
    ),
    ("+ Arabizi transliterated", {"arabizi": True}),
    ("+ dialect words matched as MSA", {"dialect": True}),
    ("+ Arabic embedded as read too (dialect as MSA)", {"dialect_vector": True}),
    ("+ editor questions in BM25 (document expansion)", {"editor_questions": True}),
    ("+ editor questions, dense (query to question)", {"question_weight": _FULL.question_weight}),
    ("+ entities the article never mentions (Zelensky...)", {"entity_check": True}),
]


def _cumulative() -> list[tuple[str, RetrievalConfig]]:
    steps: list[tuple[str, RetrievalConfig]] = []
    config = _PLAIN
    for name, change in _CHANGES:
        config = replace(config, **change)  # type: ignore[arg-type]
        steps.append((name, config))
    return steps


STEPS = _cumulative()


def run_ablation(
    retriever: Retriever,
    questions: list[EvalQuestion],
    *,
    as_json: bool = False,
    responder: Callable[[Retriever], Responder] = retrieval_only,
) -> str:
    """Evaluate every step and format the ablation table (Markdown) or JSON.

    ``responder`` wraps each step's retriever (the bot passes its conversation engine).
    """
    rows = []
    for name, config in STEPS:
        report = evaluate(responder(retriever.with_config(config)), questions).to_json()
        rows.append({"step": name, **report})
    if as_json:
        return json.dumps(rows, ensure_ascii=False, indent=2)
    lines = [
        "| step | R@1 ar | R@3 ar | R@1 en | R@3 en | follow-up R@1 ar/en | off-topic refused "
        "| answerable refused | median ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        a, f, ref = row["answerable"], row["followup"], row["refusal"]
        lines.append(
            f"| {row['step']} | {a['ar']['recall@1']:.3f} | {a['ar']['recall@3']:.3f} "
            f"| {a['en']['recall@1']:.3f} | {a['en']['recall@3']:.3f} "
            f"| {f['ar']['recall@1']:.3f} / {f['en']['recall@1']:.3f} | {ref['recall']:.3f} "
            f"| {ref['false_refusals']:.3f} | {row['median_ms']:.1f} |"
        )
    return "\n".join(lines)
