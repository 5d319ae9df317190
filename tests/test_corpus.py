"""Loading seeds/: paragraphs, alignment with the translation, stable ids, new articles, bad folders."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from embeddings.corpus import (
    AlignmentError,
    Corpus,
    CorpusError,
    corpus_from_json,
    corpus_to_json,
    example_questions,
    load_corpus,
    split_paragraphs,
    split_sentences,
)

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
DOC = "000_54d2f6cd4b201a0d"


def test_split_paragraphs_on_blank_lines() -> None:
    text = "First  paragraph\nstill first.\n\n\nSecond.\r\n  \r\nThird."
    assert split_paragraphs(text) == ["First paragraph still first.", "Second.", "Third."]


def test_file_without_blank_lines_is_one_paragraph_per_line() -> None:
    assert split_paragraphs("one\ntwo\n\nthree") == ["one two", "three"]
    assert split_paragraphs("one\ntwo\nthree\n") == ["one", "two", "three"]
    assert split_paragraphs("  \n\n ") == []


def test_split_sentences_english_and_arabic() -> None:
    assert split_sentences('He said: "Yes." Then he left! Why? Fine') == (
        'He said: "Yes."',
        "Then he left!",
        "Why?",
        "Fine",
    )
    assert split_sentences("أين التقيا؟ في روسيا. هذا كل شيء") == ("أين التقيا؟", "في روسيا.", "هذا كل شيء")
    assert split_sentences("no end mark") == ("no end mark",)


def test_real_article_has_22_aligned_paragraphs(corpus: Corpus) -> None:
    assert [d.id for d in corpus.documents] == [DOC]
    document = corpus.documents[0]
    assert document.language == "ar"
    assert document.paragraph_count == 22
    assert document.translation_path is not None and document.translation_path.name == f"{DOC}.en.txt"
    assert document.title("en").startswith("Kim Jong Un")
    assert "كيم" in document.title("ar")
    assert len(corpus.passages) == 22
    for passage in corpus.passages:
        assert passage.language == "ar" and passage.translation_language == "en"
        assert passage.translation
        assert passage.text_in("en") == passage.translation
        assert passage.text_in("ar") == passage.text


def test_passage_ids_are_doc_and_one_based_paragraph(corpus: Corpus) -> None:
    assert [p.id for p in corpus.passages] == [f"{DOC}:{n}" for n in range(1, 23)]
    assert [p.paragraph for p in corpus.passages] == list(range(1, 23))
    assert corpus.passage(f"{DOC}:1") is corpus.passages[0]
    assert corpus.passage(f"{DOC}:0") is None


def test_translation_is_aligned_paragraph_for_paragraph(corpus: Corpus) -> None:
    first, eleventh, last = corpus.passages[0], corpus.passages[10], corpus.passages[-1]
    assert first.text.startswith("(موسكو)") and first.translation.startswith("(Moscow)")
    assert "2019" in eleventh.text and "2019" in eleventh.translation
    assert "البيت الأبيض" in last.text and "White House" in last.translation


def test_sentences_for_highlighting(corpus: Corpus) -> None:
    eleventh = corpus.passages[10]
    assert len(eleventh.sentences) == 2
    assert eleventh.sentences_in("en") == (
        "This is the two leaders' first meeting since a previous trip by Kim Jong Un to Vladivostok in 2019.",
        "Washington fears that it will make it easier for North Korean weapons to be delivered to Moscow "
        "for its military operations in Ukraine.",
    )
    for passage in corpus.passages:
        assert " ".join(passage.sentences) == passage.text
        assert " ".join(passage.translation_sentences) == passage.translation


def test_ids_are_stable_across_loads() -> None:
    one, two = load_corpus(SEEDS), load_corpus(SEEDS)
    assert [p.id for p in one.passages] == [p.id for p in two.passages]
    assert one.hash == two.hash


def test_translation_with_other_paragraph_count_names_both_files_and_counts(seeds_copy: Path) -> None:
    translation = seeds_copy / f"{DOC}.en.txt"
    paragraphs = split_paragraphs(translation.read_text(encoding="utf-8"))
    translation.write_text("\n\n".join(paragraphs[:-1]), encoding="utf-8")
    with pytest.raises(AlignmentError) as excinfo:
        load_corpus(seeds_copy)
    message = str(excinfo.value)
    assert f"{DOC}.en.txt" in message and f"{DOC}.txt" in message
    assert "21" in message and "22" in message


def test_alignment_error_is_a_corpus_error() -> None:
    assert issubclass(AlignmentError, CorpusError)


def _write_article(folder: Path, doc: str, paragraphs: list[str]) -> None:
    (folder / f"{doc}.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")


def test_new_article_without_translation_or_meta_is_picked_up(seeds_copy: Path) -> None:
    before = load_corpus(seeds_copy)
    _write_article(seeds_copy, "001_moon", ["The rover landed on the Moon.", "It sent pictures home. They were sharp."])
    corpus = load_corpus(seeds_copy)
    assert [d.id for d in corpus.documents] == [DOC, "001_moon"]
    added = [p for p in corpus.passages if p.doc == "001_moon"]
    assert [p.id for p in added] == ["001_moon:1", "001_moon:2"]
    assert added[1].sentences == ("It sent pictures home.", "They were sharp.")
    assert all(p.translation is None and p.language == "en" for p in added)
    assert corpus.hash != before.hash
    # The original article keeps its ids.
    assert [p.id for p in corpus.passages[:22]] == [p.id for p in before.passages]


def test_new_arabic_article_with_translation_and_meta_is_picked_up(seeds_copy: Path) -> None:
    _write_article(seeds_copy, "002_space", ["هبطت المركبة على القمر.", "أرسلت صورا واضحة."])
    _write_article(seeds_copy, "002_space.en", ["The craft landed on the Moon.", "It sent clear pictures."])
    meta = {"title": {"ar": "المركبة", "en": "The craft"}, "source": "test", "examples": {"en": ["Where?"]}}
    (seeds_copy / "002_space.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    corpus = load_corpus(seeds_copy)
    document = next(d for d in corpus.documents if d.id == "002_space")
    assert document.language == "ar" and document.title("en") == "The craft" and document.source == "test"
    second = corpus.passage("002_space:2")
    assert second is not None
    assert second.text == "أرسلت صورا واضحة." and second.translation == "It sent clear pictures."
    assert "Where?" in example_questions(corpus, "en")


def test_a_source_note_per_language_is_read_and_survives_the_snapshot(seeds_copy: Path) -> None:
    _write_article(seeds_copy, "002_space", ["هبطت المركبة على القمر.", "أرسلت صورا واضحة."])
    meta = {"source": {"ar": "وكالة أنباء", "en": "A news agency"}}
    (seeds_copy / "002_space.meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    corpus = corpus_from_json(corpus_to_json(load_corpus(seeds_copy)))
    document = next(d for d in corpus.documents if d.id == "002_space")
    assert (document.source_in("ar"), document.source_in("en"), document.source) == (
        "وكالة أنباء",
        "A news agency",
        "A news agency",
    )
    assert document.source_in("fr") == "A news agency"  # no note in that language: the default one


def test_new_article_with_misaligned_translation_is_an_error(seeds_copy: Path) -> None:
    _write_article(seeds_copy, "003_x", ["One.", "Two.", "Three."])
    _write_article(seeds_copy, "003_x.fr", ["Un.", "Deux."])
    with pytest.raises(AlignmentError, match=r"003_x\.fr\.txt has 2 paragraphs but 003_x\.txt has 3"):
        load_corpus(seeds_copy)


def test_missing_seeds_folder_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "seeds"
    with pytest.raises(CorpusError, match=re.escape(str(missing))):
        load_corpus(missing)


def test_empty_seeds_folder_names_the_path(tmp_path: Path) -> None:
    empty = tmp_path / "empty-seeds"
    empty.mkdir()
    (empty / "README.md").write_text("not an article", encoding="utf-8")
    with pytest.raises(CorpusError, match=re.escape(str(empty))):
        load_corpus(empty)


def test_article_with_no_text_is_an_error_naming_it(seeds_copy: Path) -> None:
    (seeds_copy / "004_blank.txt").write_text("\n  \n", encoding="utf-8")
    with pytest.raises(CorpusError, match=re.escape("004_blank.txt")):
        load_corpus(seeds_copy)


def test_invalid_utf8_article_is_an_error_naming_the_file(seeds_copy: Path) -> None:
    (seeds_copy / "005_latin1.txt").write_bytes("Caf\xe9 cr\xe8me".encode("latin-1"))
    with pytest.raises(CorpusError, match=re.escape("005_latin1.txt")) as excinfo:
        load_corpus(seeds_copy)
    assert "UTF-8" in str(excinfo.value)


def test_invalid_utf8_translation_is_an_error_naming_the_file(seeds_copy: Path) -> None:
    (seeds_copy / f"{DOC}.en.txt").write_bytes(b"\xff\xfe broken")
    with pytest.raises(CorpusError, match=re.escape(f"{DOC}.en.txt")):
        load_corpus(seeds_copy)


def test_bad_meta_json_is_an_error_naming_the_file(seeds_copy: Path) -> None:
    (seeds_copy / f"{DOC}.meta.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CorpusError, match=re.escape(f"{DOC}.meta.json")):
        load_corpus(seeds_copy)


def test_utf8_bom_is_ignored(seeds_copy: Path) -> None:
    (seeds_copy / "006_bom.txt").write_bytes("\ufeffHello there.\n\nSecond.".encode())
    corpus = load_corpus(seeds_copy)
    assert corpus.passage("006_bom:1").text == "Hello there."


def test_editor_questions_summary_and_date_are_read_from_meta(corpus: Corpus) -> None:
    doc = corpus.documents[0]
    assert doc.date == "2023-09-13"
    for passage in corpus.passages:
        # The seed article has editor questions for every paragraph in both languages.
        assert len(passage.questions_in("ar")) >= 5 and len(passage.questions_in("en")) >= 5


def _with_meta(seeds_copy: Path, **changes: object) -> None:
    path = seeds_copy / f"{DOC}.meta.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta.update(changes)
    path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def test_a_corpus_snapshot_gives_back_the_same_corpus(seeds_copy: Path) -> None:
    _with_meta(seeds_copy, summary={"en": [{"text": "Kim met Putin.", "paragraph": 3}]}, date="2023-09-13")
    corpus = load_corpus(seeds_copy)
    again = corpus_from_json(json.loads(json.dumps(corpus_to_json(corpus), ensure_ascii=False)))
    assert again.passages == corpus.passages and again.hash == corpus.hash
    (document,), (original,) = again.documents, corpus.documents
    assert document.path == Path(original.path.name)  # names only: nothing reads them when serving
    assert replace(document, path=original.path, translation_path=original.translation_path) == original
    assert document.summary == {"en": (("Kim met Putin.", 3),)} and document.examples == original.examples
    with pytest.raises(CorpusError, match="snapshot"):
        corpus_from_json({"format": 99})
    with pytest.raises(CorpusError, match="snapshot"):
        corpus_from_json({"format": 1, "documents": [{}]})


def test_an_editor_summary_is_read_per_language(seeds_copy: Path) -> None:
    _with_meta(seeds_copy, summary={"en": [{"text": "Kim met Putin.", "paragraph": 3}]})
    assert load_corpus(seeds_copy).documents[0].summary == {"en": (("Kim met Putin.", 3),)}


@pytest.mark.parametrize(
    "changes",
    [
        {"questions": {"23": {"en": ["Out of range?"]}}},
        {"questions": {"x": {"en": ["Not a number?"]}}},
        {"questions": {"1": ["not by language"]}},
        {"summary": {"en": [{"text": "No paragraph."}]}},
        {"summary": {"en": [{"text": "Paragraph zero.", "paragraph": 0}]}},
    ],
)
def test_malformed_editor_data_is_an_error_naming_the_file(seeds_copy: Path, changes: dict) -> None:
    _with_meta(seeds_copy, **changes)
    with pytest.raises(CorpusError, match=re.escape(f"{DOC}.meta.json")):
        load_corpus(seeds_copy)


def test_an_article_without_editor_questions_has_none(seeds_copy: Path) -> None:
    (seeds_copy / "007_plain.txt").write_text("First paragraph.\n\nSecond paragraph.", encoding="utf-8")
    corpus = load_corpus(seeds_copy)
    assert corpus.passage("007_plain:1").questions == ()


def test_an_empty_source_note_per_language_is_no_note(seeds_copy: Path) -> None:
    _write_article(seeds_copy, "002_space", ["هبطت المركبة على القمر."])
    (seeds_copy / "002_space.meta.json").write_text(json.dumps({"source": {"en": ""}}), encoding="utf-8")
    document = next(d for d in load_corpus(seeds_copy).documents if d.id == "002_space")
    assert document.source == "" and document.source_in("ar") == ""
