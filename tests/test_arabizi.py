"""Arabizi (Arabic typed in Latin letters and digits) is recognised and written in Arabic script."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings import arabizi
from embeddings.arabizi import ArabiziDataError, is_arabizi, load_arabizi, to_arabic
from embeddings.dialect import to_msa
from embeddings.normalize import normalise

REPO = Path(__file__).resolve().parent.parent


def _english_eval_questions() -> list[str]:
    questions = []
    for name in ("questions.jsonl", "holdout.jsonl", "blind2.jsonl"):
        for line in (REPO / "eval" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                if record["lang"] == "en":
                    questions.append(record["question"])
    return questions


def _english_seed_lines() -> list[str]:
    return [line for path in sorted((REPO / "seeds").glob("*.en.txt")) for line in path.read_text().splitlines()]


# --- the data file ---------------------------------------------------------------------------


def test_data_file_has_the_letter_map_and_vowels() -> None:
    data = load_arabizi()
    for unit in ("sh", "kh", "gh", "th", "dh", "ch", "2", "3", "5", "7", "9", "3'", "7'", "6", "8"):
        assert unit in data.letters, unit
    assert data.letters["3"] == "ع" and data.letters["7"] == "ح" and data.letters["5"] == "خ"
    assert data.letters["3'"] == "غ" and data.letters["7'"] == "خ"
    for cluster in ("ou", "ee", "oo", "aa"):
        assert cluster in data.vowels["medial"], cluster


@pytest.mark.parametrize(
    "word",
    """meen min mnu shkoun eh eih shu shou esh wesh shino leh lesh lich fein wen wein fin ezay izzay kifash
    shlon keef emta imta meta kam 2addesh shkad 3ala 3an ma3 wayya keda howa hiya homa elli illi mesh mish
    fi men ya3ni""".split(),
)
def test_dictionary_has_question_and_function_words(word: str) -> None:
    assert word in load_arabizi().words


@pytest.mark.parametrize(("word", "arabic"), [("el", "ال"), ("il", "ال"), ("w", "و"), ("we", "و")])
def test_glued_prefix_words(word: str, arabic: str) -> None:
    assert load_arabizi().prefixes[word] == arabic


@pytest.mark.parametrize(
    ("names", "arabic"),
    [
        ("kim", "كيم"),
        ("putin bootin boutin", "بوتين"),
        ("rusya rusia russia", "روسيا"),
        ("korea kurya", "كوريا"),
        ("moscow mosko", "موسكو"),
        ("ukraine okrania ukrania", "أوكرانيا"),
        ("amrika america", "أمريكا"),
        ("shoigu shoygu", "شويغو"),
        ("lavrov", "لافروف"),
    ],
)
def test_names_of_people_and_places(names: str, arabic: str) -> None:
    for name in names.split():
        assert load_arabizi().names[name] == arabic


def test_word_groups_and_lists_are_filled() -> None:
    data = load_arabizi()
    assert set(data.kinds.values()) == {"question", "function", "verbs", "nouns", "chat"}
    assert len(data.words) > 300 and len(data.names) > 80 and len(data.english) > 250
    assert {"hi", "thanks", "ok", "bye", "who", "are", "you"} <= data.english


def test_a_malformed_data_file_is_reported_with_its_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "arabizi.json"
    monkeypatch.setattr(arabizi, "_data_path", lambda: bad)
    load_arabizi.cache_clear()
    try:
        bad.write_text('{"letters": {"sh": "ش"}}', encoding="utf-8")
        with pytest.raises(ArabiziDataError, match=r"arabizi\.json: missing sections"):
            load_arabizi()
        bad.write_text("{not json", encoding="utf-8")
        with pytest.raises(ArabiziDataError, match=r"arabizi\.json: not valid UTF-8 JSON"):
            load_arabizi()
    finally:
        load_arabizi.cache_clear()


# --- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "meen 7ader el egtema3?",
        "leh kim ra7 rusya",
        "eh elli 2alo putin 3an el 3o2obat",
        "fein et2abalo",
        "shu 2al kim",
        "wen sar el lqa2",
        "salam",
        "shokran",
        "ahlan",
        "kifak",
        "Meen kan ma3 Kim?",
        "ezay kim wesel rusya",
        "howa kim hena leh",
        "w eh elli 2aloh",
        "kam marra et2abalo",
        "shlon sar el egtima3",
    ],
)
def test_arabizi_is_recognised(text: str) -> None:
    assert is_arabizi(text)


@pytest.mark.parametrize(
    "text",
    [
        "hi",
        "thanks!",
        "ok bye",
        "who are you",
        "tldr",
        "",
        "?!",
        "2019",
        "Putin Kim Moscow",
        "Who won the 2018 World Cup?",
        "See you at 5pm on the 3rd",
        "What did the G7 say about co2?",
        "see u 2day",
        "ماذا قال بوتين؟",
        "meen قال ماذا عن العقوبات؟",
    ],
)
def test_other_text_is_not_arabizi(text: str) -> None:
    assert not is_arabizi(text)


def test_no_english_eval_question_is_arabizi() -> None:
    questions = _english_eval_questions()
    assert len(questions) > 200
    assert [q for q in questions if is_arabizi(q)] == []


def test_no_line_of_the_english_article_is_arabizi() -> None:
    lines = _english_seed_lines()
    assert lines
    assert [line for line in lines if is_arabizi(line)] == []


# --- transliteration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first", "contains"),
    [
        ("meen 7ader el egtema3?", {"من", "مين"}, ["الاجتماع", "؟"]),
        ("leh kim ra7 rusya", {"ليه", "ليش", "لماذا"}, ["كيم", "راح", "روسيا"]),
        ("eh elli 2alo putin 3an el 3o2obat", {"ايه", "إيه"}, ["اللي", "بوتين", "عن", "العقوبات"]),
        ("fein et2abalo", {"فين", "وين", "أين"}, []),
        ("shu 2al kim", {"شو"}, ["قال", "كيم"]),
        ("wen sar el lqa2", {"وين"}, ["اللقاء"]),
        ("imta et2abalo 2abl keda?", {"امتى", "متى"}, ["قبل", "كده"]),
        ("shkad sa3a et2abalo?", {"شكد"}, []),
        ("ezay kim safar le rusya?", {"ازاي"}, ["لروسيا"]),
        ("3lash kim mshe l moscow", {"علاش"}, ["لموسكو"]),
        ("kifash t3awnu m3a korea", {"كيفاش"}, ["مع", "كوريا"]),
    ],
)
def test_examples_are_written_in_arabic(text: str, first: set[str], contains: list[str]) -> None:
    arabic = to_arabic(text)
    assert arabic.split()[0] in first, arabic
    for word in contains:
        assert word in arabic, (word, arabic)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("el egtema3", "الاجتماع"),
        ("el-egtema3", "الاجتماع"),
        ("elegtema3", "الاجتماع"),
        ("w el 7arb", "والحرب"),
        ("wel7arb", "والحرب"),
        ("fel 2emma", "في القمة"),
        ("w meen", "ومين"),
        ("errusi", "الروسي"),
        ("essa3a", "الساعة"),
        ("l wazir", "الوزير"),
        ("ra7 l moscow", "راح لموسكو"),
        ("l meen", "لمين"),
    ],
)
def test_article_and_conjunction_are_glued(text: str, expected: str) -> None:
    assert to_arabic(text) == expected


@pytest.mark.parametrize(
    ("word", "arabic"),
    [("egtema3", "اجتماع"), ("7arb", "حرب"), ("sharq", "شرق"), ("marra", "مرة"), ("ta2reer", "تقرير")],
)
def test_words_outside_the_dictionary_go_through_the_letter_map(word: str, arabic: str) -> None:
    data = load_arabizi()
    assert arabizi._spell(word, data) == arabic


def test_punctuation_numbers_and_arabic_words_are_kept() -> None:
    assert to_arabic("kim fi 2019, w putin?") == "كيم في 2019، وبوتين؟"
    assert to_arabic("meen حضر؟") == "مين حضر؟"
    assert to_arabic("") == ""


def test_arabizi_then_dialect_gives_msa_question_words() -> None:
    first, *_, last = to_msa(to_arabic("meen 7ader el egtema3?")).split()
    assert (first, last) == ("من", "الاجتماع")
    assert to_msa(to_arabic("leh kim ra7 rusya")) == normalise("لماذا كيم ذهب روسيا")
    assert to_msa(to_arabic("fein et2abalo")) == normalise("أين التقوا")
    assert to_msa(to_arabic("shu 2al kim")) == normalise("ماذا قال كيم")


@given(st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_never_raises_on_arbitrary_text(text: str) -> None:
    assert isinstance(to_arabic(text), str)
    assert isinstance(is_arabizi(text), bool)


_ARABIZI_WORDS = st.sampled_from(
    ["meen", "el", "w", "3'", "7'", "2", "egtema3", "ra7", "kim", "2al", "-", "?", "ou", "ee", "é", "İ", "ß", "9"]
)


@given(st.lists(_ARABIZI_WORDS | st.text(alphabet="aeiou23579'shkw -?,", max_size=8), max_size=8))
@settings(max_examples=300, deadline=None)
def test_never_raises_on_arabizi_like_text(words: list[str]) -> None:
    text = " ".join(words)
    assert isinstance(to_arabic(text), str)
    assert isinstance(is_arabizi(text), bool)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    yield
    load_arabizi.cache_clear()
