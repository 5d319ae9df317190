"""What kind of answer a question wants, and whether a passage can give it.

Two uses: answer types (place, time, quantity, reason) lift the passages that hold one in the
ranking; asked-for facts (age, family, religion, currency, when a war ended, staff counts...,
listed in ``data/fact_types.json``) decide refusal, because a passage about the right person
that never states the fact cannot answer.

Classic factoid-QA evidence: "Where did they meet?" wants a paragraph that names a
place, "When...?" one with a date or time. Dense models match the *topic* of a
question well but not what kind of answer it asks for, so a small bonus for
passages that contain the right kind of answer fixes "where/when" questions that
otherwise land on a paragraph about the same event. The cues are generic (dates,
weekdays, capitalised place names after a preposition), not tied to one article.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal, NoReturn

from .datafile import compile_patterns, read_json_object
from .normalize import normalise

AnswerType = Literal["place", "time", "quantity", "reason", "means"]

_QUESTION_CUES: dict[AnswerType, re.Pattern[str]] = {
    "place": re.compile(
        r"^(where|wheres)\b|\bwhere (did|do|does|was|were|is|are|will)\b"
        r"|\b(which|what) (place|city|country|venue|location)\b"
        r"|\b(اين|وين|فين)\b|\bفي (اي|اية|أي) (مكان|مدينه|بلد|دوله)\b"
        r"|\b(مكان|موقع) (اللقا|القمه|الاجتماع)\b"
    ),
    "time": re.compile(
        r"^when\b|\bwhen (did|do|does|was|were|is|will)\b|\b(what|which) (year|day|date|time|month)\b|\bhow long ago\b"
        r"|^(متي|امتي|امتى|إمتى)\b|\b(متي|امتي)\b|\b(اي|أي) (عام|سنه|يوم|تاريخ|شهر)\b|\bفي (اي|أي) (عام|سنه|يوم)\b"
    ),
    "reason": re.compile(
        r"^why\b|\bwhy (did|do|does|was|were|is|are|would|will)\b|\bwhat (is|was) the (purpose|reason|aim|goal)\b"
        r"|^(لماذا|ليش|ليه)\b|\b(ما|شو) (الهدف|السبب|سبب|هدف)\b"
    ),
    "quantity": re.compile(r"\bhow (many|much|long)\b|^(كم)\b|\bكم (عدد|مره|ساعه|يوم|سنه|عام)\b"),
    # "How did Kim travel to Russia?", "ازاي كيم وصل روسيا؟": the means of getting somewhere. Read after
    # dialect mapping, so ازاي/شلون/كيفاش are كيف and راح is ذهب.
    "means": re.compile(
        r"\bhow (did|does|do|will|was|were|is)\b.*\b(travel|trave?ll?ed|get|got|go|went|arrive|arrived|come|came"
        r"|reach|reached|journey|transported|make it)\b|\bby what means\b"
        r"|\bكيف\b.*\b(وصل|سافر|ذهب|جا|اتي|انتقل|تنقل|جه|يسافر|يوصل|يروح)(ها|هم|ه|لها|لهم)?\b"
        r"|\b(وصل|سافر|ذهب|جا|اتي|انتقل|تنقل|جه)\b.*\bكيف\b|\bبماذا (سافر|وصل|جا)\b|\b(وسيله) (النقل|السفر)\b"
    ),
}

# "at Vladivostok", "at the Vostochny ...": news English puts the venue after "at";
# "in/to <Country>" is everywhere in a news story and says nothing about a venue.
_PLACE_EN = re.compile(r"\bat\s+(the\s+)?[A-Z][a-z]+")
_PLACE_WORDS = re.compile(
    r"\b(base|city|capital|port|region|cosmodrome|border|province|island|ocean|sea|venue)\b"
    r"|\b(قاعده|مدينه|العاصمه|مينا|منطقه|المحيط|البحر|بلد|دوله|اقليم)\b"
)
# No "غدا" (tomorrow): without its hamza "غداء" (lunch) is spelt the same, and people drop it.
_TIME = re.compile(
    r"\b(1[89]\d\d|20\d\d)\b|\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|tomorrow"
    r"|morning|evening|night|week|month|year|january|february|march|april|may|june|july|august|september|october"
    r"|november|december|since|ago)\b"
    r"|\b(الاحد|الاثنين|الثلاثا|الاربعا|الخميس|الجمعه|السبت|امس|اليوم|مسا|صباح|الاسبوع|الشهر|عام|منذ)\b"
)
_QUANTITY = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|half|dozen|hundred|thousand|million)\b"
    r"|\b(ساعتين|مرتين|اثنين|ثلاث|اربع|خمس|عشر|نصف|مئه|الف|مليون)\b"
)


# "organised to strengthen", "over its nuclear programmes", "That is why we came here", "بسبب".
_REASON = re.compile(
    r"\b(because|due to|in order to|so that|aimed at|organised to|organized to|purpose|reason|that is why|over its)\b"
    r"|\b(بسبب|لان|بهدف|من اجل|الهدف|سبب|لذلك|لهذا|لهذا السبب)\b"
)


# "aboard his armoured train", "على متن قطاره المصفح": how people travel, in news prose.
_MEANS = re.compile(
    r"\b(aboard|on board|by (train|plane|air|car|road|rail|sea|boat|ship|helicopter)|train|plane|aircraft|flight"
    r"|motorcade|convoy)\b"
    r"|\b(علي متن|قطار|قطاره|بالقطار|طائره|بالطائره|طائرته|موكب|سياره|بالسياره|رحله جويه)\b"
)


# "and"/"so" glued to an Arabic question word ("ووين", "وشلون", "وكم"): the cues match the word alone.
_GLUED_QUESTION_WORD = re.compile(
    r"(^| )[وف](?=(اين|وين|فين|متي|امتي|كيف|شلون|ازاي|كيفاش|لماذا|ليش|ليه|علاش|كم|قديش|شكد|من|مين|منو|ماذا|شو"
    r"|ايش|وش|شنو|هل|اي)\b)"
)


def question_text(question: str) -> str:
    """A question normalised for the cues here, with a conjunction glued to a question word split off."""
    return _GLUED_QUESTION_WORD.sub(r"\1", normalise(question))


def expected_type(question: str) -> AnswerType | None:
    """The kind of answer a question asks for, if it is one we can recognise."""
    text = question_text(question)
    for kind, pattern in _QUESTION_CUES.items():
        if pattern.search(text):
            return kind
    return None


def supplies(kind: AnswerType, views: dict[str, str]) -> bool:
    """Whether any language view of a passage contains an answer of ``kind``."""
    for language, text in views.items():
        folded = normalise(text)
        if kind == "place" and ((language == "en" and _PLACE_EN.search(text)) or _PLACE_WORDS.search(folded)):
            return True
        if kind == "time" and _TIME.search(folded):
            return True
        if kind == "quantity" and _QUANTITY.search(folded):
            return True
        if kind == "reason" and _REASON.search(folded):
            return True
        if kind == "means" and _MEANS.search(folded):
            return True
    return False


# Facts about people, places, organisations and events that users ask for but a news report
# seldom states: an age, a grandfather, a currency, when a war ended, how many people work
# somewhere. Dense similarity cannot tell "How old is Kim Jong Un?" from a real question about
# Kim (the name dominates), so such a question is answered only when some passage of the corpus
# states that kind of fact. The kinds live in data/fact_types.json: per kind, what in a question
# asks for it (per language), what in a passage states it, and a phrase for the reply ("The
# article does not say how many people work there."). Kinds are tried in the file's order.
Attribute = str  # a kind's name in data/fact_types.json: "age", "family", "currency"...

FACT_TYPES_FILE = Path(__file__).parent / "data" / "fact_types.json"
_KIND_NAME = re.compile(r"[a-z][a-z_]*")
_REQUIRED_LANGUAGES = ("en", "ar")


# Kinds whose presence in a passage depends on the question, decided by a module of their own.
CHECKS = (None, "name", "count", "speaker")
WORD_LISTS = ("not_names", "number_words", "not_listed", "speech_words", "person_words", "event_words")


class FactTypesError(ValueError):
    """The fact-types data file is missing or malformed; the message names the file."""


@dataclass(frozen=True, slots=True)
class FactKind:
    """One kind of asked-for fact, its patterns compiled (whole words, over normalised text)."""

    name: str
    asks: re.Pattern[str]
    states: re.Pattern[str]
    describe: dict[str, str]
    # How many of the top passages may state it. 3 by default, so a ranking slip does not refuse an
    # answerable question; 1 for facts common in any report (a year), where "some passage near the
    # top gives one" says nothing.
    within: int = 3
    # "name": whether a passage gives the fact depends on the question (the name of *what*), so the
    # retriever asks embeddings/names.py instead of ``states``; ``not_names`` are the capitalised
    # words that are not names (weekdays, nationalities, titles).
    check: str | None = None
    # The word lists a check reads (``WORD_LISTS``), lower case: "not_names" (capitalised words that
    # are not names), "number_words" ("two", "twice"), "not_listed" (too common to make a list),
    # "speech_words" ("said", "told").
    words: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))

    def word_list(self, name: str) -> frozenset[str]:
        return self.words.get(name, frozenset())


def load_fact_types(path: Path = FACT_TYPES_FILE) -> dict[str, FactKind]:
    """Read and validate a fact-types file; any problem raises :class:`FactTypesError` naming it."""

    def fail(message: str) -> NoReturn:
        raise FactTypesError(f"{path}: {message}")

    data = read_json_object(path, FactTypesError)
    if not isinstance(data.get("kinds"), dict) or not data["kinds"]:
        fail('expected an object with a non-empty "kinds" object')
    kinds: dict[str, FactKind] = {}
    for name, spec in data["kinds"].items():
        where = f"kind {name!r}"
        if not _KIND_NAME.fullmatch(name):
            fail(f"{where}: a kind's name is lower-case letters and underscores")
        if not isinstance(spec, dict):
            fail(f"{where}: expected an object")
        unknown = set(spec) - {"asks", "states", "describe", "note", "within", "check", *WORD_LISTS}
        if unknown:
            fail(
                f"{where}: unknown field(s) {sorted(unknown)}; "
                f"expected asks, states, describe, note, within, check, {', '.join(WORD_LISTS)}"
            )
        check = spec.get("check")
        if check not in CHECKS:
            fail(f"{where}: check is one of {[c for c in CHECKS if c]} or absent")
        lists = {name: spec[name] for name in WORD_LISTS if name in spec}
        for field_name, words in lists.items():
            if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
                fail(f"{where}: {field_name} is a list of words")
        within = spec.get("within", 3)
        if not isinstance(within, int) or not 1 <= within <= 10:
            fail(f"{where}: within is a whole number of top passages from 1 to 10")
        asks = compile_patterns(spec.get("asks"), f"{where}: asks", fail, required=_REQUIRED_LANGUAGES)
        # A kind with a check of its own needs no states patterns: none then match.
        states = (
            compile_patterns(spec.get("states"), f"{where}: states", fail, required=())
            if spec.get("states") or check is None
            else re.compile(r"(?!)")
        )
        describe = spec.get("describe")
        if not isinstance(describe, dict) or not all(
            isinstance(describe.get(language), str) and describe[language].strip() for language in _REQUIRED_LANGUAGES
        ):
            fail(f"{where}: describe needs a non-empty phrase for each of {list(_REQUIRED_LANGUAGES)}")
        kinds[name] = FactKind(
            name=name,
            asks=asks,
            states=states,
            describe=dict(describe),
            within=within,
            check=check,
            words=MappingProxyType({k: frozenset(w.lower() for w in v) for k, v in lists.items()}),
        )
    return kinds


@cache
def fact_types() -> Mapping[str, FactKind]:
    """The kinds of asked-for fact, in the order they are tried; read from the data file once."""
    return MappingProxyType(load_fact_types(FACT_TYPES_FILE))


def asked_attribute(question: str) -> Attribute | None:
    """The kind of fact (age, family, currency...) a question asks for, if it is one of those."""
    text = question_text(question)
    for name, kind in fact_types().items():
        if kind.asks.search(text):
            return name
    return None


def states(attribute: Attribute, views: dict[str, str]) -> bool:
    """Whether any language view of a passage states a fact of this kind."""
    pattern = fact_types()[attribute].states
    return any(pattern.search(normalise(text)) for text in views.values())


def stated_within(attribute: Attribute) -> int:
    """How many of the top passages may state a fact of this kind (see :class:`FactKind`)."""
    return fact_types()[attribute].within


def describe(attribute: Attribute, language: str) -> str:
    """A phrase that completes "The article does not say ..." for this kind, in ``language`` (else English)."""
    phrases = fact_types()[attribute].describe
    return phrases.get(language) or phrases["en"]
