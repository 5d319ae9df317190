"""Reply composition: HTML escaping, the bold key sentence, and splitting long replies for Telegram."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.replies import (
    LONG_PARAGRAPH_CHARS,
    RLM,
    TELEGRAM_LIMIT,
    Segment,
    answer_segments,
    citation,
    citation_segments,
    deep_link,
    doc_key,
    for_telegram,
    mark_rtl,
    mark_rtl_segments,
    needs_rtl_mark,
    paragraph_segments,
    parse_payload,
    passage_for_payload,
    quote_of,
    refusal_segments,
    short_title,
    split_segments,
    start_payload,
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
    assert segments == [Segment(first + " "), Segment(second, bold=True)]
    assert "".join(s.text for s in segments) == passage.translation


def test_paragraph_segments_arabic(corpus: Corpus) -> None:
    passage = corpus.passages[10]
    segments = paragraph_segments(passage, "ar", passage.sentences[0])
    assert segments[0] == Segment(passage.sentences[0], bold=True)
    assert "".join(s.text for s in segments) == passage.text


def test_highlight_not_in_paragraph_leaves_it_plain(corpus: Corpus) -> None:
    passage = corpus.passages[0]
    assert paragraph_segments(passage, "en", "not there") == [Segment(passage.translation)]
    assert paragraph_segments(passage, "en", "") == [Segment(passage.translation)]


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


def test_citation_names_article_by_short_title_and_date_when_several_are_loaded(corpus: Corpus) -> None:
    other = Document(
        id="001_x", language="en", titles={"en": "Other"}, source="", path=corpus.documents[0].path,
        translation_path=None, paragraph_count=1,
    )  # fmt: skip
    two = Corpus(documents=(*corpus.documents, other), passages=corpus.passages, hash="two-docs")
    # "Kim Jong Un tells Putin at the Vostochny space base that ..." cut at a word, dated.
    assert citation(corpus.passages[0], two, "en", None) == "¶1 · Kim Jong Un tells Putin at the…, 2023-09-13"
    assert citation(corpus.passages[0], two, "en", "high").endswith("2023-09-13 · confidence: high")
    assert citation(corpus.passages[0], corpus, "en", None) == "¶1"
    assert short_title(other, "en") == "Other"
    assert len(short_title(corpus.documents[0], "ar")) <= 41


def test_the_paragraph_number_cites_its_passage(corpus: Corpus) -> None:
    passage = corpus.passages[2]
    cite = citation_segments(passage, corpus, "en", "high")
    assert cite[0] == Segment("¶3", cite=passage.id)
    assert to_html(cite) == "¶3 · confidence: high"  # no username: no link
    linked = for_telegram(cite, "summit_bot")
    url = f"https://t.me/summit_bot?start={passage.doc}-3"
    assert to_html(linked) == f'<a href="{url}">¶3</a> · confidence: high'
    assert to_plain(linked) == f"¶3 ({url}) · confidence: high"


def test_refusal_in_each_language() -> None:
    assert to_plain(refusal_segments("en")).startswith("The article does not answer that.")
    assert to_plain(refusal_segments("ar")).startswith("لا يجيب المقال")


# -- splitting ----------------------------------------------------------------------------------


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


_TAG = re.compile(r'<(/?)(b|a|blockquote)(?: href="[^"<>]*"| expandable)?>')


def _assert_well_formed(message_html: str) -> None:
    """Only <b>, <a href> and <blockquote expandable> tags, properly nested, and only complete entities."""
    stack: list[str] = []
    for tag in re.findall(r"<[^>]*>", message_html):
        match = _TAG.fullmatch(tag)
        assert match, tag
        if match[1]:
            assert stack and stack.pop() == match[2], message_html
        else:
            assert match[2] not in stack, message_html
            stack.append(match[2])
    assert not stack
    without_tags = _TAG.sub("", message_html)
    assert "<" not in without_tags and ">" not in without_tags
    for match in re.finditer("&", without_tags):
        assert ENTITY.match(without_tags, match.start()), without_tags[match.start() : match.start() + 8]


def _check_split(segments: list[Segment], limit: int) -> list[list[Segment]]:
    segments = [Segment(*s) for s in segments]
    messages = split_segments(segments, limit)
    for message in messages:
        rendered = to_html(message)
        assert len(rendered) <= limit
        assert _utf16(rendered) <= limit, "Telegram counts UTF-16 code units"
        assert rendered.strip()
        _assert_well_formed(rendered)
    # Nothing but whitespace may be lost ...
    original = "".join(s.text for s in segments)
    kept = "".join(s.text for message in messages for s in message)
    assert re.sub(r"\s", "", kept) == re.sub(r"\s", "", original)
    # ... and each message is a stretch of the original: no words glued together inside a message.
    for message in messages:
        assert "".join(s.text for s in message) in original
    # Bold stays bold, links stay links, quoted stays quoted, plain stays plain.
    for look in ("bold", "link", "quote"):
        wanted = "".join(s.text for s in segments if getattr(s, look)).split()
        kept_look = "".join(s.text for message in messages for s in message if getattr(s, look)).split()
        assert "".join(kept_look) == "".join(wanted), look
    return messages


_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("ab &<>\"' \n")),
        st.characters(min_codepoint=0x0621, max_codepoint=0x064A),
        st.sampled_from(["😀", "𝔸"]),  # outside the BMP: two UTF-16 units each
    ),
    max_size=400,
)
_LINKS = st.sampled_from([None, "https://t.me/summit_bot?start=000_54d2f6cd4b201a0d-3", "https://x/?a=1&b=<2>"])
_SEGMENTS = st.lists(
    st.builds(Segment, _TEXT, st.booleans(), _LINKS, st.booleans(), st.sampled_from([None, "doc:3"])), max_size=8
)


@given(segments=_SEGMENTS, limit=st.integers(min_value=130, max_value=400))
@settings(max_examples=300, deadline=None)
@example(segments=[Segment('" ' * 60)], limit=130)
@example(segments=[Segment("&" * 200, True)], limit=130)
@example(segments=[Segment("word " * 11)], limit=130)  # just over one message: words must not be glued
@example(segments=[Segment("key", True), Segment("\n"), Segment("word " * 60, quote=True)], limit=130)
def test_split_never_exceeds_limit_nor_cuts_tags_or_entities(segments: list[Segment], limit: int) -> None:
    _check_split(segments, limit)


@given(segments=st.lists(st.tuples(_TEXT, st.booleans()), max_size=8), limit=st.integers(min_value=40, max_value=300))
@settings(max_examples=100, deadline=None)
def test_split_accepts_plain_text_bold_pairs(segments: list[tuple[str, bool]], limit: int) -> None:
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
    messages = _check_split([Segment(text, bold)], TELEGRAM_LIMIT)
    assert len(messages) >= 2
    quoted = _check_split([Segment("key", True), Segment("\n"), Segment(text, quote=True)], TELEGRAM_LIMIT)
    assert all(to_html(m).count("<blockquote expandable>") == 1 for m in quoted[1:])


def test_short_reply_is_one_message_unchanged(corpus: Corpus) -> None:
    hit = _hit(corpus, 1)
    segments = answer_segments(_answer(hit), hit, corpus, "en")
    assert split_segments(segments) == [segments]


def test_whitespace_only_reply_gives_no_message() -> None:
    assert split_segments([("  \n ", False), (" ", True)]) == []


# -- long paragraphs, links, blockquotes --------------------------------------------------------


def _long_passage(corpus: Corpus, key_at: str) -> tuple[object, str]:
    """Paragraph 5 made long (over LONG_PARAGRAPH_CHARS) with its key sentence first, in the middle or last."""
    key = "Putin said the talks went well."
    filler = "The delegations then toured the launch pads and the assembly halls of the base. " * 4
    text = {"first": f"{key} {filler}{filler}", "middle": f"{filler}{key} {filler}", "last": f"{filler}{filler}{key}"}
    passage = replace(corpus.passages[4], translation=text[key_at].strip())
    assert len(passage.translation) > LONG_PARAGRAPH_CHARS
    return passage, key


@pytest.mark.parametrize("key_at", ["first", "middle", "last"])
def test_a_long_paragraph_shows_its_key_sentence_and_folds_the_rest(corpus: Corpus, key_at: str) -> None:
    passage, key = _long_passage(corpus, key_at)
    segments = paragraph_segments(passage, "en", key)
    assert segments[0] == Segment(key, bold=True)
    quoted = [s for s in segments if s.quote]
    assert len(quoted) == 1 and key not in quoted[0].text
    assert quoted[0].text.startswith("…") == (key_at == "first")
    assert quoted[0].text.endswith("…") == (key_at == "last")
    rendered = to_html(segments)
    assert rendered.startswith(f"<b>{key}</b>\n<blockquote expandable>") and rendered.endswith("</blockquote>")
    # Every word of the paragraph is still there.
    words = set(passage.translation.split())
    assert words <= set(to_plain(segments).replace("*", "").split())


def test_a_short_paragraph_is_not_folded(corpus: Corpus) -> None:
    passage = corpus.passages[19]  # the seed article's longest paragraph
    assert len(passage.translation) < LONG_PARAGRAPH_CHARS
    segments = paragraph_segments(passage, "en", passage.translation_sentences[0])
    assert not any(s.quote for s in segments)


def test_a_long_one_sentence_paragraph_is_all_key_sentence(corpus: Corpus) -> None:
    passage = replace(corpus.passages[4], translation="word " * 150 + "end.")
    assert paragraph_segments(passage, "en", passage.translation) == [Segment(passage.translation, bold=True)]


def test_links_and_quotes_render_escaped_and_plain() -> None:
    segments = [
        Segment("a<b", link="https://x/?a=1&b=2"),
        Segment(" key", bold=True, quote=True),
        Segment(" & rest", quote=True),
        Segment(" end"),
    ]
    assert to_html(segments) == (
        '<a href="https://x/?a=1&amp;b=2">a&lt;b</a><blockquote expandable><b> key</b> &amp; rest</blockquote> end'
    )
    assert to_plain(segments) == "a<b (https://x/?a=1&b=2)* key* & rest end"
    assert to_html([Segment("x", quote=True)]) == "<blockquote expandable>x</blockquote>"


# -- deep-link payloads -------------------------------------------------------------------------


def test_payload_round_trips_for_every_passage(corpus: Corpus) -> None:
    for passage in corpus.passages:
        payload = start_payload(passage.id)
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", payload)
        assert passage_for_payload(corpus, payload) == passage
    assert start_payload(corpus.passages[2].id) == f"{corpus.documents[0].id}-3"


@pytest.mark.parametrize("doc_id", ["a-b", "ünïcode article", "with.dots", "x" * 52, "x" * 53, "مقال", "a:b", "-", "_"])
def test_payload_for_any_document_id_obeys_telegrams_rules(doc_id: str) -> None:
    payload = start_payload(f"{doc_id}:12345")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", payload), payload
    assert parse_payload(payload) == (doc_key(doc_id), 12345)
    assert doc_key(doc_id) == doc_key(doc_id)  # stable: links keep working across restarts


@pytest.mark.parametrize(
    "payload",
    [
        None, 3, "", "abc", "abc-", "-3", "abc-0", "abc-03", "abc--3x", "abc-123456", "abc 3", "abc-3\n",
        "ab/c-3", "abc-٣", "ábc-3", "a" * 59 + "-3", "a" * 70, "abc-3-", "abc+3",
    ],
)  # fmt: skip
def test_malformed_payloads_are_refused(payload: object) -> None:
    assert parse_payload(payload) is None


def test_well_formed_payloads_naming_nothing_open_nothing(corpus: Corpus) -> None:
    doc = corpus.documents[0].id
    for payload in (f"{doc}-23", f"{doc}-99999", "other_article-1", f"{doc}-0", "h0123456789abcdef0123-1"):
        assert passage_for_payload(corpus, payload) is None
    assert passage_for_payload(corpus, f"{doc}-22") == corpus.passages[21]


def test_deep_link() -> None:
    assert deep_link("summit_bot", "000_x:7") == "https://t.me/summit_bot?start=000_x-7"


# -- right-to-left marks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "mark"),
    [
        ("¶3 · الثقة: عالية", True),  # the citation line of an Arabic answer
        ("Putin قال إن", True),
        ("2023 عام", True),
        ("  «Putin» قال", True),  # neutral characters first
        ("٣ فقرات", True),  # an Arabic-Indic digit is a digit too
        ("قال Putin 3", False),
        ("Putin said 3", False),  # not an Arabic line
        ("¶3 · confidence: high", False),
        ("", False),
        (RLM + "Putin قال", False),  # already marked
    ],
)
def test_needs_rtl_mark(line: str, mark: bool) -> None:
    assert needs_rtl_mark(line) is mark


def test_mark_rtl_marks_only_those_lines_and_is_idempotent() -> None:
    text = "قال بوتين\n\n¶3 · الثقة: عالية\nPutin\nKim قال"
    marked = mark_rtl(text)
    assert marked == f"قال بوتين\n\n{RLM}¶3 · الثقة: عالية\nPutin\n{RLM}Kim قال"
    assert mark_rtl(marked) == marked


def test_a_line_without_letters_follows_the_line_before_it() -> None:
    assert mark_rtl("قال بوتين\n\n¶9") == f"قال بوتين\n\n{RLM}¶9"
    assert mark_rtl("Putin said\n\n¶9") == "Putin said\n\n¶9"
    assert mark_rtl("قال بوتين\nPutin said\n2023") == "قال بوتين\nPutin said\n2023"
    assert mark_rtl("¶9") == "¶9"  # nothing Arabic about it
    assert needs_rtl_mark("¶9", after_arabic=True) and not needs_rtl_mark("¶9 Putin", after_arabic=True)


def test_mark_rtl_across_segments_keeps_links_whole() -> None:
    segments = [
        Segment("قال بوتين"),
        Segment("\n\n"),
        Segment("¶3", link="https://t.me/b?start=d-3"),
        Segment(" · الثقة"),
    ]
    marked = mark_rtl_segments(segments)
    assert to_plain(marked).replace(" (https://t.me/b?start=d-3)", "") == mark_rtl("قال بوتين\n\n¶3 · الثقة")
    assert Segment(RLM) in marked and Segment("¶3", link="https://t.me/b?start=d-3") in marked
    inline = mark_rtl_segments([Segment("قال\nKim قال", bold=True)])
    assert inline == [Segment(f"قال\n{RLM}Kim قال", bold=True)]


def test_arabic_answer_for_telegram_marks_its_citation_line(corpus: Corpus) -> None:
    hit = _hit(corpus, 9)
    rendered = to_html(for_telegram(answer_segments(_answer(hit, "ar"), hit, corpus, "ar"), "summit_bot"))
    assert f'\n\n{RLM}<a href="https://t.me/summit_bot?start={corpus.documents[0].id}-9">¶9</a> · الثقة' in rendered
    english = to_html(for_telegram(answer_segments(_answer(hit), hit, corpus, "en"), "summit_bot"))
    assert RLM not in english


# -- quoting --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "question", "quote"),
    [
        ("@summit_bot Where did Kim and Putin meet?", "Where did Kim and Putin meet?", "Where did Kim and Putin meet?"),
        ("/ask When did they meet?", "When did they meet?", "When did they meet?"),
        ("Where did  Kim meet?", "Where did Kim meet?", "Where did"),  # spaces folded in the question
        ("Where did Kim @summit_bot meet?", "Where did Kim meet?", "Where did Kim"),
        ("Wherever", "Where did", None),  # never a piece of a word
        ("something else", "Where did Kim meet?", None),
        ("أين التقى كيم وبوتين؟", "أين التقى كيم وبوتين؟", "أين التقى كيم وبوتين؟"),
    ],
)
def test_quote_is_a_verbatim_prefix_of_the_message(message: str, question: str, quote: str | None) -> None:
    found = quote_of(message, question)
    assert found == quote
    assert found is None or found in message


def test_quote_obeys_telegrams_length_limit() -> None:
    question = "word " * 400 + "😀" * 600
    quote = quote_of(question, question)
    assert quote and quote in question and quote.startswith("word word")
    assert _utf16(quote) <= 1024
    emoji = "😀" * 600
    assert _utf16(quote_of(emoji, emoji)) <= 1024
