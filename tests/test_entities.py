"""The gazetteer (embeddings/data/entities.json): questions naming someone or something the article
never mentions are refused, and nothing the article does mention ever is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embeddings.corpus import load_corpus
from embeddings.entities import ENTITIES_FILE, EntitiesError, Mentions, entities, entity_named, load_entities

REPO = Path(__file__).resolve().parent.parent
EVAL_SETS = ["questions.jsonl", "holdout.jsonl", "blind2.jsonl", "blind3.jsonl", "blind4.jsonl", "blind5.jsonl"]


@pytest.fixture(scope="module")
def mentions() -> Mentions:
    corpus = load_corpus(REPO / "seeds")
    return Mentions([text for p in corpus.passages for text in p.views().values()])


def test_the_data_file_names_every_entity_in_both_languages() -> None:
    assert entities() is entities()  # read once
    assert len(load_entities(ENTITIES_FILE)) == len(entities()) >= 50
    for entity in entities():
        assert entity.name("en").strip() and entity.name("ar").strip()
        assert entity.name("fr") == entity.name("en")
    assert entity_named("zelensky") is not None and entity_named("nobody") is None


@pytest.mark.parametrize(
    ("question", "key"),
    [
        ("What did Zelensky say about the Kim-Putin meeting?", "zelensky"),
        ("What was Zelensky's reaction?", "zelensky"),  # possessive
        ("شنو رد زيلينسكي على الزيارة؟", "zelensky"),
        ("وش قال لزيلينسكي؟", "zelensky"),  # a clitic in front
        ("مين رئيس كوريا الجنوبية دلوقتي؟", "south_korea_president"),
        ("What did South Korea's president say about the summit?", "south_korea_president"),
        ("من هو رئيس الصين الحالي؟", "xi_jinping"),
        ("Did NATO comment?", "nato"),
        ("ما موقف الناتو؟", "nato"),
        ("هل علق بالناتو أحد؟", "nato"),
        ("When did the Korean War end?", "korean_war"),
    ],
)
def test_a_question_naming_someone_the_article_never_mentions_is_caught(mentions, question, key) -> None:
    entity = mentions.unmentioned(question)
    assert entity is not None and entity.key == key


@pytest.mark.parametrize(
    "question",
    [
        "What did the White House warn?",  # the article quotes it
        "What did Seoul say about the missile?",
        "What did Tokyo say?",
        "What does China think about the summit?",
        "ماذا قالت الصين؟",
        "Where is Vostochny?",
        "What did Kim Jong Un promise?",  # "un" is not the United Nations
        "How did Kim get there?",  # كيف is not Kyiv
    ],
)
def test_questions_about_what_the_article_mentions_are_left_alone(mentions, question) -> None:
    assert mentions.unmentioned(question) is None


def test_the_seed_article_mentions_none_of_the_gazetteer_except_by_design(mentions) -> None:
    """Every entity in the list is absent from the summit report; a new article that names one unlocks it."""
    assert {e.key for e in mentions.absent} == {e.key for e in entities()}
    unlocked = Mentions(["Zelensky said the summit was a threat."])
    assert unlocked.unmentioned("What did Zelensky say?") is None


@pytest.mark.parametrize("name", EVAL_SETS)
def test_no_answerable_question_names_an_entity_the_article_never_mentions(mentions, name: str) -> None:
    lines = (REPO / "eval" / name).read_text(encoding="utf-8").splitlines()
    questions = [q for q in map(json.loads, filter(None, lines)) if q["type"] in ("answerable", "followup")]
    assert questions
    assert [q["question"] for q in questions if mentions.unmentioned(q["question"])] == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", "must hold a JSON object"),
        ({"entities": {}}, "non-empty"),
        ({"entities": {"Bad Key": {"names": {"en": "x", "ar": "س"}, "aliases": {"en": ["x"]}}}}, "lower-case"),
        ({"entities": {"x": {"names": {"en": "x"}, "aliases": {"en": ["x"]}}}}, "names needs"),
        ({"entities": {"x": {"names": {"en": "x", "ar": "س"}, "aliases": {}}}}, "aliases needs"),
        ({"entities": {"x": {"names": {"en": "x", "ar": "س"}, "aliases": {"en": ["!!"]}}}}, "empty once normalised"),
    ],
)
def test_a_malformed_file_is_reported_with_its_name(tmp_path: Path, content: object, message: str) -> None:
    path = tmp_path / "entities.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(EntitiesError, match=message) as raised:
        load_entities(path)
    assert str(path) in str(raised.value)
