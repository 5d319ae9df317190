"""`summit-bot eval --ablation` switches one technique on per row, from plain dense retrieval to the shipped setup."""

from __future__ import annotations

from dataclasses import fields
from itertools import pairwise

from embeddings.ablation import STEPS
from embeddings.retriever import RetrievalConfig


def test_rows_run_from_plain_dense_retrieval_to_the_shipped_configuration() -> None:
    first, last = STEPS[0][1], STEPS[-1][1]
    assert last == RetrievalConfig()
    assert not (first.translation_views or first.sentence_scoring or first.lexical or first.spelling)
    assert not (first.answer_type_weight or first.attribute_check or first.follow_ups)


def test_each_row_changes_something_over_the_row_above() -> None:
    for (_, before), (name, after) in pairwise(STEPS):
        changed = [f.name for f in fields(RetrievalConfig) if getattr(before, f.name) != getattr(after, f.name)]
        assert changed, name
