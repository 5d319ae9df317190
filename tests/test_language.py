"""Question language detection: Arabic script versus Latin, including mixed questions."""

from __future__ import annotations

import pytest

from embeddings.language import detect_language


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("أين التقى كيم جونغ أون وبوتين؟", "ar"),
        ("Where did Kim Jong Un and Putin meet?", "en"),
        ("كيم قال لبوتين إيه؟", "ar"),  # dialect is still Arabic
        ("Vostochny", "en"),
        ("فوستوشني", "ar"),
        ("أين تقع قاعدة Vostochny؟", "ar"),  # mostly Arabic letters, a Latin name
        ("What did بوتين say about the sanctions?", "en"),  # mostly Latin, an Arabic name
        ("ماذا قال Putin عن العقوبات على كوريا الشمالية؟", "ar"),
    ],
)
def test_detects_language_by_dominant_script(question: str, language: str) -> None:
    assert detect_language(question) == language


def test_no_letters_falls_back_to_default() -> None:
    assert detect_language("2019? 123 !!!") == "en"
    assert detect_language("2019?", default="ar") == "ar"
    assert detect_language("") == "en"


def test_accented_latin_counts_as_latin() -> None:
    assert detect_language("Émile était là") == "en"
