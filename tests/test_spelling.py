"""Question words spelled differently from the article are read as the article spells them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from embeddings.spelling import Speller

ARTICLE = [
    "Russian Defence Minister Sergei Shoigu took part in the talks at the Vostochny space base.",
    "Kim Jong Un visited Vladivostok in 2019. Pyongyang remains isolated.",
    "وشارك وزير الدفاع الروسي سيرغي شويغو في المحادثات في قاعدة فوستوشني الفضائية.",
    "زار كيم جونغ أون فلاديفوستوك عام 2019. بيونغ يانغ معزولة.",
]


@pytest.fixture(scope="module")
def speller() -> Speller:
    return Speller.from_texts(ARTICLE)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Was Shoygu at the talks?", "Was Shoigu at the talks?"),
        ("what happened at the Vostochniy cosmodrome", "what happened at the Vostochny cosmodrome"),
        ("Kim's trip to vladivostock", "Kim's trip to Vladivostok"),
        ("a toast to pyong yang", "a toast to Pyongyang"),
        ("هل حضر شويجو المحادثات؟", "هل حضر شويغو المحادثات؟"),
        ("هل شارك سيرجي في المحادثات", "هل شارك سيرغي في المحادثات"),
        ("رحلة كيم جونج أون إلى فلاديفستوك", "رحلة كيم جونغ أون إلى فلاديفوستوك"),
        ("بيونج يانج", "بيونغ يانغ"),
    ],
)
def test_variant_spellings_of_names_become_the_articles(speller: Speller, question: str, expected: str) -> None:
    assert speller.correct(question) == expected


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of France?",  # nothing close in the article
        "How many times did they meet?",  # "times" is one letter from no article word of its length
        "وين التقوا الزعيمين؟",
        "شو بدها بيونغ يانغ؟",  # "بدها" (dialect: she wants) is short: only an exact skeleton may match
        "اللي حضروا المحادثات مين؟",  # the dialect "اللي" keeps its two lams
    ],
)
def test_ordinary_words_are_left_alone(speller: Speller, question: str) -> None:
    assert speller.correct(question) == question


@given(st.lists(st.sampled_from(" ".join(ARTICLE).split()), max_size=12))
def test_text_in_the_articles_own_words_is_unchanged(words: list[str]) -> None:
    text = " ".join(words)
    assert Speller.from_texts(ARTICLE).correct(text) == text


@given(st.text(max_size=200))
def test_any_text_is_corrected_without_error_and_correcting_twice_changes_nothing(text: str) -> None:
    speller = Speller.from_texts(ARTICLE)
    once = speller.correct(text)
    assert speller.correct(once) == once


@pytest.mark.parametrize(
    ("typed", "embedded"),
    [
        ("where did they meet???", "Where did they meet?"),
        ("did they visit vladivostok?!?!", "Did they visit Vladivostok?"),
        # A name the article only writes at the start of a sentence ("Kim", "Pyongyang" here) is
        # left as typed: a capital there says nothing.
        ("did kim go?", "Did kim go?"),
        ("was shoigu at the talks 🤔🤔", "Was Shoigu at the talks"),
        ("was sergei shoigu there", "Was Sergei Shoigu there"),
        ("the talks took place", "The talks took place"),  # "talks" is never written with a capital
    ],
)
def test_a_phone_typed_question_is_embedded_the_way_the_article_writes(speller, typed: str, embedded: str) -> None:
    from embeddings.query import read_query

    assert read_query(typed, speller=speller).text == embedded
    assert read_query(typed, speller=speller).typed == typed  # what the user typed is kept as typed
    assert read_query(typed, speller=speller, tidied=False).text != embedded


def test_arabic_keeps_its_letters_and_loses_only_repeated_marks_and_emoji(speller) -> None:
    from embeddings.query import read_query

    assert read_query("وين التقوا؟؟؟ 😅", speller=speller).text == "وين التقوا؟"


def test_the_names_the_article_capitalises_survive_a_shipped_index(speller) -> None:
    assert {"shoigu", "vostochny", "vladivostok", "sergei"} <= speller.proper
    assert "talks" not in speller.proper and "the" not in speller.proper
    assert Speller.from_json(speller.to_json()).proper == speller.proper
    legacy = speller.to_json()
    del legacy["proper"]
    assert Speller.from_json(legacy).proper == set()


@given(st.text(max_size=120))
def test_tidying_any_text_is_stable(text: str) -> None:
    from embeddings.query import tidy

    assert tidy(tidy(text)) == tidy(text)


def test_arabizi_words_meet_the_article_word_with_the_same_consonants() -> None:
    speller = Speller.from_texts(["وفي الأسبوع الماضي، حذر البيت الأبيض كوريا الشمالية.", "الجيش الروسي بينهما"])
    assert speller.snap("البت الابياد حزار") == "البيت الأبيض حزار"  # "el bet el abyad 7azzar"
    assert speller.snap("الجايش بنهوم") == "الجيش بينهما"
    assert speller.snap("والبت") == "والبيت"  # the glued "and" stays
    assert speller.snap("كوريا شامالية") == "كوريا شمالية"  # "korea chamalia": the article word without its "ال"
    assert speller.snap("كده", keep=frozenset({"كده"})) == "كده"  # a dialect word spelled on purpose
    assert speller.snap("بت") == "بت"  # two consonants match too many words


def test_arabizi_questions_are_snapped_but_arabic_script_is_not(speller) -> None:
    from embeddings.query import read_query

    arabic = Speller.from_texts(["حذر البيت الأبيض كوريا الشمالية"])
    assert "البيت الأبيض" in read_query("el bet el abyad 7azzar korea b eh?", speller=arabic).text
    assert read_query("البت الابياد", speller=arabic).text == "البت الابياد"  # typed in Arabic: as typed
