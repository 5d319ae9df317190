"""``summit-bot eval --ablation``: each retrieval technique switched on in turn, one table."""

from __future__ import annotations

import json
from dataclasses import replace

from .evaluation import EvalQuestion, evaluate
from .retriever import RetrievalConfig, Retriever

_FULL = RetrievalConfig()
_PLAIN = replace(
    _FULL,
    translation_views=False,
    sentence_scoring=False,
    lexical=False,
    spelling=False,
    attribute_check=False,
    follow_ups=False,
)
_NO_FOLLOW_UPS = replace(_FULL, follow_ups=False)

# Cumulative: each row adds one technique to the row above it.
STEPS: list[tuple[str, RetrievalConfig]] = [
    ("plain dense (original paragraphs)", _PLAIN),
    ("+ question-language view", replace(_PLAIN, translation_views=True, cross_view_weight=0.0)),
    ("+ other-language view mixed in", replace(_PLAIN, translation_views=True)),
    ("+ best-sentence scoring", replace(_PLAIN, translation_views=True, sentence_scoring=True)),
    ("+ BM25 fusion", replace(_NO_FOLLOW_UPS, answer_type_weight=0.0, spelling=False, attribute_check=False)),
    ("+ answer-type bonus", replace(_NO_FOLLOW_UPS, spelling=False, attribute_check=False)),
    ("+ corpus spelling of names", replace(_NO_FOLLOW_UPS, attribute_check=False)),
    ("+ asked-for fact check (age, birth...)", _NO_FOLLOW_UPS),
    ("+ follow-up context (full)", _FULL),
]


def run_ablation(retriever: Retriever, questions: list[EvalQuestion], *, as_json: bool = False) -> str:
    """Evaluate every step and format the ablation table (Markdown) or JSON."""
    rows = []
    for name, config in STEPS:
        report = evaluate(retriever.with_config(config), questions).to_json()
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
