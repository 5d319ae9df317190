"""The follow-up cues of embeddings/data/follow_ups.json: what makes a question lean on the previous turn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embeddings.follow_ups import (
    FOLLOW_UPS_FILE,
    FollowUpsError,
    asks_what_came_next,
    is_elliptical,
    load_follow_ups,
    points_at_answer,
    quotes_answer,
    without_fillers,
)


@pytest.mark.parametrize(
    "question",
    [
        "مين قال هالحكي؟",  # Levantine هال + noun: "this talk"
        "مين اللي صرح بهاد الكلام؟",  # a preposition glued to the demonstrative
        "مين قال الكلام ده؟",  # Egyptian demonstrative after the noun
        "طب وبعدين؟",  # a filler before "and then"
        "ok and why?",
        "بالحرف شو قال؟",
        "what exactly did he say",
        "شكون قالها؟",
        "واليابان شو قالت؟",  # "and" glued to a definite noun
    ],
)
def test_dialect_and_filler_follow_ups_are_recognised(question: str) -> None:
    assert is_elliptical(question)


@pytest.mark.parametrize(
    "question",
    [
        "مين قال ان روسيا رح تحقق نصر كبير؟",  # names what was said: a question of its own
        "شو صار بهالقمة؟",  # "this summit" is the article's own subject
        "بس كيم ليش راح على روسيا؟",
        "طيب مين حضر المحادثات من الروس؟",
        "What is the capital of France?",
        "والد كيم مين هو؟",  # "father", not "and" + a noun
    ],
)
def test_standalone_questions_are_not_follow_ups(question: str) -> None:
    assert not is_elliptical(question)


def test_fillers_are_skipped_longest_first() -> None:
    assert without_fillers("طيب و ليش؟") == "ليش"  # normalised: no question mark
    assert without_fillers("okay so why") == "so why"


@pytest.mark.parametrize(
    ("question", "about_answer", "quotes", "next_"),
    [
        ("who said that?", True, False, False),
        ("مين اللي أعلن هالشي؟", True, False, False),
        ("بالحرف شو قال؟", False, True, False),
        ("word for word please", False, True, False),
        ("وماذا أضاف؟", False, False, True),
        ("what did he say next?", False, False, True),
        ("why did they meet?", False, False, False),
        ("وفين كان؟", True, False, False),
        ("ووين صار الاجتماع؟", True, False, False),
        # Names what was said: a question of its own about who said it, not about the answer shown.
        ("ومين قال إن هذا سبب مجيئهم؟", False, False, False),
    ],
)
def test_what_a_follow_up_points_at(question: str, about_answer: bool, quotes: bool, next_: bool) -> None:
    assert points_at_answer(question) is about_answer
    assert quotes_answer(question) is quotes
    assert asks_what_came_next(question) is next_


def _broken(tmp_path: Path, change) -> Path:
    data = json.loads(FOLLOW_UPS_FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "follow_ups.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_the_shipped_file_loads() -> None:
    cues = load_follow_ups()
    assert "هناك" in cues.anaphora and cues.fillers[0].count(" ") >= 1  # longest first


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("anaphora"), "anaphora: expected a non-empty list"),
        (lambda d: d["pointing_back"]["ar"].append("هذه المرة"), "folds away"),
        (lambda d: d["points_at_answer"]["en"].append("(who"), "invalid regular expression"),
        (lambda d: d["asks_next"].pop("ar"), r"no patterns for \['ar'\]"),
    ],
)
def test_a_broken_file_is_reported_with_its_path(tmp_path: Path, change, message: str) -> None:
    path = _broken(tmp_path, change)
    with pytest.raises(FollowUpsError, match=message) as caught:
        load_follow_ups(path)
    assert str(path) in str(caught.value)
