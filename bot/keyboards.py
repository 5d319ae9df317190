"""Inline keyboards and their callback data.

Callback data comes back from Telegram exactly as a client sends it, so anyone can
forge it: every field is parsed strictly and anything unexpected decodes to None
(the handler then shows a short "expired" notice). The data only names what to
show (a turn of the chat's history, a passage index, a language); what a turn
contains is looked up in the chat's own state, so forged data can at most point
at the sender's own answers. Admin commands have no callback form at all; the
knowledge-gap buttons under /gaps (``g:``) are checked for admin rights on every press.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from .messages import LANGUAGE_NAMES, other_language, t

# One-letter prefixes keep the data short: Telegram allows at most 64 bytes.
MORE: Final = "m"
ORIGINAL: Final = "o"
VOTE: Final = "v"
SUGGEST: Final = "s"
SHOW: Final = "a"  # an alternative passage of the same answer
PARAGRAPH: Final = "p"  # a paragraph of an article, opened by ◀ ▶ from a deep-linked one
DECIDE: Final = "g"  # an editor's decision on a knowledge gap (/gaps, admins only)
SUMMARY: Final = "r"  # the summary of one article, chosen under /summary when several are loaded

MAX_CALLBACK_BYTES: Final = 64
LANGUAGES: Final = ("ar", "en")
UP: Final = "u"
DOWN: Final = "d"

_INT = r"(0|[1-9][0-9]{0,8})"  # no signs, no leading zeros, at most nine digits
_PATTERNS: Final = {
    MORE: re.compile(rf"m:{_INT}:{_INT}"),
    ORIGINAL: re.compile(rf"o:{_INT}:{_INT}:(ar|en)"),
    VOTE: re.compile(rf"v:{_INT}:{_INT}:([ud])"),
    SUGGEST: re.compile(rf"s:(ar|en):{_INT}"),
    SHOW: re.compile(rf"a:{_INT}:{_INT}"),
    PARAGRAPH: re.compile(rf"p:([0-9a-f]{{8}}):{_INT}"),
    DECIDE: re.compile(rf"g:{_INT}:(?:p:{_INT}|(n)|(i))"),
    SUMMARY: re.compile(r"r:([0-9a-f]{8})"),
}
DOC_TAG_CHARS: Final = 8
ANSWERS: Final = "p"  # this paragraph answers the gap
NOT_IN_ARTICLE: Final = "n"
IGNORE: Final = "i"


@dataclass(frozen=True, slots=True)
class More:
    """Show the passage after ``index`` of answer ``turn``."""

    turn: int
    index: int


@dataclass(frozen=True, slots=True)
class Original:
    """Show passage ``index`` of answer ``turn`` in ``language``."""

    turn: int
    index: int
    language: str


@dataclass(frozen=True, slots=True)
class Vote:
    """Thumbs up (+1) or down (-1) for passage ``index`` of answer ``turn``."""

    turn: int
    index: int
    value: int


@dataclass(frozen=True, slots=True)
class Suggest:
    """Ask example question number ``number`` in ``language``."""

    language: str
    number: int


@dataclass(frozen=True, slots=True)
class Show:
    """Show passage ``index`` of answer ``turn`` (a runner-up offered under the answer)."""

    turn: int
    index: int


@dataclass(frozen=True, slots=True)
class Paragraph:
    """Show paragraph ``paragraph`` of the article whose :func:`doc_tag` is ``doc``."""

    doc: str
    paragraph: int


@dataclass(frozen=True, slots=True)
class Decide:
    """Decide knowledge-gap group ``group``: paragraph at corpus position ``passage`` answers it
    (``verdict`` "p"), it is not in the article ("n", ``passage`` 0) or ignore it ("i", 0)."""

    group: int
    verdict: str
    passage: int = 0


@dataclass(frozen=True, slots=True)
class SummaryOf:
    """The summary of the article whose :func:`doc_tag` is ``doc``."""

    doc: str


Action = More | Original | Vote | Suggest | Show | Paragraph | Decide | SummaryOf


def doc_tag(doc_id: str) -> str:
    """A short, stable name for an article in callback data (its id may be long or non-ASCII)."""
    return hashlib.sha256(doc_id.encode("utf-8", "surrogatepass")).hexdigest()[:DOC_TAG_CHARS]


def encode(action: Action) -> str:
    """The callback data for ``action`` (always within Telegram's 64 bytes)."""
    match action:
        case More(turn, index):
            data = f"{MORE}:{turn}:{index}"
        case Original(turn, index, language):
            data = f"{ORIGINAL}:{turn}:{index}:{language}"
        case Vote(turn, index, value):
            data = f"{VOTE}:{turn}:{index}:{UP if value > 0 else DOWN}"
        case Suggest(language, number):
            data = f"{SUGGEST}:{language}:{number}"
        case Show(turn, index):
            data = f"{SHOW}:{turn}:{index}"
        case Paragraph(doc, paragraph):
            data = f"{PARAGRAPH}:{doc}:{paragraph}"
        case SummaryOf(doc):
            data = f"{SUMMARY}:{doc}"
        case Decide(group, verdict, passage):
            if verdict not in (ANSWERS, NOT_IN_ARTICLE, IGNORE) or (verdict != ANSWERS and passage):
                raise ValueError(f"not a gap decision: {action!r}")
            data = f"{DECIDE}:{group}:{ANSWERS}:{passage}" if verdict == ANSWERS else f"{DECIDE}:{group}:{verdict}"
    if len(data.encode()) > MAX_CALLBACK_BYTES:  # only reachable with absurd turn numbers
        raise ValueError(f"callback data too long: {data!r}")
    return data


def decode(data: object) -> Action | None:
    """The action in ``data``, or None when it is not data this bot could have produced."""
    if not isinstance(data, str) or not data or len(data.encode("utf-8", "replace")) > MAX_CALLBACK_BYTES:
        return None
    pattern = _PATTERNS.get(data[0])
    match = pattern.fullmatch(data) if pattern else None
    if match is None:
        return None
    groups = match.groups()
    if data[0] == MORE:
        return More(int(groups[0]), int(groups[1]))
    if data[0] == ORIGINAL:
        return Original(int(groups[0]), int(groups[1]), groups[2])
    if data[0] == VOTE:
        return Vote(int(groups[0]), int(groups[1]), 1 if groups[2] == UP else -1)
    if data[0] == SHOW:
        return Show(int(groups[0]), int(groups[1]))
    if data[0] == PARAGRAPH:
        return Paragraph(groups[0], int(groups[1]))
    if data[0] == SUMMARY:
        return SummaryOf(groups[0])
    if data[0] == DECIDE:
        group, passage, not_in_article, _ = groups
        if passage is not None:
            return Decide(int(group), ANSWERS, int(passage))
        return Decide(int(group), NOT_IN_ARTICLE if not_in_article else IGNORE)
    return Suggest(groups[0], int(groups[1]))


def answer_keyboard(
    turn: int,
    index: int,
    language: str,
    *,
    original_language: str,
    has_more: bool,
    alternatives: Sequence[tuple[int, str]] = (),
    languages: Collection[str] = LANGUAGES,
) -> InlineKeyboardMarkup:
    """More / Original / 👍 / 👎 under an answer shown in ``language``, after one row per
    (passage index, label) runner-up when the best passage did not clearly win. ``languages``
    are those the passage exists in: an article without a translation gets no language button."""
    switch_to = other_language(language)
    first_row = []
    if switch_to in languages:
        # "Original" when the reply is the translation; on the original itself the button
        # offers the translation, named in the reader's language ("الإنجليزية", "Arabic").
        label = t(language, "original") if switch_to == original_language else LANGUAGE_NAMES[language][switch_to]
        first_row.append(InlineKeyboardButton(label, callback_data=encode(Original(turn, index, switch_to))))
    if has_more:
        first_row.insert(0, InlineKeyboardButton(t(language, "more"), callback_data=encode(More(turn, index))))
    votes = [
        InlineKeyboardButton("👍", callback_data=encode(Vote(turn, index, 1))),
        InlineKeyboardButton("👎", callback_data=encode(Vote(turn, index, -1))),
    ]
    rows = [[InlineKeyboardButton(label, callback_data=encode(Show(turn, n)))] for n, label in alternatives]
    return InlineKeyboardMarkup([*rows, *([first_row] if first_row else []), votes])


def suggestion_keyboard(questions: Sequence[tuple[int, str]], language: str) -> InlineKeyboardMarkup:
    """One button per (number, question); pressing it asks the question."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=encode(Suggest(language, number)))] for number, text in questions]
    )


def paragraph_keyboard(doc_id: str, paragraph: int, count: int) -> InlineKeyboardMarkup | None:
    """◀ ▶ under a paragraph opened by a deep link: its neighbours in the same article."""
    tag = doc_tag(doc_id)
    row = []
    if paragraph > 1:
        row.append(InlineKeyboardButton(f"◀ ¶{paragraph - 1}", callback_data=encode(Paragraph(tag, paragraph - 1))))
    if paragraph < count:
        row.append(InlineKeyboardButton(f"¶{paragraph + 1} ▶", callback_data=encode(Paragraph(tag, paragraph + 1))))
    return InlineKeyboardMarkup([row]) if row else None


def summary_keyboard(articles: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
    """One button per (document id, label) under "Which article?"."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=encode(SummaryOf(doc_tag(doc))))] for doc, label in articles]
    )


def gap_keyboard(group: int, paragraphs: Sequence[tuple[int, str]], language: str) -> InlineKeyboardMarkup:
    """Under one knowledge-gap group: one button per (corpus position, label) candidate paragraph
    ("this answers it"), then "not in the article" and "ignore"."""
    rows = [
        [InlineKeyboardButton(label, callback_data=encode(Decide(group, ANSWERS, position)))]
        for position, label in paragraphs
    ]
    rows.append(
        [
            InlineKeyboardButton(
                t(language, "gap_not_in_article"), callback_data=encode(Decide(group, NOT_IN_ARTICLE))
            ),
            InlineKeyboardButton(t(language, "gap_ignore"), callback_data=encode(Decide(group, IGNORE))),
        ]
    )
    return InlineKeyboardMarkup(rows)
