"""The intents data file and the rules that read it (no model needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.intents import INTENTS_FILE, IntentClassifier, IntentDataError, load_all, load_data

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
        ("hi bot, how are you?", "greeting"),
        ("ازيك عامل ايه", "greeting"),
        ("من وين هالخبر؟", "help"),
        ("how can you help me?", "help"),
        ("كيف ممكن تساعدني؟", "help"),
        ("e5tesar el 5abar pls", "summary"),
        ("bslama", "goodbye"),
        ("gotta go, bye", "goodbye"),
        ("ok gotta go, cya", "goodbye"),
        ("talk to you tomorrow", "goodbye"),
        ("اشوفك بعدين", "goodbye"),
        ("l'article 3la chnou? lakhas liya", "summary"),
        ("ok cya", "goodbye"),
        ("eh el khabar da?", "summary"),
        ("ttyl", "goodbye"),
        ("ok that's all, see ya", "goodbye"),
        ("امتى نشروا المقال؟", "help"),
        ("شنو الفكرة الرئيسية", "summary"),
        ("el maqal 3la ch?", "summary"),
        ("من وين هالخبر؟ شو المصدر", "help"),  # two sentences, one intent
        ("اهلا، انت مين؟", "help"),  # a greeting opening a message is only an opener
        ("salam, yalla bye", "goodbye"),
        ("خلص باي", "goodbye"),  # a filler around a phrase
        ("bye yalla", "goodbye"),
        ("يلا سلام", "goodbye"),  # the whole phrase before the phrase without its filler
        ("salam labas?", "greeting"),
        ("الخبر هاد من وين؟", "help"),
        ("امتى انكتب هالمقال", "help"),
        ("الخبر هذا متى انكتب", "help"),
        ("شنو مصدر هالخبر", "help"),
        ("enta shu bte2dar ta3mel?", "help"),
        ("ezay asta5dem el bot", "help"),
        ("2olli bel mo5tasar shu sar", "summary"),
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
        "كيف حال العلاقات بين البلدين؟",
        "how are relations between Russia and North Korea?",
        "وين التقوا؟ ومتى؟",
        "thanks! where did they meet?",
        "اهلا، وين التقوا؟",
        "salam, shu 2al putin?",
        "شو مصدر القذائف اللي بدها ياها روسيا؟",
        "امتى انطلق القطار من بيونغ يانغ؟",
    ],
)
def test_rules_leave_real_questions_alone(rules: IntentClassifier, question: str) -> None:
    assert rules.rule(question) is None


def test_no_question_of_the_project_sets_is_small_talk_by_rule(rules: IntentClassifier) -> None:
    for name in ("questions.jsonl", "holdout.jsonl", "blind2.jsonl", "blind3.jsonl", "blind4.jsonl", "blind5.jsonl"):
        for line in (REPO / "eval" / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["type"] != "smalltalk":
                assert rules.rule(row["question"]) is None, row["question"]


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("وكيف وصل لهناك؟", True),  # glued to "and"
        ("اعطيني وصفة كنافة", True),  # a request
        ("Who else was there?", True),
        ("لقاء 2019 وين", True),
        ("مشكور ما قصرت", False),  # "ما" here is a negation
        ("شكرا من القلب", False),  # "من" here is "from"
        ("thanks, that was helpful", False),
        ("see you later", False),
    ],
)
def test_question_words_keep_questions_from_the_social_intents(text: str, asks: bool) -> None:
    specs, vocatives, asking, _ = load_all()
    classifier = IntentClassifier(specs, np.zeros((0, 4), dtype=np.float32), vocatives, asking)
    assert classifier.asks(text) is asks


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("👍", "thanks"),
        ("👍🏽👍🏽", "thanks"),
        ("❤️", "thanks"),
        ("👋", "greeting"),
        ("🤔", "help"),
        ("?", "help"),
        ("🦒", "greeting"),
        ("✌️ !", "goodbye"),
    ],
)
def test_a_message_of_emoji_only_is_read_by_its_emoji(text: str, intent: str) -> None:
    specs, vocatives, asking, emoji = load_all()
    classifier = IntentClassifier(specs, np.zeros((0, 4), dtype=np.float32), vocatives, asking, emoji)
    guess = classifier.rule(text)
    assert guess is not None and guess.intent == intent
    assert classifier.rule("👍 where did they meet?") is None  # words after an emoji are a question


def test_a_broken_data_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "intents.json"
    bad.write_text('{"intents": {"greeting": {"exact": []}}}', encoding="utf-8")
    with pytest.raises(IntentDataError, match=r"intents\.json"):
        load_data(bad)
