"""What kind of answer a question wants, and whether a passage can give it.

Two uses: answer types (place, time, quantity, reason) lift the passages that hold one in the
ranking; asked-for facts (age, birth, population, weather, distance, founding) decide
refusal, because a passage about the right person that never states the fact cannot answer.

Classic factoid-QA evidence: "Where did they meet?" wants a paragraph that names a
place, "When...?" one with a date or time. Dense models match the *topic* of a
question well but not what kind of answer it asks for, so a small bonus for
passages that contain the right kind of answer fixes "where/when" questions that
otherwise land on a paragraph about the same event. The cues are generic (dates,
weekdays, capitalised place names after a preposition), not tied to one article.
"""

from __future__ import annotations

import re
from typing import Literal

from .normalize import normalise

AnswerType = Literal["place", "time", "quantity", "reason"]

_QUESTION_CUES: dict[AnswerType, re.Pattern[str]] = {
    "place": re.compile(
        r"^(where|wheres)\b|\bwhere (did|do|does|was|were|is|are|will)\b"
        r"|\b(which|what) (place|city|country|venue|location)\b"
        r"|\b(اين|وين|فين)\b|\bفي (اي|اية|أي) (مكان|مدينه|بلد|دوله)\b"
        r"|\b(مكان|موقع) (اللقاء|القمه|الاجتماع)\b"
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
}

# "at Vladivostok", "at the Vostochny ...": news English puts the venue after "at";
# "in/to <Country>" is everywhere in a news story and says nothing about a venue.
_PLACE_EN = re.compile(r"\bat\s+(the\s+)?[A-Z][a-z]+")
_PLACE_WORDS = re.compile(
    r"\b(base|city|capital|port|region|cosmodrome|border|province|island|ocean|sea|venue)\b"
    r"|\b(قاعده|مدينه|العاصمه|ميناء|منطقه|المحيط|البحر|بلد|دوله|اقليم)\b"
)
_TIME = re.compile(
    r"\b(1[89]\d\d|20\d\d)\b|\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|tomorrow"
    r"|morning|evening|night|week|month|year|january|february|march|april|may|june|july|august|september|october"
    r"|november|december|since|ago)\b"
    r"|\b(الاحد|الاثنين|الثلاثاء|الاربعاء|الخميس|الجمعه|السبت|امس|اليوم|غدا|مساء|صباح|الاسبوع|الشهر|عام|منذ)\b"
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


def expected_type(question: str) -> AnswerType | None:
    """The kind of answer a question asks for, if it is one we can recognise."""
    text = normalise(question)
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
    return False


# Facts about a person or place that users ask for but a news report seldom states: an age, a
# birth date, a population, the weather, a distance, when something was built. Dense similarity
# cannot tell "How old is Kim Jong Un?" from a real question about Kim (the name dominates), so
# such a question is answered only when some passage of the corpus states that kind of fact.
# Each entry: (what in a question asks for it, what in a passage states it), over normalised text.
Attribute = Literal["age", "birth", "population", "weather", "distance", "founding"]
_ATTRIBUTES: dict[Attribute, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "age": (
        re.compile(r"\bhow old\b|\b(his|her|their) age\b|\bage of\b|\bكم عمر|\bعمره\b|\bعمرها\b|\bسنه كام\b"),
        # normalise() turns "39-year-old" into "39 year old"
        re.compile(r"\b\d{1,3} years? old\b|\baged \d|\bمن العمر\b|\b\d{1,3} عاما\b"),
    ),
    "birth": (
        re.compile(r"\bborn\b|\bbirth(day|date|place)?\b|\bولد\b|\bولادته\b|\bميلاده\b|\bمواليد\b|\bتاريخ ميلاد"),
        re.compile(r"\bborn\b|\bbirth\b|\bولد\b|\bمولود\b|\bمواليد\b|\bميلاد"),
    ),
    "population": (
        re.compile(r"\bpopulation\b|\bhow many people live\b|\bسكان\b|\bعدد السكان\b"),
        re.compile(r"\bpopulation\b|\binhabitants\b|\bresidents\b|\bسكان\b|\bنسمه\b"),
    ),
    "weather": (
        re.compile(r"\bweather\b|\btemperature\b|\bforecast\b|\bالطقس\b|\bالجو\b|\bدرجه الحراره\b"),
        re.compile(r"\bweather\b|\btemperature\b|\bdegrees\b|\bالطقس\b|\bدرجه الحراره\b|\bدرجات\b"),
    ),
    "distance": (
        re.compile(
            r"\bhow far\b|\bdistance\b|\bkilomet|\bhow many (km|miles)\b"
            r"|\bالمسافه\b|\bكم كيلو|\bكم يبعد|\bكم تبعد"
        ),
        re.compile(r"\bkilomet|\bkm\b|\bmiles?\b|\bكيلومتر|\bكلم\b|\bميل\b"),
    ),
    "founding": (
        re.compile(
            # passive only: "When did they open the talks?" asks about the article's events
            r"\bwhen (was|were) .*\b(founded|established|built|opened|created|inaugurated)\b"
            r"|\bمتي (تاسس|تاسست|انشئ|انشئت|بني|بنيت|افتتح|افتتحت)"
        ),
        re.compile(
            r"\b(founded|established|inaugurated|opened in|built in)\b|\b(تاسس|تاسست|انشئ|انشئت|افتتح|افتتحت)\b"
        ),
    ),
}


def asked_attribute(question: str) -> Attribute | None:
    """The kind of fact (age, birth, population...) a question asks for, if it is one of those."""
    text = normalise(question)
    for attribute, (asks, _) in _ATTRIBUTES.items():
        if asks.search(text):
            return attribute
    return None


def states(attribute: Attribute, views: dict[str, str]) -> bool:
    """Whether any language view of a passage states a fact of this kind."""
    pattern = _ATTRIBUTES[attribute][1]
    return any(pattern.search(normalise(text)) for text in views.values())
