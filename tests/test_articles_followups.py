"""Several articles at once: a follow-up stays with the article of the answer shown unless it names another."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from embeddings.retriever import RetrievalConfig, Retriever

LIBRARY = [
    "The central library in Leeds reopened on Saturday after a year of repairs to its roof.",
    "The repairs cost 4.2 million pounds, paid by the council and a lottery grant.",
    "Two thousand visitors came on the first day.",
]
BRIDGE = [
    "The harbour bridge in Aberdeen closes on Monday for six weeks of painting.",
    "The painting work will cost 800,000 pounds, the council said.",
    "Buses will use the coast road meanwhile.",
]


@pytest.fixture
def two_articles(tmp_path: Path, fake_embedder) -> Retriever:
    seeds = tmp_path / "two"
    seeds.mkdir()
    for doc, title, paragraphs in (
        ("library", "Leeds central library reopens", LIBRARY),
        ("bridge", "Aberdeen harbour bridge closes", BRIDGE),
    ):
        (seeds / f"{doc}.txt").write_text("\n\n".join(paragraphs), encoding="utf-8")
        (seeds / f"{doc}.meta.json").write_text(f'{{"title": {{"en": "{title}"}}}}', encoding="utf-8")
    return Retriever.open(seeds_dir=seeds, index_dir=tmp_path / "index", embedder=fake_embedder)


FOLLOW_UP = "And what did the council pay?"


def test_a_follow_up_stays_with_the_article_shown(two_articles: Retriever) -> None:
    shown = "bridge:1"
    off = two_articles.with_config(replace(two_articles.config, stay_with_article=False))
    assert off.ask(FOLLOW_UP, context="When does the bridge close?", shown=shown).hits[0].passage.doc == "library"
    answer = two_articles.ask(FOLLOW_UP, context="When does the bridge close?", shown=shown)
    assert answer.used_context and answer.hits[0].passage.id == "bridge:2"


def test_a_follow_up_that_names_another_article_goes_there(two_articles: Retriever) -> None:
    answer = two_articles.ask("And what about Leeds?", context="When does the bridge close?", shown="bridge:1")
    assert answer.hits[0].passage.doc == "library"


def test_a_standalone_question_is_not_pulled_to_the_shown_article(two_articles: Retriever) -> None:
    answer = two_articles.ask(
        "How much did the library repairs cost?", context="When does the bridge close?", shown="bridge:1"
    )
    assert answer.hits[0].passage.id == "library:2"


def test_the_switch_is_in_the_config() -> None:
    assert RetrievalConfig().stay_with_article is True
