"""Normalisation for lexical matching: Arabic spelling variants and English case/punctuation fold together."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from embeddings.normalize import normalise, normalise_arabic, tokens


@pytest.mark.parametrize(
    ("variant", "folded"),
    [
        ("أحمد", "احمد"),  # hamza above
        ("إسلام", "اسلام"),  # hamza below
        ("آمن", "امن"),  # madda
        ("ٱلله", "الله"),  # wasla
        ("مدرسة", "مدرسه"),  # ta marbuta
        ("مستشفى", "مستشفي"),  # alef maqsura
    ],
)
def test_arabic_letter_variants_fold(variant: str, folded: str) -> None:
    assert normalise(variant) == folded


def test_all_alef_forms_become_bare_alef() -> None:
    assert normalise("أ إ آ ٱ ا") == "ا ا ا ا ا"


def test_tashkeel_is_stripped() -> None:
    assert normalise("كَتَبَ الطَّالِبُ") == "كتب الطالب"
    assert normalise("مُحَمَّدٌ") == "محمد"


def test_tatweel_is_stripped() -> None:
    assert normalise("كـــيـم") == "كيم"


def test_arabic_indic_digits_become_ascii() -> None:
    assert normalise("٠١٢٣٤٥٦٧٨٩") == "0123456789"
    assert normalise("عام ٢٠١٩") == "عام 2019"
    assert normalise("۲۰۱۹") == "2019"  # Persian digits too


def test_spelling_variants_of_the_same_word_match() -> None:
    """What a user notices: differently typed names and words still match the article."""
    assert normalise("كِيم جُونغ أُون") == normalise("كيم جونغ اون")
    assert normalise("قاعدةُ فوستوشني") == normalise("قاعده فوستوشنى")


def test_english_case_and_punctuation() -> None:
    assert normalise("Where did KIM and Putin meet?!") == "where did kim and putin meet"
    assert normalise('"Great victory," he said.') == "great victory he said"
    assert normalise("Russia's army") == "russias army"
    assert normalise("Russian–North Korean (ties)") == "russian north korean ties"


def test_arabic_punctuation_separates_words() -> None:
    assert normalise("أين التقيا؟ في روسيا، أليس كذلك؛") == "اين التقيا في روسيا اليس كذلك"


def test_whitespace_and_invisible_characters() -> None:
    assert normalise("  kim\u200b \t\n putin \u200f ") == "kim putin"
    assert normalise("") == ""
    assert normalise("?!،؟ ...") == ""


def test_tokens_split_normalised_words() -> None:
    assert tokens("أينَ التقى KIM بـبوتين؟") == ["اين", "التقي", "kim", "ببوتين"]


def test_normalise_arabic_leaves_latin_alone() -> None:
    assert normalise_arabic("Kim مدرسة 2019") == "Kim مدرسه 2019"


_MIXED_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x0600, max_codepoint=0x06FF),
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.sampled_from("\u0640\u200b\u200f\u00ad’–…«» \n\tÉéßİ"),
    ),
    max_size=80,
)


@given(_MIXED_TEXT)
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@given(st.text(max_size=80))
def test_normalise_is_idempotent_on_any_unicode(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@given(_MIXED_TEXT)
def test_normalised_text_has_no_variants_left(text: str) -> None:
    out = normalise(text)
    assert not set(out) & set("أإآٱةىـ٠١٢٣٤٥٦٧٨٩\u064b\u064e\u0650\u0651\u0652")
    assert out == out.casefold()
    assert "  " not in out and out == out.strip()


def test_a_hamza_on_the_line_is_dropped_as_people_type_it() -> None:
    assert normalise("مأدبة غداء") == normalise("مأدبة غدا")
    assert normalise("اللقاء") == "اللقا"
