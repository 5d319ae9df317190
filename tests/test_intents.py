"""The intents data file and the rules that read it (no model needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.intents import INTENTS_FILE, IntentClassifier, IntentDataError, load_data

REPO = Path(__file__).resolve().parents[1]
INTENTS = ("greeting", "thanks", "goodbye", "help", "summary")


@pytest.fixture(scope="module")
def rules() -> IntentClassifier:
    specs, vocatives = load_data()
    return IntentClassifier(specs, np.zeros((0, 4), dtype=np.float32), vocatives)


def test_data_file_has_every_intent_in_both_languages() -> None:
    data = json.loads(INTENTS_FILE.read_text(encoding="utf-8"))["intents"]
    assert tuple(data) == INTENTS
    for name, spec in data.items():
        for language in ("ar", "en"):
            assert spec["exact"][language], (name, language)
            assert len(spec["examples"][language]) >= 5, (name, language)
        assert 0.8 < spec["min_similarity"] < 1.0


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hello", "greeting"),
        ("Hi there!", "greeting"),
        ("salam", "greeting"),
        ("السلام عليكم", "greeting"),
        ("ahlan ya bot", "greeting"),
        ("thanks!!!", "thanks"),
        ("شكرا جزيلا", "thanks"),
        ("مشكور يا غالي", "thanks"),
        ("shokran", "thanks"),
        ("ok bye", "goodbye"),
        ("مع السلامة", "goodbye"),
        ("who are you?", "help"),
        ("What can I ask?", "help"),
        ("ما مصدر المقال؟", "help"),
        ("When was this article published?", "help"),
        ("مين انت", "help"),
        ("summarize the article", "summary"),
        ("What is this article about?", "summary"),
        ("tl;dr", "summary"),
        ("لخص لي المقال", "summary"),
        ("شو القصة؟", "summary"),
        ("عن ماذا يتحدث المقال؟", "summary"),
    ],
)
def test_rules_recognise_small_talk(rules: IntentClassifier, text: str, intent: str) -> None:
    guess = rules.rule(text)
    assert guess is not None and guess.intent == intent


@pytest.mark.parametrize(
    "question",
    [
        "What is the source of the weapons Russia wants?",
        "ما مصدر الأسلحة التي تريدها روسيا؟",
        "What does the article say about the sanctions?",
        "When was the previous summit?",
        "Who said that?",
        "Hi, where did Kim and Putin meet?",
    ],
)
def test_rules_leave_real_questions_alone(rules: IntentClassifier, question: str) -> None:
    assert rules.rule(question) is None


def test_no_question_of_the_project_sets_is_small_talk_by_rule(rules: IntentClassifier) -> None:
    for name in ("questions.jsonl", "holdout.jsonl", "blind2.jsonl", "blind3.jsonl"):
        for line in (REPO / "eval" / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["type"] != "smalltalk":
                assert rules.rule(row["question"]) is None, row["question"]


def test_a_broken_data_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "intents.json"
    bad.write_text('{"intents": {"greeting": {"exact": []}}}', encoding="utf-8")
    with pytest.raises(IntentDataError, match=r"intents\.json"):
        load_data(bad)
