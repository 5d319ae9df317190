"""The Arabic-to-English glossary (embeddings/data/glossary.json) the name and count checks read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embeddings.glossary import GLOSSARY_FILE, GlossaryError, english_things, load_glossary
from embeddings.normalize import normalise


@pytest.mark.parametrize(
    ("question", "things"),
    [
        ("شنو اسم مصنع الطيران اللي زاره كيم", ("factory", "plant", "aviation", "aircraft")),
        ("كم واحد كان بالوفد الكوري", ("person", "people", "delegation", "delegate")),  # بال + noun
        ("الزيارة كم يوم رح تطول", ("day",)),
        ("كم قمر صناعي عند روسيا؟", ("satellite",)),
        ("كم بلد شارك؟", ("country",)),  # "بلد" is not ب + "لد"
        ("وين التقى كيم ببوتين؟", ()),
    ],
)
def test_an_arabic_questions_nouns_in_english(question: str, things: tuple[str, ...]) -> None:
    assert english_things(question) == things


def test_every_key_is_normalised_and_every_value_an_english_word() -> None:
    for arabic, english in load_glossary().items():
        assert normalise(arabic) == arabic
        assert all(w.isascii() and w.isalpha() and w.islower() for w in english)


@pytest.mark.parametrize(
    ("nouns", "message"),
    [
        ({"طائرة": ["plane"]}, "not written normalised"),
        ({"قمر": []}, "needs a list of English words"),
        ({}, "non-empty"),
    ],
)
def test_a_broken_file_is_reported_with_its_path(tmp_path: Path, nouns: dict, message: str) -> None:
    path = tmp_path / "glossary.json"
    path.write_text(json.dumps({"nouns": nouns}, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(GlossaryError, match=message) as caught:
        load_glossary(path)
    assert str(path) in str(caught.value)


def test_the_shipped_file_loads() -> None:
    assert load_glossary(GLOSSARY_FILE)["قمر"] == ("satellite",)
