"""Reply composition: an :class:`~embeddings.retriever.Answer` becomes text segments,
rendered as Telegram HTML (the bot) or plain text (``summit-bot chat`` and ``ask``).

Segments are (text, bold) pairs; escaping happens only at render time, and long
replies are split between segments or at spaces, so no tag or entity is cut.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from embeddings.corpus import Corpus, Passage
from embeddings.retriever import Answer, Hit

from .messages import t

TELEGRAM_LIMIT = 4096
Segment = tuple[str, bool]


def paragraph_segments(passage: Passage, language: str, highlight: str) -> list[Segment]:
    """The paragraph in ``language`` with its best sentence marked bold."""
    text = passage.text_in(language)
    at = text.find(highlight) if highlight else -1
    if at < 0:
        return [(text, False)]
    parts = [(text[:at], False), (highlight, True), (text[at + len(highlight) :], False)]
    return [p for p in parts if p[0]]


def citation(passage: Passage, corpus: Corpus, language: str, confidence: str | None) -> str:
    """``¶N`` (with the article's title when several articles are loaded) and a confidence word."""
    cite = f"¶{passage.paragraph}"
    if len(corpus.documents) > 1:
        doc = next((d for d in corpus.documents if d.id == passage.doc), None)
        cite = f"{cite} · {doc.title(language) if doc else passage.doc}"
    if confidence in ("high", "medium"):
        cite = f"{cite} · {t(language, 'confidence')}: {t(language, confidence)}"
    return cite


def answer_segments(
    answer: Answer, hit: Hit, corpus: Corpus, language: str, *, confidence: bool = True
) -> list[Segment]:
    """An answer: the paragraph in the reply language, the key sentence bold, then the citation."""
    segments = paragraph_segments(hit.passage, language, hit.highlight(language))
    # Arabic replies must open with Arabic text for right-to-left layout; the
    # paragraph comes first, so the citation (which starts with ¶) goes last.
    cite = citation(hit.passage, corpus, language, answer.confidence if confidence else None)
    segments.append(("\n\n" + cite, False))
    if answer.truncated:
        from embeddings.retriever import MAX_QUESTION_CHARS

        segments.append(("\n" + t(language, "truncated", chars=MAX_QUESTION_CHARS), False))
    return segments


def refusal_segments(language: str) -> list[Segment]:
    """The plain "not in the article" reply; suggestions come as buttons or a list."""
    return [(t(language, "no_answer"), False), ("\n" + t(language, "suggest"), False)]


def suggestions(corpus: Corpus, language: str, *, exclude: str = "", count: int = 3) -> list[str]:
    """Example questions from the articles' metadata (``examples``), or built from their titles."""
    from embeddings.corpus import example_questions

    picks = [q for q in example_questions(corpus, language) if q != exclude]
    return picks[:count]


def to_html(segments: Sequence[Segment]) -> str:
    """Telegram HTML with every user-visible character escaped."""
    return "".join(f"<b>{html.escape(text)}</b>" if bold else html.escape(text) for text, bold in segments)


def to_plain(segments: Sequence[Segment]) -> str:
    """Plain text; the bold sentence is wrapped in *asterisks*."""
    return "".join(f"*{text}*" if bold else text for text, bold in segments)


def _units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


def _escaped_length(segment: Segment) -> int:
    return _units(html.escape(segment[0])) + (7 if segment[1] else 0)


def _cut_point(text: str, budget: int) -> int:
    """Where to cut ``text`` so its head, escaped, fits ``budget``: just after the last space that fits."""
    used = fit = 0
    for char in text:
        used += _units(html.escape(char))
        if used > budget:
            break
        fit += 1
    space = text.rfind(" ", 0, fit)
    return space + 1 if space > 0 else max(fit, 1)


def split_segments(segments: Sequence[Segment], limit: int = TELEGRAM_LIMIT) -> list[list[Segment]]:
    """Group segments into messages whose HTML stays within ``limit`` characters (UTF-16 units)."""
    pieces: list[Segment] = []
    budget = limit - 7  # room for <b></b> around any piece
    for text, bold in segments:
        while _units(html.escape(text)) > budget:
            # The cut keeps its space at the end of the head, so words never run together.
            cut = _cut_point(text, budget)
            pieces.append((text[:cut], bold))
            text = text[cut:]
        if text:
            pieces.append((text, bold))
    messages: list[list[Segment]] = [[]]
    size = 0
    for piece in pieces:
        length = _escaped_length(piece)
        if messages[-1] and size + length > limit:
            messages.append([])
            size = 0
        messages[-1].append(piece)
        size += length
    # A message made only of whitespace would be rejected by Telegram.
    return [m for m in messages if "".join(text for text, _ in m).strip()]
