"""Whether the article gives the count a "how many" question asks for (embeddings/counts.py), and
that the retriever refuses such a question only when no top passage gives it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embeddings.answer_types import asked_attribute, fact_types
from embeddings.counts import counted, gives_a_count, gives_count

REPO = Path(__file__).resolve().parent.parent
KIND = fact_types()["count"]
NUMBERS, SKIP = KIND.word_list("number_words"), KIND.word_list("not_listed")
EVENTS = KIND.word_list("event_words")


@pytest.mark.parametrize(
    ("question", "thing"),
    [
        ("How many ballistic missiles did Japan say were fired?", ("ballistic", "missile")),
        ("how many carriages does kim's armoured train have", ("carriage",)),
        ("How many times did Pyongyang fail?", ("time",)),
        ("What is the number of factories he will visit?", ("factory",)),
        ("Where did they meet?", ()),
    ],
)
def test_what_a_question_counts(question: str, thing: tuple[str, ...]) -> None:
    assert counted(question) == thing


@pytest.mark.parametrize(
    ("question", "paragraph", "given"),
    [
        ("How many ballistic missiles did Japan say were fired?", 17, True),  # "two ballistic missiles"
        ("How many times did Pyongyang fail to put a spy satellite in orbit?", 18, True),  # "failed twice"
        ("How many hours did the talks last?", 4, True),  # "nearly two hours"
        ("How many ministers took part in the talks?", 14, True),  # three Ministers listed
        ("How many officials came with Kim?", 16, False),  # "senior military officials": no number
        ("How many shells does North Korea have in its stockpile?", 20, False),
        ("how many carriages does kim's armoured train have", 3, None),  # never mentions carriages
        # The number must stand near the thing: "two hours of formal talks with their delegations".
        ("How many delegations took part in the talks?", 4, False),
        # "failed twice" counts attempts, not satellites.
        ("How many satellites does North Korea have?", 18, False),
        ("How many failed launches has North Korea had?", 18, True),
    ],
)
def test_a_count_is_a_number_in_a_sentence_about_the_thing_or_a_list(seed_english, question, paragraph, given) -> None:
    assert gives_count(counted(question), seed_english[paragraph], NUMBERS, SKIP, EVENTS) is given


def test_the_two_leaders_a_year_or_covid_19_are_no_count(seed_english) -> None:
    assert not gives_a_count(seed_english[3], NUMBERS, SKIP)  # "the two leaders"
    assert not gives_a_count(seed_english[11], NUMBERS, SKIP)  # "in 2019"
    assert not gives_a_count(seed_english[16], NUMBERS, SKIP)  # "Covid-19"
    assert gives_a_count(seed_english[17], NUMBERS, SKIP)  # "two ballistic missiles"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "answered"),
    [
        ("How many carriages does Kim's armoured train have?", False),
        ("كم عربة بقطار كيم المصفح؟", False),
        ("How many ships took part in the navy display?", False),
        ("كم سفينة شاركت في العرض البحري بفلاديفوستوك؟", False),
        ("How many ballistic missiles did Japan say were fired?", True),
        ("كم صاروخاً قالت اليابان إنه أُطلق؟", True),
        ("How many ministers took part in the talks?", True),
        ("كم عدد الوزراء الروس الذين حضروا المحادثات؟", True),
        ("كم مرة فشلت بيونغ يانغ في إطلاق قمر تجسس؟", True),
    ],
)
def test_the_retriever_refuses_a_count_no_top_passage_gives(e5_retriever, question: str, answered: bool) -> None:
    assert asked_attribute(question) == "count"
    answer = e5_retriever.ask(question, k=3, cache=False)
    assert answer.answered is answered
    if not answered:
        assert answer.attribute == "count"


def test_every_answerable_how_many_of_the_sets_is_given_by_its_paragraph(seed_english) -> None:
    for name in ("questions.jsonl", "holdout.jsonl", "blind2.jsonl", "blind3.jsonl", "blind4.jsonl", "blind5.jsonl"):
        for line in (REPO / "eval" / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            thing = counted(row["question"]) if row["lang"] == "en" else ()
            if row["type"] == "answerable" and thing:
                said = [gives_count(thing, seed_english[p], NUMBERS, SKIP, EVENTS) for p in row["paragraphs"]]
                assert any(said) or None in said, row["question"]
