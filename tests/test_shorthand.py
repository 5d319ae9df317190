"""English chat shorthand read as the words meant (data: embeddings/data/shorthand.json)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from embeddings.normalize import tokens
from embeddings.query import read_query
from embeddings.shorthand import DATA_FILE, expand


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("wher did kim meet putin", "where did kim meet putin"),
        ("wat did putin say abt sanctions", "what did putin say about sanctions"),
        ("who went w kim", "who went with kim"),
        ("hw long wer the talks", "how long were the talks"),
        ("is nk isolated?", "is North Korea isolated?"),
    ],
)
def test_shorthand_is_read_as_the_word_meant(typed: str, meant: str) -> None:
    assert expand(typed) == meant


def test_real_words_and_names_are_left_alone() -> None:
    text = "What did the US say about Kim's visit to Vostochny? Where were they?"
    assert expand(text) == text


def test_no_shorthand_key_is_a_word_of_the_english_article() -> None:
    article = set(tokens((DATA_FILE.parents[2] / "seeds" / "000_54d2f6cd4b201a0d.en.txt").read_text("utf-8")))
    keys = json.loads(DATA_FILE.read_text(encoding="utf-8"))["words"]
    assert not {k for k in keys if " " not in k and k.isalpha()} & article


def test_arabic_and_arabizi_questions_are_not_expanded() -> None:
    assert read_query("wen el e2tema3?").language == "ar"  # Arabizi "where", not English "when"
    assert read_query("وين التقوا؟").text == "وين التقوا؟"


@given(st.text(max_size=200))
def test_expand_never_raises(text: str) -> None:
    expand(text)
