"""Reply composition: an :class:`~embeddings.retriever.Answer` becomes text segments,
rendered as Telegram HTML (the bot) or plain text (``summit-bot chat`` and ``ask``).

A :class:`Segment` is a stretch of text with its looks: bold, a link, inside an expandable
blockquote, or citing a passage (``¶N``, which a front-end that knows the bot's username
turns into a deep link). Plain ``(text, bold)`` pairs are accepted wherever segments are.
Escaping happens only at render time, and long replies are split between segments or at
spaces, so no tag or entity is cut.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple

from embeddings.corpus import Corpus, Document, Passage
from embeddings.retriever import Answer, Hit

from .messages import t

TELEGRAM_LIMIT = 4096
# A paragraph longer than this (characters, in the reply language) shows its key sentence in
# bold and folds the rest into an expandable blockquote. 500 characters is about 12 lines in
# a phone's chat bubble (~40 characters a line): past that the answer and its buttons no longer
# fit one screen, while Telegram's folded quote shows three lines. The seed article's
# paragraphs (at most ~310 characters) stay whole.
LONG_PARAGRAPH_CHARS = 500
SHORT_TITLE_CHARS = 40  # an article's title in a citation when several articles are loaded
RLM = "\u200f"  # RIGHT-TO-LEFT MARK

# Deep links: https://t.me/<bot>?start=<doc>-<paragraph>. Telegram allows A-Z a-z 0-9 _ - and
# at most 64 characters in a start parameter; a document id that does not fit is replaced by a
# stable hash of it.
START_PAYLOAD_LIMIT = 64
_SAFE_DOC = re.compile(r"[A-Za-z0-9_-]{1,52}")  # leaves room for "-" and a five-digit paragraph
_PAYLOAD = re.compile(r"([A-Za-z0-9_-]{1,58})-([1-9][0-9]{0,4})")


class Segment(NamedTuple):
    """A stretch of reply text and how it looks."""

    text: str
    bold: bool = False
    link: str | None = None  # a URL the text links to
    quote: bool = False  # inside an expandable blockquote (consecutive ones share one)
    cite: str | None = None  # id of the passage this text cites; see :func:`with_links`


SegmentLike = Segment | tuple[str, bool]


def segment(value: SegmentLike) -> Segment:
    """A :class:`Segment` from a segment or a plain ``(text, bold)`` pair."""
    return value if isinstance(value, Segment) else Segment(*value)


# -- deep links ---------------------------------------------------------------------------------


def doc_key(doc_id: str) -> str:
    """The article's name in a deep link: its id when Telegram allows it there, else a stable hash."""
    if _SAFE_DOC.fullmatch(doc_id):
        return doc_id
    return "h" + hashlib.sha256(doc_id.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def start_payload(passage_id: str) -> str:
    """The ``/start`` parameter that opens a passage (``<doc>-<paragraph>``), from its id ``doc:N``."""
    doc, _, number = passage_id.rpartition(":")
    return f"{doc_key(doc)}-{int(number)}"


def parse_payload(payload: object) -> tuple[str, int] | None:
    """(document key, paragraph number) of a ``/start`` parameter, or None when it is not one of ours."""
    if not isinstance(payload, str) or not 1 <= len(payload) <= START_PAYLOAD_LIMIT or not payload.isascii():
        return None
    match = _PAYLOAD.fullmatch(payload)
    return (match[1], int(match[2])) if match else None


def passage_for_payload(corpus: Corpus, payload: object) -> Passage | None:
    """The passage a ``/start`` parameter names, or None (malformed, or the article or paragraph is gone)."""
    parsed = parse_payload(payload)
    if parsed is None:
        return None
    key, number = parsed
    document = next((d for d in corpus.documents if d.id == key), None)
    document = document or next((d for d in corpus.documents if doc_key(d.id) == key), None)
    if document is None or not 1 <= number <= document.paragraph_count:
        return None
    return corpus.passage(f"{document.id}:{number}")


def deep_link(username: str, passage_id: str) -> str:
    """``https://t.me/<bot>?start=<doc>-<paragraph>``: opens the passage in a private chat with the bot."""
    return f"https://t.me/{username}?start={start_payload(passage_id)}"


def with_links(segments: Iterable[SegmentLike], username: str | None) -> list[Segment]:
    """Citing segments link to their passage's deep link; without a username (the terminal) they stay text."""
    out = []
    for value in segments:
        seg = segment(value)
        if seg.cite and username and not seg.link:
            seg = seg._replace(link=deep_link(username, seg.cite))
        out.append(seg)
    return out


# -- right-to-left lines ------------------------------------------------------------------------


def needs_rtl_mark(line: str, *, after_arabic: bool = False) -> bool:
    """Whether an Arabic line opens with a Latin letter or a digit before any Arabic letter.

    Telegram takes a line's direction from its first strong character, so "Putin قال …" or
    "¶3 · الثقة: عالية" would be laid out left-to-right; a RIGHT-TO-LEFT MARK in front fixes it.
    A line with no letters at all ("¶9") counts as Arabic when the line before it with
    letters was (``after_arabic``).
    """
    kinds = [unicodedata.bidirectional(ch) for ch in line]
    arabic = any(k in ("R", "AL") for k in kinds)
    if not arabic and not (after_arabic and "L" not in kinds):
        return False  # not an Arabic line
    for kind in kinds:
        if kind in ("R", "AL"):
            return False
        if kind in ("L", "EN", "AN"):
            return True
    return False


def _line_marks(text: str) -> list[bool]:
    """For each line of ``text``: whether it needs a right-to-left mark."""
    marks = []
    after_arabic = False
    for line in text.split("\n"):
        marks.append(needs_rtl_mark(line, after_arabic=after_arabic))
        kinds = {unicodedata.bidirectional(ch) for ch in line}
        if kinds & {"L", "R", "AL"}:  # lines without letters do not change what comes after
            after_arabic = bool(kinds & {"R", "AL"})
    return marks


def mark_rtl(text: str) -> str:
    """``text`` with U+200F in front of every line :func:`needs_rtl_mark` picks."""
    lines = text.split("\n")
    return "\n".join(RLM + line if mark else line for line, mark in zip(lines, _line_marks(text), strict=True))


def mark_rtl_segments(segments: Iterable[SegmentLike]) -> list[Segment]:
    """:func:`mark_rtl` across segments: a line may start in any segment, and links are kept whole."""
    segs = [segment(s) for s in segments]
    full = "".join(s.text for s in segs)
    starts = [0] + [m.end() for m in re.finditer("\n", full)]
    marks = {at for at, mark in zip(starts, _line_marks(full), strict=True) if mark}
    out: list[Segment] = []
    offset = 0
    for seg in segs:
        here = sorted(at - offset for at in marks if offset <= at < offset + len(seg.text))
        offset += len(seg.text)
        if not here:
            out.append(seg)
            continue
        if here[0] == 0 and (seg.link or seg.cite):  # the mark goes before the link, not inside it
            out.append(Segment(RLM, quote=seg.quote))
            here = here[1:]
        text = seg.text
        for at in reversed(here):
            text = text[:at] + RLM + text[at:]
        out.append(seg._replace(text=text))
    return out


def for_telegram(segments: Iterable[SegmentLike], username: str | None) -> list[Segment]:
    """Segments ready for Telegram: citations linked (when the bot has a username), RTL lines marked."""
    return mark_rtl_segments(with_links(segments, username))


# -- composing ----------------------------------------------------------------------------------


def paragraph_segments(passage: Passage, language: str, highlight: str) -> list[Segment]:
    """The paragraph in ``language`` with its best sentence marked bold.

    A paragraph over :data:`LONG_PARAGRAPH_CHARS` shows the key sentence first, then the rest
    (with "…" where the key sentence stood) in an expandable blockquote.
    """
    text = passage.text_in(language)
    at = text.find(highlight) if highlight else -1
    if at < 0:
        return [Segment(text)]
    before, after = text[:at], text[at + len(highlight) :]
    if len(text) > LONG_PARAGRAPH_CHARS and (before.strip() or after.strip()):
        rest = " ".join(x for x in (before.strip(), "…", after.strip()) if x)
        return [Segment(highlight, bold=True), Segment("\n"), Segment(rest, quote=True)]
    parts = [Segment(before), Segment(highlight, bold=True), Segment(after)]
    return [p for p in parts if p.text]


def short_title(document: Document, language: str, limit: int = SHORT_TITLE_CHARS) -> str:
    """The article's title in ``language``, cut at a word boundary to at most ``limit`` characters."""
    title = " ".join(document.title(language).split())
    if len(title) <= limit:
        return title
    cut = title.rfind(" ", 0, limit)
    return title[: cut if cut > 0 else limit].rstrip(" ,;:-–—") + "…"


def citation_segments(passage: Passage, corpus: Corpus, language: str, confidence: str | None) -> list[Segment]:
    """``¶N`` (citing the passage), the article's short title and date when several are loaded, confidence."""
    rest = ""
    if len(corpus.documents) > 1:
        doc = next((d for d in corpus.documents if d.id == passage.doc), None)
        name = ", ".join(x for x in (short_title(doc, language), doc.date) if x) if doc else passage.doc
        rest = f" · {name}"
    if confidence in ("high", "medium"):
        rest = f"{rest} · {t(language, 'confidence')}: {t(language, confidence)}"
    segments = [Segment(f"¶{passage.paragraph}", cite=passage.id)]
    return [*segments, Segment(rest)] if rest else segments


def citation(passage: Passage, corpus: Corpus, language: str, confidence: str | None) -> str:
    """The citation as plain text (see :func:`citation_segments`)."""
    return to_plain(citation_segments(passage, corpus, language, confidence))


def answer_segments(
    answer: Answer, hit: Hit, corpus: Corpus, language: str, *, confidence: bool = True
) -> list[Segment]:
    """An answer: the paragraph in the reply language, the key sentence bold, then the citation."""
    segments = paragraph_segments(hit.passage, language, hit.highlight(language))
    # Arabic replies must open with Arabic text for right-to-left layout; the
    # paragraph comes first, so the citation (which starts with ¶) goes last.
    segments.append(Segment("\n\n"))
    segments += citation_segments(hit.passage, corpus, language, answer.confidence if confidence else None)
    if answer.truncated:
        from embeddings.retriever import MAX_QUESTION_CHARS

        segments.append(Segment("\n" + t(language, "truncated", chars=MAX_QUESTION_CHARS)))
    return segments


def passage_segments(passage: Passage, corpus: Corpus, language: str) -> list[Segment]:
    """A paragraph opened by a deep link: its whole text in ``language`` and its citation."""
    return [Segment(passage.text_in(language)), Segment("\n\n"), *citation_segments(passage, corpus, language, None)]


def refusal_segments(language: str) -> list[Segment]:
    """The plain "not in the article" reply; suggestions come as buttons or a list."""
    return [Segment(t(language, "no_answer")), Segment("\n" + t(language, "suggest"))]


# -- rendering ----------------------------------------------------------------------------------

_QUOTE_OPEN, _QUOTE_CLOSE = "<blockquote expandable>", "</blockquote>"


def to_html(segments: Iterable[SegmentLike]) -> str:
    """Telegram HTML with every user-visible character escaped; consecutive quoted segments share a blockquote."""
    out: list[str] = []
    quoting = False
    for seg in map(segment, segments):
        if not seg.text:
            continue
        if seg.quote != quoting:
            out.append(_QUOTE_OPEN if seg.quote else _QUOTE_CLOSE)
            quoting = seg.quote
        body = html.escape(seg.text)
        if seg.link:
            body = f'<a href="{html.escape(seg.link)}">{body}</a>'
        out.append(f"<b>{body}</b>" if seg.bold else body)
    if quoting:
        out.append(_QUOTE_CLOSE)
    return "".join(out)


def to_plain(segments: Iterable[SegmentLike]) -> str:
    """Plain text; the bold sentence is wrapped in *asterisks*, a link's URL follows its text in brackets."""
    out = []
    for seg in map(segment, segments):
        text = f"*{seg.text}*" if seg.bold and seg.text else seg.text
        out.append(f"{text} ({seg.link})" if seg.link else text)
    return "".join(out)


def _units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji counts two)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _overhead(seg: Segment) -> int:
    """The markup around one segment in the worst case (a quoted piece pays for a whole blockquote)."""
    size = 7 if seg.bold else 0  # <b></b>
    if seg.link:
        size += _units(f'<a href="{html.escape(seg.link)}"></a>')
    if seg.quote:
        size += len(_QUOTE_OPEN) + len(_QUOTE_CLOSE)
    return size


def _escaped_length(seg: Segment) -> int:
    return _units(html.escape(seg.text)) + _overhead(seg)


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


def split_segments(segments: Iterable[SegmentLike], limit: int = TELEGRAM_LIMIT) -> list[list[Segment]]:
    """Group segments into messages whose HTML stays within ``limit`` characters (UTF-16 units).

    A segment too long for one message is cut at a space into pieces with the same looks, so
    every tag (bold, link, blockquote) opens and closes inside one message.
    """
    pieces: list[Segment] = []
    for seg in map(segment, segments):
        budget = max(limit - _overhead(seg), 1)
        text = seg.text
        while _units(html.escape(text)) > budget:
            # The cut keeps its space at the end of the head, so words never run together.
            cut = _cut_point(text, budget)
            pieces.append(seg._replace(text=text[:cut]))
            text = text[cut:]
        if text:
            pieces.append(seg._replace(text=text))
    messages: list[list[Segment]] = [[]]
    size = 0
    for piece in pieces:
        length = _escaped_length(piece)
        if messages[-1] and size + length > limit:
            messages.append([])
            size = 0
        messages[-1].append(piece)
        size += length
    # A message made only of whitespace (or invisible marks) would be rejected by Telegram.
    return [m for m in messages if "".join(s.text for s in m).replace(RLM, "").strip()]


# -- quoting the question in groups -------------------------------------------------------------

QUOTE_LIMIT = 1024  # Telegram: a reply's quote is at most 1024 characters (UTF-16 units)


def quote_of(message_text: str, question: str, limit: int = QUOTE_LIMIT) -> str | None:
    """What a reply to ``message_text`` can quote of ``question``: the longest prefix of it (whole
    words, at most ``limit`` UTF-16 units) that appears verbatim in the message, or None.

    Telegram refuses a quote that is not an exact substring of the replied message, and the
    question the bot answered may differ from it (the @mention removed, spaces folded).
    """
    wanted = question.strip()
    while _units(wanted) > limit:
        wanted = wanted[: -max(1, (_units(wanted) - limit) // 2)]
    # A prefix that occurs verbatim means every shorter one does: search for the longest.
    low, high = 0, len(wanted)
    while low < high:
        middle = (low + high + 1) // 2
        if wanted[:middle] in message_text:
            low = middle
        else:
            high = middle - 1
    found = wanted[:low]
    if low < len(wanted) and not wanted[low].isspace():  # never stop inside a word of the question
        found = _drop_last_word(found)
    while found.strip() and not _occurs_as_words(message_text, found.strip()):  # ... nor of the message
        found = _drop_last_word(found.strip())
    return found.strip() or None


def _drop_last_word(text: str) -> str:
    space = max(text.rfind(" "), text.rfind("\n"))
    return text[:space] if space > 0 else ""


def _occurs_as_words(text: str, part: str) -> bool:
    """Whether ``part`` occurs in ``text`` with no letter or digit glued to either end."""
    at = text.find(part)
    while at >= 0:
        end = at + len(part)
        if (at == 0 or not text[at - 1].isalnum()) and (end == len(text) or not text[end].isalnum()):
            return True
        at = text.find(part, at + 1)
    return False
