"""Dialect question and function words are read as their MSA equivalents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings import dialect
from embeddings.dialect import DIALECTS, DialectDataError, dialect_words, load_dialect, to_msa
from embeddings.normalize import normalise

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    yield
    load_dialect.cache_clear()


# --- the data file ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "msa"),
    [
        ("شكد قديش قداش كام", "كم"),
        ("منو مين شكون مينو", "من"),
        ("وين فين فاين", "أين"),
        ("شلون ازاي إزاي كيفاش", "كيف"),
        ("ليش ليه علاش لويش", "لماذا"),
        ("شو ايش إيش وش شنو ايه إيه شنهو واش", "ماذا"),
        ("امتى إمتى امتا وقتاش", "متى"),
        ("بده بدّه بغا يبغى يبي عايز عاوز", "يريد"),
        ("ويا", "مع"),
        ("ده هيدا هاد هادا هاذا", "هذا"),
        ("دي هيدي هذي", "هذه"),
        ("اللي", "الذي"),
        ("مش مو مب", "ليس"),
        ("هلق هلأ دلوقتي الحين توا", "الآن"),
        ("برضه كمان", "أيضا"),
        ("وايد كتير برشا", "كثير"),
        ("حكى", "قال"),
        ("شاف", "رأى"),
    ],
)
def test_dialect_words_map_to_msa(words: str, msa: str) -> None:
    for word in words.split():
        assert to_msa(word) == normalise(msa), word
        assert load_dialect().words[normalise(word)] == normalise(msa)


def test_data_file_covers_every_dialect_and_says_what_it_left_out() -> None:
    data = load_dialect()
    assert set().union(*data.dialects.values()) == set(DIALECTS)
    assert set(data.kinds.values()) == {"question", "function", "verb", "noun"}
    assert len(data.words) > 150
    for word in ("عمل", "سوى", "ماشي", "الي", "دول"):
        assert word in data.left_out
        assert normalise(word) not in data.words


def test_a_malformed_data_file_is_reported_with_its_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "dialect.json"
    monkeypatch.setattr(dialect, "_data_path", lambda: bad)
    load_dialect.cache_clear()
    bad.write_text('{"entries": [{"msa": "من", "kind": "question", "egyptian": "مين"}]}', encoding="utf-8")
    with pytest.raises(DialectDataError, match=r"dialect\.json: entries\[1\]\.egyptian must be a non-empty list"):
        load_dialect()
    load_dialect.cache_clear()
    bad.write_text('{"entries": [{"msa": "من", "kind": "question", "egyptian": ["مين"]}, '
                   '{"msa": "ماذا", "kind": "question", "levantine": ["مين"]}]}', encoding="utf-8")  # fmt: skip
    with pytest.raises(DialectDataError, match=r"dialect\.json: 'مين' maps to both"):
        load_dialect()
    load_dialect.cache_clear()
    bad.write_text("[]", encoding="utf-8")
    with pytest.raises(DialectDataError, match=r"dialect\.json: must hold a JSON object"):
        load_dialect()


# --- rewriting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("وليش", "ولماذا"),
        ("بكام", "بكم"),
        ("لمين", "لمن"),
        ("ومش", "وليس"),
        ("لوين", "لاين"),
        ("فوين", "اين"),  # ف + أين is Maghrebi فاين, itself أين
        ("وين ما كان", "اين ما كان"),
        ("هالاجتماع", "هذا الاجتماع"),
        ("وهالاجتماع", "وهذا الاجتماع"),
    ],
)
def test_glued_prefixes_are_kept(text: str, expected: str) -> None:
    assert to_msa(text) == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("مين وزير الصناعة اللي حضر؟", "من وزير الصناعة الذي حضر"),
        ("وين التقوا الزعيمين؟", "أين التقوا الزعيمين"),
        ("شو قال بوتين عن العقوبات؟", "ماذا قال بوتين عن العقوبات"),
        ("هو كيم راح روسيا ازاي؟", "هو كيم ذهب روسيا كيف"),
        ("رح يزور كيم مصانع طيارات؟", "سيزور كيم مصانع طائرات"),
        ("هل رح يزور كيم مصانع؟", "هل سيزور كيم مصانع"),
        ("هما اتقابلوا قبل كده امتى؟", "هما التقوا قبل هكذا متى"),
        ("كيم شنو قال عن العلاقات ويا روسيا؟", "كيم ماذا قال عن العلاقات مع روسيا"),
        ("شو الشي اللي خايفة منه واشنطن من هالاجتماع؟", "ماذا الشيء الذي خايفة منه واشنطن من هذا الاجتماع"),
        ("إيش يصير لكوريا الشمالية لو عطت روسيا سلاح؟", "ماذا يحدث لكوريا الشمالية لو أعطت روسيا سلاح"),
        ("أنهي أسلحة ممكن كوريا تديها لروسيا؟", "أي أسلحة ممكن كوريا تديها لروسيا"),
        ("بس ليه؟", "لكن لماذا"),
        ("كيم بس؟", "كيم فقط"),
        ("الحين وين كيم؟", "الآن أين كيم"),
    ],
)
def test_dialect_questions_read_as_msa(question: str, expected: str) -> None:
    assert to_msa(question) == normalise(expected)


def test_dialect_words_lists_what_was_mapped() -> None:
    assert dialect_words("هو كيم راح روسيا ازاي؟") == ["راح", "ازاي"]
    assert dialect_words("وليش بدهم مساعدة؟") == ["وليش", "بدهم"]
    assert dialect_words("ماذا قال بوتين عن العقوبات؟") == []


@pytest.mark.parametrize(
    "msa",
    [
        "في ذلك الحين",  # الحين: "the time", not Gulf "now"
        "أنهى الزعيمان المحادثات",  # أنهى "ended", not Egyptian أنهي "which"
        "لدى روسيا أسلحة",  # لدى is not ل + دي
        "وجه كيم دعوة",  # وجه is not و + جه
        "المحيط الهادئ",
        "عمل الوفدان معا كما يلي",
        "الدول الغربية",
    ],
)
def test_msa_is_left_alone(msa: str) -> None:
    assert dialect_words(msa) == []
    assert to_msa(msa) == normalise(msa)


def test_the_article_has_no_dialect_words() -> None:
    for path in sorted((REPO / "seeds").glob("*.txt")):
        if path.name.count(".") == 1:  # the Arabic original, not a translation
            assert dialect_words(path.read_text(encoding="utf-8")) == [], path.name


def test_every_word_with_every_prefix_is_stable() -> None:
    data = load_dialect()
    for word in [*data.words, *data.future_particles]:
        for prefix in ("", *data.prefixes):
            once = to_msa(prefix + word)
            assert to_msa(once) == once, prefix + word


_ARABIC = st.text(alphabet="ابتثجحخدذرزسشصضطظعغفقكلمنهويىةءأإآؤئ", min_size=1, max_size=6)


@st.composite
def _dialect_text(draw: st.DrawFn) -> str:
    data = load_dialect()
    word = st.sampled_from(sorted({*data.words, *data.future_particles, "الحين", "ذلك", "يزور", "هالاجتماع"}))
    prefix = st.sampled_from(["", *data.prefixes, "هال"])
    pieces = draw(st.lists(st.tuples(prefix, word | _ARABIC), max_size=8))
    separators = draw(st.lists(st.sampled_from([" ", "، ", "؟ ", "\n"]), min_size=len(pieces), max_size=len(pieces)))
    return "".join(p + w + s for (p, w), s in zip(pieces, separators, strict=True))


@given(_dialect_text())
@settings(max_examples=400, deadline=None)
def test_to_msa_is_idempotent(text: str) -> None:
    once = to_msa(text)
    assert to_msa(once) == once
    assert once == normalise(once)


@given(st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_never_raises_on_arbitrary_text(text: str) -> None:
    once = to_msa(text)
    assert to_msa(once) == once
    assert isinstance(dialect_words(text), list)
