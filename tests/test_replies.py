"""Reply composition: HTML escaping, the bold key sentence, and splitting long replies for Telegram."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.replies import (
    TELEGRAM_LIMIT,
    answer_segments,
    citation,
    paragraph_segments,
    refusal_segments,
    split_segments,
    to_html,
    to_plain,
)
from embeddings.corpus import Corpus, Document
from embeddings.retriever import MAX_QUESTION_CHARS, Answer, Hit

ENTITY = re.compile(r"&(amp|lt|gt|quot|#x27);")


def _hit(corpus: Corpus, paragraph: int, highlights: dict[str, str] | None = None) -> Hit:
    passage = corpus.passages[paragraph - 1]
    if highlights is None:
        highlights = {"ar": passage.sentences[-1], "en": passage.translation_sentences[-1]}
    return Hit(passage=passage, score=1.0, dense=0.9, lexical=0.5, highlights=highlights)


def _answer(hit: Hit, language: str = "en", **changes) -> Answer:
    answer = Answer(question="q", language=language, answered=True, confidence="high", hits=(hit,))  # type: ignore[arg-type]
    return replace(answer, **changes)


# -- escaping and bold --------------------------------------------------------------------------


def test_to_html_escapes_everything_user_visible() -> None:
    segments = [('Kim said "<b>war</b>" & left', False), ("it's <i>bold</i>", True)]
    assert to_html(segments) == (
        "Kim said &quot;&lt;b&gt;war&lt;/b&gt;&quot; &amp; left<b>it&#x27;s &lt;i&gt;bold&lt;/i&gt;</b>"
    )


def test_to_plain_marks_bold_with_asterisks_and_does_not_escape() -> None:
    assert to_plain([("a < b ", False), ("key", True), (" & c", False)]) == "a < b *key* & c"


def test_paragraph_segments_bold_the_highlight_in_place(corpus: Corpus) -> None:
    passage = corpus.passages[10]
    first, second = passage.translation_sentences
    segments = paragraph_segments(passage, "en", second)
    assert segments == [(first + " ", False), (second, True)]
    assert "".join(text for text, _ in segments) == passage.translation


def test_paragraph_segments_arabic(corpus: Corpus) -> None:
    passage = corpus.passages[10]
    segments = paragraph_segments(passage, "ar", passage.sentences[0])
    assert segments[0] == (passage.sentences[0], True)
    assert "".join(text for text, _ in segments) == passage.text


def test_highlight_not_in_paragraph_leaves_it_plain(corpus: Corpus) -> None:
    passage = corpus.passages[0]
    assert paragraph_segments(passage, "en", "not there") == [(passage.translation, False)]
    assert paragraph_segments(passage, "en", "") == [(passage.translation, False)]


def test_english_answer_is_english_paragraph_bold_sentence_and_citation(corpus: Corpus) -> None:
    hit = _hit(corpus, 17)
    rendered = to_html(answer_segments(_answer(hit), hit, corpus, "en"))
    expected_bold = html.escape(corpus.passages[16].translation_sentences[-1])
    assert f"<b>{expected_bold}</b>" in rendered
    assert rendered.startswith(html.escape(corpus.passages[16].translation_sentences[0]))
    assert rendered.endswith("¶17 · confidence: high")
    assert "&quot;an unidentified ballistic missile" in rendered  # quotes from the article are escaped


def test_arabic_answer_opens_with_arabic_text(corpus: Corpus) -> None:
    hit = _hit(corpus, 17)
    plain = to_plain(answer_segments(_answer(hit, "ar"), hit, corpus, "ar"))
    assert plain.startswith(corpus.passages[16].text[:20])
    assert "¶17" in plain and "الثقة: عالية" in plain


def test_low_confidence_has_no_confidence_word(corpus: Corpus) -> None:
    hit = _hit(corpus, 3)
    plain = to_plain(answer_segments(_answer(hit, confidence="low"), hit, corpus, "en"))
    assert plain.endswith("¶3")


def test_truncated_question_is_mentioned(corpus: Corpus) -> None:
    hit = _hit(corpus, 3)
    plain = to_plain(answer_segments(_answer(hit, truncated=True), hit, corpus, "en"))
    assert f"first {MAX_QUESTION_CHARS} characters" in plain


def test_citation_names_article_when_several_are_loaded(corpus: Corpus) -> None:
    other = Document(
        id="001_x", language="en", titles={"en": "Other"}, source="", path=corpus.documents[0].path,
        translation_path=None, paragraph_count=1,
    )  # fmt: skip
    two = Corpus(documents=(*corpus.documents, other), passages=corpus.passages, hash="two-docs")
    assert citation(corpus.passages[0], two, "en", None) == f"¶1 · {corpus.documents[0].title('en')}"
    assert citation(corpus.passages[0], corpus, "en", None) == "¶1"


def test_refusal_in_each_language() -> None:
    assert to_plain(refusal_segments("en")).startswith("The article does not answer that.")
    assert to_plain(refusal_segments("ar")).startswith("لا يجيب المقال")


# -- splitting ----------------------------------------------------------------------------------


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _assert_well_formed(message_html: str) -> None:
    """Only <b>...</b> tags, balanced and unnested, and only complete entities."""
    without_tags = message_html
    depth = 0
    for tag in re.findall(r"<[^>]*>", message_html):
        assert tag in ("<b>", "</b>"), tag
        depth += 1 if tag == "<b>" else -1
        assert depth in (0, 1)
    assert depth == 0
    without_tags = re.sub(r"</?b>", "", message_html)
    assert "<" not in without_tags and ">" not in without_tags
    for match in re.finditer("&", without_tags):
        assert ENTITY.match(without_tags, match.start()), without_tags[match.start() : match.start() + 8]


def _check_split(segments: list[tuple[str, bool]], limit: int) -> list[list[tuple[str, bool]]]:
    messages = split_segments(segments, limit)
    for message in messages:
        rendered = to_html(message)
        assert len(rendered) <= limit
        assert _utf16(rendered) <= limit, "Telegram counts UTF-16 code units"
        assert rendered.strip()
        _assert_well_formed(rendered)
    # Nothing but whitespace may be lost ...
    original = "".join(text for text, _ in segments)
    kept = "".join(text for message in messages for text, _ in message)
    assert re.sub(r"\s", "", kept) == re.sub(r"\s", "", original)
    # ... and each message is a stretch of the original: no words glued together inside a message.
    for message in messages:
        assert "".join(text for text, _ in message) in original
    # Bold stays bold and plain stays plain.
    bold_chars = "".join(text for text, bold in segments if bold).split()
    kept_bold = "".join(text for message in messages for text, bold in message if bold).split()
    assert "".join(kept_bold) == "".join(bold_chars)
    return messages


_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("ab &<>\"' \n")),
        st.characters(min_codepoint=0x0621, max_codepoint=0x064A),
        st.sampled_from(["😀", "𝔸"]),  # outside the BMP: two UTF-16 units each
    ),
    max_size=400,
)
_SEGMENTS = st.lists(st.tuples(_TEXT, st.booleans()), max_size=8)


@given(segments=_SEGMENTS, limit=st.integers(min_value=40, max_value=300))
@settings(max_examples=300, deadline=None)
@example(segments=[('" ' * 60, False)], limit=100)
@example(segments=[("&" * 200, True)], limit=64)
@example(segments=[("word " * 11, False)], limit=60)  # just over one message: words must not be glued
def test_split_never_exceeds_limit_nor_cuts_entities(segments: list[tuple[str, bool]], limit: int) -> None:
    _check_split(segments, limit)


@pytest.mark.parametrize(
    "text",
    [
        '" ' * 3000,  # every other character escapes to six
        "&" * 10_000,
        "<b>" * 2000,
        "😀" * 5000,
        "كلمة " * 2000,
        ("word " * 818) + "tail words here",  # just over one message: must not glue words together
        "x" * 9000,
    ],
    ids=["quotes", "ampersands", "tags", "emoji", "arabic", "just-over", "no-spaces"],
)
@pytest.mark.parametrize("bold", [False, True])
def test_split_real_telegram_limit(text: str, bold: bool) -> None:
    messages = _check_split([(text, bold)], TELEGRAM_LIMIT)
    assert len(messages) >= 2


def test_short_reply_is_one_message_unchanged(corpus: Corpus) -> None:
    hit = _hit(corpus, 1)
    segments = answer_segments(_answer(hit), hit, corpus, "en")
    assert split_segments(segments) == [segments]


def test_whitespace_only_reply_gives_no_message() -> None:
    assert split_segments([("  \n ", False), (" ", True)]) == []
