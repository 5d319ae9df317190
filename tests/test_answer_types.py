"""Asked-for facts (embeddings/data/fact_types.json): which questions ask for a fact the article may
not give, which passages state such a fact, and that no answerable question is refused by the check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embeddings.answer_types import (
    FACT_TYPES_FILE,
    FactTypesError,
    asked_attribute,
    describe,
    fact_types,
    load_fact_types,
    states,
    supplies,
)
from embeddings.corpus import load_corpus

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
EVAL_SETS = ["questions.jsonl", "holdout.jsonl", "blind2.jsonl", "blind3.jsonl", "blind4.jsonl", "blind5.jsonl"]

# Per kind: questions that ask for it, in English and in Arabic (MSA and dialect, with and without hamzas).
ASKS: dict[str, tuple[list[str], list[str]]] = {
    "age": (["How old is Kim Jong Un?", "What is Putin's age?"], ["كم عمر بوتين؟", "كيم عنده كام سنة؟"]),
    "birth": (
        ["When was Sergei Lavrov born?", "Where is Kim's birthplace?"],
        ["متى ولد كيم جونغ أون؟", "بوتين اتولد فين؟"],
    ),
    "death": (
        ["When did Stalin die?", "How did Kim Il Sung's death happen?"],
        ["متى مات ستالين؟", "متى توفي كيم جونغ إيل؟"],
    ),
    "family": (
        ["Who was Kim Jong Un's grandfather?", "Does Putin have children?", "Is Kim married?"],
        ["من هو والد كيم؟", "هل لبوتين أولاد؟", "مين مرات كيم؟", "من هو جد كيم جونغ اون"],
    ),
    "education": (
        ["Where did Kim study?", "Which university did Lavrov graduate from?"],
        ["أين درس كيم؟", "بوتين اتعلم فين؟"],
    ),
    "religion": (["What religion is Putin?", "Is Putin an Orthodox Christian?"], ["ما ديانة بوتين؟", "هل كيم مسلم؟"]),
    "took_office": (
        ["When did Sergei Lavrov become foreign minister?", "How long has Putin been in power?"],
        ["متى أصبح لافروف وزيرا للخارجية؟", "منذ متى وبوتين رئيس روسيا؟", "امتى تولى كيم الحكم؟"],
    ),
    "founding": (
        ["When was the Vostochny cosmodrome built?", "Who founded the World Institute for North Korean Studies?"],
        ["متى تأسست قاعدة فوستوشني؟", "من هو مؤسس المعهد العالمي لدراسات كوريا الشمالية؟"],
    ),
    "war_end": (
        ["When did the Korean War end?", "Who won the Korean war?", "When was the armistice signed?"],
        ["متى انتهت الحرب الكورية؟", "مين كسب الحرب الكورية؟", "امتى انهار الاتحاد السوفيتي؟"],
    ),
    "election": (["How many votes did Putin get in the last election?"], ["كم نسبة التصويت لبوتين في الانتخابات؟"]),
    "military": (
        ["How many soldiers does North Korea have?", "How big is the Russian army?"],
        ["كم عدد جنود كوريا الشمالية؟", "ما حجم الجيش الروسي؟"],
    ),
    "population": (["What is the population of Vladivostok?"], ["كم عدد سكان موسكو؟", "كم واحد عايش في بيونغ يانغ؟"]),
    "staff": (
        ["How many people work at the World Institute for North Korean Studies?", "How many employees does it have?"],
        ["كم عدد موظفي المعهد؟", "قديش موظف في المعهد؟"],
    ),
    "trade": (
        ["How much does Russia export in oil each year?", "What are North Korea's main exports?"],
        ["ما هي صادرات كوريا الشمالية؟", "كم حجم التبادل التجاري بين روسيا وكوريا الشمالية؟"],
    ),
    "economy": (
        ["What is North Korea's GDP?", "How much does Russia spend on defence?"],
        ["ما هو الناتج المحلي لروسيا؟", "كم ميزانية الجيش الروسي؟"],
    ),
    "currency": (
        ["What is North Korea's currency?", "What is the ruble to dollar exchange rate?"],
        ["ما هي عملة كوريا الشمالية؟", "كم سعر صرف الروبل؟"],
    ),
    "money": (
        ["What is Putin's salary?", "How much does a satellite cost?", "How rich is Kim?"],
        ["كم راتب بوتين؟", "كم ثروة كيم؟", "كم تكلفة القمر الصناعي؟"],
    ),
    "language": (
        ["What language do they speak in North Korea?", "Does Kim speak Russian?"],
        ["ما هي لغة كوريا الشمالية؟", "هل يتكلم كيم الروسية؟"],
    ),
    "capital": (
        ["What is the capital of France?", "What is South Korea's capital?"],
        ["ما هي عاصمة اليابان؟", "عاصمة أستراليا إيه؟"],
    ),
    "area": (
        ["What is the total area of North Korea?", "How big is the cosmodrome?"],
        ["ما مساحة روسيا؟", "كم كيلومتر مربع مساحة كوريا؟"],
    ),
    "dimensions": (
        ["How tall is Putin?", "How long is the Trans-Siberian Railway?"],
        ["كم طول بوتين؟", "ما ارتفاع برج موسكو؟"],
    ),
    "weather": (
        ["What's the weather like in London tomorrow?", "Will it rain in Vladivostok?"],
        ["كيف حالة الطقس في موسكو اليوم؟", "هل تمطر في سيول؟"],
    ),
    "distance": (
        ["How far is Vladivostok from Pyongyang?", "What is the range of North Korea's missiles?"],
        ["كم المسافة بين موسكو وفلاديفوستوك؟", "كم يبعد المعهد عن سيول؟"],
    ),
    "career": (
        ["What did Shoigu do before he was defence minister?", "What was Lavrov's previous job?"],
        ["ماذا كان يعمل لافروف قبل أن يصبح وزيرا؟", "شو كان يشتغل شويغو قبل؟"],
    ),
    "year": (
        ["In what year did Ahn Chan-il defect?", "Which year did the war start?"],
        ["في أي عام انشق آن تشان إيل؟"],
    ),
    "food": (["What did they eat at the lunch?", "What was on the menu?"], ["شو أكلوا على الغدا؟", "الأكل كان ايه؟"]),
    "clothes": (["What was Putin wearing?", "What did Kim wear?"], ["شو كان لابس كيم بالقمة؟", "ماذا ارتدى بوتين؟"]),
    "return": (["When will Kim return home?", "When did Kim go back to Pyongyang?"], ["إمتى رجع كيم لبلده؟"]),
}

# Questions the article answers, worded close to the patterns: none asks for one of the kinds.
ASKS.update(
    {
        "attendance": (
            ["How many people were in the North Korean delegation?", "How many journalists attended the lunch?"],
            ["كم شخص حضر الغداء؟", "قديش عدد الحضور؟"],
        ),
        "life_event": (["When did Ahn Chan-il defect?", "When did Lavrov retire?"], ["امتى انشق آن تشان إيل؟"]),
        "outcome": (
            ["Did North Korea end up sending the shells?", "Did the deal eventually go ahead?"],
            ["كوريا بعتت قذايف لروسيا بعد القمة ولا لأ؟", "شو صار بالنهاية بالصفقة؟"],
        ),
    }
)
ASKS["name"] = (
    ["What's the name of the Chinese spokeswoman?", "what is Kim's train called?"],
    ["ما اسم المتحدثة باسم الخارجية الصينية؟", "وزير الصناعة الروسي شو اسمه؟"],
)
ASKS.update(
    {
        "ideology": (
            ["what's north korea's official state ideology", "Is North Korea a communist country?"],
            ["ما هي أيديولوجية كوريا الشمالية؟", "شو نظام الحكم بكوريا؟"],
        ),
        "opinion": (
            ["What do you think about the summit?", "Is Putin a good leader?"],
            ["ما رأيك في القمة؟", "انت مع مين؟ مع روسيا ولا ضد؟", "بوتين زعيم كويس؟"],
        ),
        "gift": (["What gifts did Kim and Putin exchange?"], ["شو الهدايا اللي تبادلوها؟"]),
        "residence": (["Where does Ahn Chan-il live?"], ["وين ساكن آن تشان إيل؟"]),
        "headquarters": (["Where is the World Institute for North Korean Studies headquartered?"], ["وين مقر المعهد؟"]),
        "stay_length": (["How long will Kim stay in Russia?"], ["كم يوم رح يقعد كيم بروسيا؟"]),
        "clock_time": (["What time did the talks start?"], ["الساعه كم بدأت المحادثات؟"]),
        "health": (["Is Kim in good health?"], ["كيف صحة كيم؟"]),
        "hobby": (["What are Kim's hobbies?"], ["شو هوايات كيم؟"]),
    }
)
ASKS["military"][0].append("How many missiles does North Korea have?")
ASKS.update(
    {
        "month": (
            ["In which month of 2019 did Kim visit Vladivostok?"],
            ["زيارة كيم لفلاديفوستوك سنة 2019 كانت بأي شهر؟"],
        ),
        "comparison": (
            ["Is North Korea's army bigger than Russia's?"],
            ["الجيش الكوري الشمالي أكبر ولا الجيش الروسي؟"],
        ),
        "said": (["what did lavrov say during the talks"], ["ماذا قال لافروف؟"]),
        "beginning": (["When did North Korea's nuclear programme start?"], ["متى بدأ البرنامج النووي الكوري الشمالي"]),
        "life_reason": (["Why did Ahn Chan-il defect?"], ["ليش انشق آن تشان إيل عن كوريا الشمالية؟"]),
        "invitation": (["did kim invite putin to come to pyongyang"], ["هل دعا كيم بوتين لزيارة بيونغ يانغ؟"]),
        "agreement": (
            ["what did kim and putin agree on at the 2019 vladivostok meeting"],
            ["ايش الاتفاقات اللي طلعت من لقاء فلاديفوستوك سنة 2019؟"],
        ),
        "count": (["How many carriages does Kim's train have?"], ["كم عربة بقطار كيم المصفح؟"]),
        "pastime_topic": (
            ["what is the best movie tonight", "who won the football match yesterday"],
            ["عطيني طريقة الكبسة", "اعطيني وصفة كنافة"],
        ),
    }
)
ASKS["speed"] = (
    ["How fast is Kim's armoured train?", "What's the top speed of the missile?"],
    ["كم سرعة قطار كيم المدرع؟"],
)
ASKS["family"][1].append("مين كان أبو كيم جونغ أون؟")
ASKS["war_end"][1].append("امتى حتخلص الحرب في أوكرانيا؟")
ASKS["food"][0].append("what was Putin actually drinking during the toast?")
ASKS["food"][1].append("شو كان بيشرب بوتين؟")

NOT_ASKED = [
    "What did Putin drink a toast to?",
    "ماذا شرب بوتين نخب؟",
    "When did Kim leave North Korea?",
    "Has anything been announced so far about an arms deal?",
    "How quickly did Kim travel to Russia?",
    "Does Kim think Russia will win?",
    "ماذا تعتقد واشنطن؟",
    "What does Kim find interesting, according to Putin?",
    "هل وصل كيم بسرعة؟",
    "ماذا فعلا بعد المحادثات؟",
    "How long were the formal talks?",
    "ما طول المحادثات الرسمية؟",
    "How long has Russia been fighting in Ukraine?",
    "When did Kim leave the North Korean capital?",
    "متى غادر كيم العاصمة الكورية الشمالية؟",
    "What price will North Korea pay if it arms Russia?",
    "بأي طريقة وصل كيم؟",
    "ما الثمن الذي ستدفعه كوريا الشمالية؟",
    "ما العرض العسكري الذي سيحضره الزعيم الكوري الشمالي؟",
    "Who is Pyongyang's main political and economic backer?",
    "من هو الداعم السياسي والاقتصادي الأساسي لبيونغ يانغ؟",
    "ما هو المعهد العالمي لدراسات كوريا الشمالية ومن يرأسه؟",
    "What is the World Institute for North Korean Studies?",
    "What is the Korean name for the Sea of Japan?",
    "Is there room for military cooperation with North Korea?",
    "هل هناك مساحة للتعاون العسكري مع كوريا الشمالية؟",
    "ما هو عمل آن تشان إيل؟",
    "Could North Korean arms change the course of the war in Ukraine?",
    "Which weapons could have a major impact on the war in Ukraine?",
    "Could Russia help North Korea build satellites?",
    "When did Kim and Putin open the talks?",
    "Did North Korea succeed in putting a satellite into orbit?",
    "Which Russian ministers took part in the talks?",
    "And which one is in charge of defence?",
    "How deep are the ties between Russia and North Korea?",
    "What is the price of arming Russia?",
    "ما تكلفة تسليح روسيا؟",
    "Did Russia distance itself from the sanctions?",
    "من أي عاصمة انطلق كيم؟",
    "ما الذي تريد كوريا تحديثه في سلاح الجو؟",  # the air force, not the weather
    "هل سافر كيم عبر الجو؟",
    "هل كان الجو وديا في القمة؟",
    "How long was Kim's train journey?",
]

# Passages that do state each kind (in English and in Arabic): the check is not vacuous.
STATED: dict[str, tuple[str, str]] = {
    "age": ("Kim, 39 years old, arrived by train.", "وصل كيم البالغ من العمر 39 عاما بالقطار"),
    "birth": ("Lavrov was born in Moscow in 1950.", "ولد لافروف في موسكو عام 1950"),
    "death": ("Kim Il Sung died in 1994.", "توفي كيم إيل سونغ عام 1994"),
    "family": ("Kim Jong Un is the grandson of Kim Il Sung.", "كيم جونغ أون هو حفيد كيم إيل سونغ، وزوجته ري سول جو"),
    "education": ("Kim studied in Switzerland.", "درس كيم في سويسرا ثم في جامعة كيم إيل سونغ"),
    "religion": ("Putin is a member of the Russian Orthodox Church.", "بوتين عضو في الكنيسة الأرثوذكسية الروسية"),
    "took_office": ("Lavrov became foreign minister in 2004.", "أصبح لافروف وزيرا للخارجية عام 2004"),
    "founding": ("The cosmodrome was founded in 2011.", "تأسست القاعدة عام 2011"),
    "war_end": ("The Korean War ended with an armistice in 1953.", "انتهت الحرب الكورية بهدنة عام 1953"),
    "election": ("Putin was re-elected with 87% of the vote.", "أعيد انتخاب بوتين بنسبة 87% من الأصوات"),
    "military": ("North Korea has 1.2 million troops.", "يبلغ عدد الجيش الكوري الشمالي 1.2 مليون جندي"),
    "population": ("Vladivostok, a port of 600,000 inhabitants", "يبلغ عدد سكان فلاديفوستوك 600 ألف نسمة"),
    "staff": ("The institute has 40 researchers.", "يعمل في المعهد 40 باحثا"),
    "trade": ("Russian oil exports reached 7 million barrels a day.", "بلغت صادرات النفط الروسية 7 ملايين برميل يوميا"),
    "economy": (
        "North Korea's GDP is estimated at $28 billion.",
        "يقدر الناتج المحلي لكوريا الشمالية بـ28 مليار دولار",
    ),
    "currency": ("The North Korean won is the country's currency.", "الوون هو عملة كوريا الشمالية"),
    "money": ("Putin's declared salary is 10 million roubles.", "يبلغ راتب بوتين المعلن 10 ملايين روبل"),
    "language": ("Kim speaks fluent English.", "يتحدث كيم الإنجليزية بطلاقة"),
    "capital": ("Pyongyang, the capital of North Korea", "بيونغ يانغ عاصمة كوريا الشمالية"),
    "area": ("The base covers 700 square kilometres.", "تبلغ مساحة القاعدة 700 كيلومتر مربع"),
    "dimensions": ("The tower is 540 metres tall.", "يبلغ ارتفاعه 540 مترا"),
    "weather": ("The temperature in Vladivostok was 20 degrees.", "كانت درجة الحرارة في فلاديفوستوك 20 درجة"),
    "distance": ("Vladivostok lies 700 kilometres from Pyongyang.", "تبعد فلاديفوستوك 700 كيلومتر عن بيونغ يانغ"),
    "career": ("Shoigu formerly served as emergencies minister.", "شغل شويغو منصب وزير الطوارئ سابقا"),
    "year": ("He defected in 1996.", "انشق عام 1996"),
    "attendance": ("Some 40 officials accompanied him.", "رافقه 40 مسؤولا"),
    "ideology": ("the Juche ideology of the state", "أيديولوجية جوتشي"),
    "opinion": ("In my opinion, the summit matters.", "في رأيي القمة مهمة"),
    "gift": ("Kim presented Putin with a rifle.", "أهدى كيم بوتين بندقية"),
    "residence": ("Ahn lives in Seoul.", "يعيش في سيول"),
    "headquarters": ("The institute is based in Seoul.", "ومقره سيول"),
    "stay_length": ("a six-day visit", "زيارة تستمر ستة أيام"),
    "clock_time": ("The talks began at 1 pm.", "بدأت المحادثات الساعة 1"),
    "health": ("Kim's health has worried officials.", "أثارت صحته قلق المسؤولين"),
    "hobby": ("His favourite sport is basketball.", "رياضته المفضلة كرة السلة"),
    "pastime_topic": ("The film was shown in Moscow.", "عرض الفيلم في موسكو"),
    "beginning": ("The programme began in 1956.", "بدأ البرنامج عام 1956"),
    "life_reason": ("He defected because of the famine.", "انشق بسبب المجاعة"),
    "invitation": ("Kim invited Putin to Pyongyang.", "وجه كيم دعوة لبوتين"),
    "agreement": ("The two sides signed an agreement.", "وقع الطرفان اتفاقا"),
    "month": ("He visited in April 2019.", "زار المدينة في أبريل"),
    "comparison": ("Its army is bigger than Russia's.", "جيشها أكبر من جيش روسيا"),
    "speed": ("The train travels at 60 km per hour.", "يسير القطار بسرعة 60 كيلومترا في الساعة"),
    "life_event": ("He defected in 1996.", "انشق عام 1996"),
    "outcome": ("The shells were subsequently delivered.", "وصلت الشحنة في وقت لاحق"),
    "food": ("Caviar and soup were served.", "تضمنت قائمة الطعام أطباقا كورية"),
    "clothes": ("Kim wore a dark suit.", "ارتدى كيم بدلة داكنة"),
    "return": ("Kim returned to Pyongyang on Sunday.", "عاد كيم إلى بيونغ يانغ الأحد"),
}


@pytest.fixture(scope="module")
def passages():
    return load_corpus(SEEDS).passages


# Dialect orders and forms from the 2026-12-07 tuning set (blind11): how long someone has held a post,
# a stay's length with its verb after the noun, "did it happen afterwards, or not?", a date asked last.
for kind, english, arabic in (
    ("took_office", [], ["لافروف صار له كم سنة وزير خارجية", "لافروف شكد صارله وزير خارجية"]),
    ("stay_length", [], ["الزيارة كم يوم رح تطول"]),
    ("outcome", ["did putin visit north korea after this"], ["بوتين زار كوريا الشمالية بعدها ولا لا"]),
    ("life_event", [], ["آن تشان إيل هرب من كوريا الشمالية إمتى"]),
    ("family", [], ["بنت كيم جات معاه؟"]),
    ("name", [], ["اسم القناة الروسية اللي نقلت الكلام ايه", "شنو اسم المترجم اللي ترجم كلام كيم"]),
):
    ASKS[kind][0].extend(english)
    ASKS[kind][1].extend(arabic)
NOT_ASKED.extend(["Was there a meal after the talks?", "did they eat together after the meeting?", "شو صار بعدين؟"])


def test_the_data_file_loads_with_every_kind_described_in_both_languages() -> None:
    kinds = fact_types()
    assert kinds is fact_types()  # read once
    assert set(load_fact_types(FACT_TYPES_FILE)) == set(kinds)
    assert {"age", "birth", "population", "weather", "distance", "founding"} <= set(kinds)  # the first six
    for name in kinds:
        for language in ("en", "ar"):
            assert describe(name, language).strip()
    assert describe("staff", "en") == "how many people work there"
    assert describe("staff", "ar") == "كم عدد العاملين فيه"
    assert describe("staff", "fr") == describe("staff", "en")


def test_every_kind_has_examples_here() -> None:
    # A name, a count or a quote depends on the question: tests/test_names.py, test_counts.py, test_speakers.py.
    assert set(ASKS) == set(fact_types()) == set(STATED) | {"name", "count", "said"}


@pytest.mark.parametrize("kind", sorted(ASKS))
def test_each_kind_is_asked_for_in_english_and_arabic(kind: str) -> None:
    english, arabic = ASKS[kind]
    assert english and arabic
    for question in english + arabic:
        assert asked_attribute(question) == kind, question


@pytest.mark.parametrize("question", NOT_ASKED)
def test_questions_the_article_answers_do_not_ask_for_a_fact_kind(question: str) -> None:
    assert asked_attribute(question) is None


@pytest.mark.parametrize("kind", sorted(STATED))
def test_a_passage_that_gives_the_fact_states_it(kind: str) -> None:
    english, arabic = STATED[kind]
    assert states(kind, {"en": english})
    assert states(kind, {"ar": arabic})


def test_which_year_is_asked_for_and_stated_only_where_a_year_is_given(passages) -> None:
    assert asked_attribute("اتقابلوا سنة كام قبل كده؟") == "year"  # Egyptian "which year"
    assert asked_attribute("In what year did Ahn Chan-il defect?") == "year"
    assert [p.paragraph for p in passages if states("year", p.views())] == [11]


def test_the_seed_article_states_none_of_the_kinds(passages) -> None:
    """The summit report gives no age, relative, currency, staff count... so each such question is refused.

    It does give counts and durations ("nearly two hours", "two ballistic missiles", "failed twice",
    "a year and a half", "in 2019"), which the answer types see and the fact kinds must not mistake
    for a height, a troop count or an age."""
    assert len(passages) == 22
    for kind in fact_types():
        stating = [p.paragraph for p in passages if states(kind, p.views())]
        # A year is the one such fact the report gives: "a previous trip ... in 2019" (a life event needs one).
        # "Sunday evening" is a time of day: "What time did Kim leave?" is answered by ¶16.
        # ¶2: "a possible deal to deliver military equipment" answers "did they sign a deal?".
        # "For more than a year and a half" (¶6), "since 2019" (¶11), "since the start of the pandemic" (¶16)
        # say since when; ¶9's "over its nuclear programmes" is a reason; ¶1 and ¶5's "great victory" an outcome.
        expected = {
            "year": [11],
            "life_event": [11],
            "clock_time": [16],
            "agreement": [2],
            "beginning": [6, 11, 16],
            "life_reason": [9],
            "war_end": [1, 5],
        }.get(kind, [])
        assert stating == expected, f"{kind} stated by ¶{stating}"
        # (The name kind never matches here: embeddings/names.py decides it.)
    by_number = {p.paragraph: p.views() for p in passages}
    assert supplies("quantity", by_number[4])  # nearly two hours of talks
    assert supplies("quantity", by_number[17])  # two ballistic missiles
    assert supplies("time", by_number[11])  # in 2019
    assert not states("dimensions", by_number[4]) and not states("staff", by_number[4])
    assert not states("military", by_number[17])
    assert not states("capital", by_number[16])  # "left the North Korean capital" does not say which city
    assert not states("money", by_number[22])  # "will pay the price"
    assert not states("education", by_number[20])  # the World Institute for North Korean Studies


def _answerable(name: str) -> list[dict]:
    lines = (REPO / "eval" / name).read_text(encoding="utf-8").splitlines()
    return [q for q in map(json.loads, filter(None, lines)) if q["type"] != "offtopic"]


@pytest.mark.parametrize("name", EVAL_SETS)
def test_no_answerable_question_is_refused_by_the_fact_check(name: str, passages) -> None:
    """A question flagged with a kind no passage states is refused whatever its score: none may be answerable."""
    questions = _answerable(name)
    assert questions
    refused = [
        (q["id"], kind, q["question"])
        for q in questions
        # names, counts and quotes depend on the question: tests/test_names.py, test_counts.py, test_speakers.py
        if (kind := asked_attribute(q["question"])) not in (None, "name", "count", "said")
        and not any(states(kind, p.views()) for p in passages)
    ]
    assert refused == []


def _write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "fact_types.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return path


def _kind(**changes: object) -> dict:
    kind = {
        "asks": {"en": ["how old"], "ar": ["كم عمر\\w*"]},
        "states": {"en": ["\\d+ years old"]},
        "describe": {"en": "how old they are", "ar": "كم يبلغ عمره"},
    }
    kind.update(changes)
    return {"kinds": {"age": kind}}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid UTF-8 JSON"),
        ({"kinds": {}}, '"kinds"'),
        (_kind(asks={"en": ["how old"]}), "no patterns for ['ar']"),
        (_kind(asks={"en": ["how (old"], "ar": ["عمر"]}), "invalid regular expression"),
        (_kind(asks={"en": ["(old)?"], "ar": ["عمر"]}), "matches the empty string"),
        (_kind(asks={"en": ["how old"], "ar": ["كم عمرة"]}), "normalise() folds away"),
        (_kind(describe={"en": "how old they are"}), "describe"),
        (_kind(say={"en": "x"}), "unknown field"),
    ],
)
def test_a_malformed_file_is_reported_with_its_name(tmp_path: Path, content: object, message: str) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(FactTypesError) as error:
        load_fact_types(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_a_missing_file_is_reported_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(FactTypesError) as error:
        load_fact_types(path)
    assert str(error.value).startswith(f"{path}: cannot read")


def test_a_valid_file_loads(tmp_path: Path) -> None:
    kinds = load_fact_types(_write(tmp_path, _kind()))
    assert list(kinds) == ["age"]
    assert kinds["age"].asks.search("كم عمره")
    assert not kinds["age"].asks.search("how older")  # whole words
