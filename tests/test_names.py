"""Whether the article gives the name a question asks for (embeddings/names.py), read from the capitals
of its English text; and that the retriever refuses such a question only when no top passage names it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embeddings.answer_types import asked_attribute, fact_types
from embeddings.names import holds_a_name, names_thing, thing_asked

REPO = Path(__file__).resolve().parent.parent
NOT_NAMES = fact_types()["name"].word_list("not_names")


@pytest.mark.parametrize(
    ("question", "thing"),
    [
        ("What's the name of the Chinese spokeswoman who commented?", ("chinese", "spokeswoman")),
        ("What's the name of North Korea's spy satellite?", ("north", "korea", "spy", "satellite")),
        ("what is Kim's train called?", ("kim", "train")),
        ("What is the Korean name for the Sea of Japan?", ()),  # not the name *of* something
        ("What did Kim call the summit?", ()),
    ],
)
def test_the_thing_whose_name_is_asked(question: str, thing: tuple[str, ...]) -> None:
    assert thing_asked(question) == thing


def test_the_articles_names_around_the_thing_are_not_the_thing() -> None:
    names = {"north", "korea", "kim"}
    assert thing_asked("What's the name of North Korea's spy satellite?", proper=names) == ("spy", "satellite")
    factory = "What's the name of the aircraft factory Kim was going to visit?"
    assert thing_asked(factory, proper=names) == ("aircraft", "factory")


@pytest.mark.parametrize(
    ("question", "paragraph", "given"),
    [
        ("What is the name of the space base?", 3, True),  # "the Vostochny space base"
        ("What's the name of the Russian industry minister?", 14, True),  # "Industry Minister Denis Manturov"
        ("What is the name of the institute Ahn heads?", 20, True),  # "the World Institute for ..."
        (
            "What's the name of the Chinese foreign ministry spokeswoman?",
            15,
            False,
        ),  # "a spokeswoman for Chinese diplomacy"
        ("What's the name of North Korea's spy satellite?", 18, False),  # "a military spy satellite"
        ("what is Kim's train called?", 3, False),  # "his armoured train"
        ("What's the name of the aircraft factory?", 8, False),  # "aviation equipment factories"
        ("What is the name of the space base?", 22, None),  # never mentions one
        ("What is the name of the base?", 3, True),  # "the Vostochny space base": a describing word between
        ("What is the name of the satellites?", 18, False),  # "help North Korea build satellites"
    ],
)
def test_a_name_is_given_when_it_stands_next_to_the_thing(seed_english, question, paragraph, given) -> None:
    assert names_thing(thing_asked(question), seed_english[paragraph], NOT_NAMES) is given


def test_a_sentence_holds_a_name_unless_its_capitals_are_weekdays_nationalities_or_titles(seed_english) -> None:
    spokeswoman = seed_english[15].split(". ")[
        0
    ]  # "For its part, a spokeswoman for Chinese diplomacy affirmed on Wednesday..."
    assert not holds_a_name(spokeswoman, NOT_NAMES)
    assert holds_a_name(seed_english[14], NOT_NAMES)  # Sergei Shoigu, Sergei Lavrov, Denis Manturov


@pytest.mark.parametrize(
    ("question", "answered"),
    [
        ("What's the name of the Chinese foreign ministry spokeswoman?", False),
        ("ما اسم المتحدثة باسم الخارجية الصينية؟", False),
        ("What's the name of North Korea's spy satellite?", False),
        ("What's the name of the Russian industry minister?", True),
        ("وزير الصناعة الروسي شو اسمه؟", True),
        ("شنو اسم القاعدة اللي تجولوا بيها؟", True),  # "the Vostochny space base": one word between
        # Arabic nouns read through the glossary: the English text names no factory, satellite or interpreter.
        ("شنو اسم مصنع الطيران اللي زاره كيم؟", False),
        ("شنو اسم قمر التجسس الكوري", False),
        ("شنو اسم المترجم اللي ترجم كلام كيم", False),
        ("شو اسم المتحدثة باسم الخارجية الصينية؟", False),  # dialect "شو" read as "ماذا" too
        ("whats the name of the interpreter who translated kim", False),  # no interpreter named
        # A person is asked for: the answering sentence must name someone the question does not.
        ("which white house official said north korea will pay the price", False),
        ("مين المسؤول في البيت الأبيض اللي قال إن كوريا الشمالية ستدفع الثمن؟", False),
        ("what are the names of the officials who accompanied kim", False),  # Kim is named, no official
        ("Who are the Russian officials at the talks?", True),  # Shoigu, Lavrov, Manturov
    ],
)
@pytest.mark.slow
def test_the_retriever_refuses_a_name_no_top_passage_gives(e5_retriever, question: str, answered: bool) -> None:
    assert asked_attribute(question) == "name"
    answer = e5_retriever.ask(question, k=3, cache=False)
    assert answer.answered is answered
    if not answered:
        assert answer.reason == "fact_not_stated" and answer.attribute == "name"


def test_no_answerable_question_of_the_sets_asks_a_name_the_article_does_not_give(seed_english) -> None:
    for name in ("questions.jsonl", "holdout.jsonl", "blind2.jsonl", "blind3.jsonl", "blind4.jsonl", "blind5.jsonl"):
        for line in (REPO / "eval" / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            thing = thing_asked(row["question"])
            if row["type"] == "answerable" and thing:
                assert any(names_thing(thing, seed_english[p], NOT_NAMES) for p in row["paragraphs"]), row["question"]
