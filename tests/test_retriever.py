"""Retrieval basics with the real model: ranking, refusal, highlight language, JSON shape, long questions.

Another engineer tunes the scoring, so these tests check what a user sees
(which paragraph comes first, whether the bot answers), never score values.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from embeddings.corpus import load_corpus
from embeddings.retriever import MAX_QUESTION_CHARS, RetrievalError, Retriever

pytestmark = pytest.mark.slow

DIRECT = [
    ("Who took part in the talks besides Shoigu and Lavrov?", 14),
    ("What did North Korea fire while Kim was in Russia?", 17),
    ("How did Kim travel to Russia?", 3),
    ("What did the White House warn?", 22),
    ("من شارك في المحادثات من الوزراء الروس؟", 14),
    ("ماذا أطلقت كوريا الشمالية أثناء وجود كيم في روسيا؟", 17),
    ("بماذا حذر البيت الأبيض؟", 22),
]
OFF_TOPIC = [
    "What is the capital of Australia?",
    "How do I bake a chocolate cake?",
    "ما هي عاصمة أستراليا؟",
    "كيف أطبخ الكبسة؟",
]
JSON_FIELDS = {"question", "language", "answered", "passages"}
PASSAGE_FIELDS = {"id", "doc", "paragraph", "score", "text", "translation", "highlight"}


@pytest.mark.parametrize(("question", "paragraph"), DIRECT)
def test_direct_question_ranks_its_paragraph_first_and_is_answered(e5_retriever, question: str, paragraph: int) -> None:
    answer = e5_retriever.ask(question)
    assert answer.hits[0].passage.paragraph == paragraph
    assert answer.answered is True
    assert answer.confidence in ("high", "medium")


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_question_is_not_answered(e5_retriever, question: str) -> None:
    answer = e5_retriever.ask(question)
    assert answer.answered is False
    assert answer.confidence == "low"


def test_hits_are_distinct_and_ordered_by_score(e5_retriever) -> None:
    answer = e5_retriever.ask("What did Putin say about military cooperation?", k=5)
    assert len(answer.hits) == 5
    assert len({h.passage.id for h in answer.hits}) == 5
    scores = [h.score for h in answer.hits]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("k", [1, 2, 7, 22])
def test_k_passages_returned(e5_retriever, k: int) -> None:
    assert len(e5_retriever.ask("Where is the Vostochny space base?", k=k).hits) == k


def test_english_question_highlights_an_english_sentence(e5_retriever) -> None:
    answer = e5_retriever.ask("What did North Korea fire while Kim was in Russia?")
    assert answer.language == "en"
    top = answer.hits[0]
    highlight = top.highlight(answer.language)
    assert highlight in top.passage.translation_sentences
    assert "ballistic missile" in highlight
    assert answer.to_json()["passages"][0]["highlight"] == highlight


def test_arabic_question_highlights_an_arabic_sentence(e5_retriever) -> None:
    answer = e5_retriever.ask("ماذا أطلقت كوريا الشمالية أثناء وجود كيم في روسيا؟")
    assert answer.language == "ar"
    top = answer.hits[0]
    assert top.highlight("ar") in top.passage.sentences
    assert all(top.highlight(lang) in top.passage.sentences_in(lang) for lang in ("ar", "en"))


def test_mixed_script_question_uses_dominant_language(e5_retriever) -> None:
    answer = e5_retriever.ask("What did بوتين say about the sanctions?")
    assert answer.language == "en"
    assert answer.hits[0].highlight("en") in answer.hits[0].passage.translation_sentences


def test_json_shape(e5_retriever) -> None:
    data = e5_retriever.ask("Who is Denis Manturov?", k=3).to_json()
    assert JSON_FIELDS <= set(data) <= JSON_FIELDS | {"confidence", "used_context"}
    assert data["question"] == "Who is Denis Manturov?" and data["language"] == "en"
    assert isinstance(data["answered"], bool)
    assert len(data["passages"]) == 3
    for passage in data["passages"]:
        assert set(passage) == PASSAGE_FIELDS
        assert isinstance(passage["paragraph"], int) and 1 <= passage["paragraph"] <= 22
        assert passage["id"] == f"{passage['doc']}:{passage['paragraph']}"
        assert isinstance(passage["score"], float)
        assert passage["text"] and passage["translation"]
        assert passage["highlight"] in passage["translation"]
    assert data["passages"][0]["paragraph"] == 14


@pytest.mark.parametrize("question", ["", "   ", "\n\t "])
def test_empty_question_is_an_error(e5_retriever, question: str) -> None:
    with pytest.raises(RetrievalError, match="empty"):
        e5_retriever.ask(question)


def test_long_question_is_answered_from_its_prefix(e5_retriever) -> None:
    prefix = "What did North Korea fire while Kim was in Russia? "
    question = prefix + "blah " * 20_000
    assert len(question) > 100_000
    started = time.perf_counter()
    answer = e5_retriever.ask(question)
    assert time.perf_counter() - started < 20
    assert answer.truncated is True
    assert answer.hits[0].passage.paragraph == 17
    assert len(e5_retriever.ask(prefix).hits) > 0 and e5_retriever.ask(prefix).truncated is False
    assert MAX_QUESTION_CHARS < 100_000


def test_long_question_without_spaces_does_not_crash(e5_retriever) -> None:
    answer = e5_retriever.ask("ك" * 100_000)
    assert answer.truncated is True and answer.language == "ar"
    assert answer.answered is False


def test_whitespace_is_collapsed_and_repeated_questions_agree(e5_retriever) -> None:
    one = e5_retriever.ask("  What did the White House\n warn?  ")
    two = e5_retriever.ask("What did the White House warn?")
    assert one.question == two.question == "What did the White House warn?"
    assert [h.passage.id for h in one.hits] == [h.passage.id for h in two.hits]


def test_new_article_dropped_into_seeds_is_searchable(seeds_copy: Path, tmp_data: Path, fake_embedder) -> None:
    # The fake embedder keeps this fast: the point is that the new file is indexed and found.
    (seeds_copy / "001_moon.txt").write_text(
        "A Japanese lander touched down on the Moon near the Shioli crater.\n\n"
        "Engineers said the lander's solar panels faced the wrong way after landing.",
        encoding="utf-8",
    )
    retriever = Retriever.open(seeds_dir=seeds_copy, index_dir=tmp_data / "index", embedder=fake_embedder)
    assert len(load_corpus(seeds_copy).passages) == 24
    answer = retriever.ask("Which way did the lander's solar panels face?")
    top = answer.hits[0].passage
    assert (top.doc, top.paragraph) == ("001_moon", 2)
    assert top.translation is None
    assert answer.to_json()["passages"][0]["translation"] is None
    assert answer.hits[0].highlight("en") == top.text


class _CountingEmbedder:
    """The real embedder, counting the texts it embeds as questions."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.texts: list[str] = []

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def embed_queries(self, texts):
        self.texts += list(texts)
        return self.inner.embed_queries(texts)


@pytest.mark.parametrize(
    ("question", "embeddings"),
    [
        ("أين التقى الزعيمان؟", 1),  # only the spelling changes when read (hamza, "?"): embedded once
        ("وش سووا بعد المحادثات؟", 2),  # dialect read as MSA: embedded as typed and as read
        ("Where did they meet?", 1),
    ],
)
def test_an_arabic_question_is_embedded_again_only_when_its_dialect_is_read(
    e5_retriever, question: str, embeddings: int
) -> None:
    counting = _CountingEmbedder(e5_retriever.embedder)
    retriever = replace(e5_retriever.with_config(e5_retriever.config), embedder=counting)
    retriever.ask(question, cache=False)
    assert len(counting.texts) == embeddings
