"""Who speaks in the article (embeddings/speakers.py): "What did Lavrov say?" is refused because the
article names Lavrov but never quotes him, in English and in Arabic; speakers are still answered."""

from __future__ import annotations

from pathlib import Path

import pytest

from embeddings.answer_types import asked_attribute, fact_types
from embeddings.corpus import load_corpus
from embeddings.speakers import Speakers

REPO = Path(__file__).resolve().parent.parent
KIND = fact_types()["said"]


@pytest.fixture(scope="module")
def speakers() -> Speakers:
    english = [p.views()["en"] for p in load_corpus(REPO / "seeds").passages]
    arabic = {"lavrov": "لافروف", "putin": "بوتين"}
    return Speakers.from_texts(
        english,
        not_names=fact_types()["name"].word_list("not_names"),
        speech_words=KIND.word_list("speech_words"),
        arabic_spelling=arabic.get,
    )


def test_people_are_two_capitalised_words_and_speakers_speak(speakers) -> None:
    assert {"lavrov", "shoigu", "manturov", "putin", "kim", "ahn"} <= speakers.people
    assert {"putin", "kim", "ahn"} <= speakers.speaking  # "Putin said", "Kim told", "Ahn Chan-il ... told AFP"
    assert not {"lavrov", "shoigu", "manturov"} & speakers.speaking  # they only "took part in the talks"
    assert "russian" not in speakers.people and "north" not in speakers.people  # nationalities, not people
    assert {"لافروف", "بوتين"} <= speakers.people and "بوتين" in speakers.speaking


@pytest.mark.parametrize(
    ("question", "silent"),
    [
        ("What did Lavrov say during the talks?", "lavrov"),
        ("What was Lavrov's reaction?", "lavrov"),
        ("ماذا قال لافروف؟", "لافروف"),
        ("وش قال للافروف", "لافروف"),  # a clitic in front
        ("What did Putin say about the sanctions?", None),
        ("شو قال بوتين عن العقوبات؟", None),
        ("What did the spokeswoman say?", None),  # nobody the article knows as a person
        ("What does Washington think about the summit?", None),  # a place, not a person: not judged
    ],
)
def test_a_person_the_article_never_quotes(speakers, question: str, silent: str | None) -> None:
    assert speakers.silent(question) == silent


@pytest.mark.parametrize(
    "question", ["what did lavrov say during the talks", "ماذا قال لافروف؟", "How did Shoigu react?"]
)
def test_what_someone_said_is_asked_for(question: str) -> None:
    assert asked_attribute(question) == "said"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "answered"),
    [
        ("what did lavrov say during the talks", False),
        ("ماذا قال لافروف في المحادثات؟", False),
        ("What does Denis Manturov personally think about North Korea?", False),
        ("What did Putin say about the sanctions?", True),
        ("شو قال بوتين عن العقوبات؟", True),
        ("What did Ahn Chan-il tell AFP?", True),
    ],
)
def test_the_retriever_refuses_what_a_silent_person_said(e5_retriever, question: str, answered: bool) -> None:
    answer = e5_retriever.ask(question, k=3, cache=False)
    assert answer.answered is answered
    if not answered:
        assert answer.reason == "fact_not_stated" and answer.attribute == "said"


def test_someone_else_is_a_name_the_question_does_not_hold(speakers) -> None:
    not_names = fact_types()["name"].word_list("not_names")
    sentence = "Having left on Sunday evening, Kim Jong Un arrived accompanied by senior military officials."
    assert not speakers.names_someone_else(sentence, "names of the officials who came with Kim", not_names=not_names)
    assert speakers.names_someone_else(sentence, "which official came with him", not_names=not_names)
    warned = "Last week, the White House warned that North Korea will pay the price."
    assert not speakers.names_someone_else(warned, "which official warned", not_names=not_names)  # an institution
