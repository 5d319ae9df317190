"""``summit-bot add``, ``articles`` and ``remove``: files and URLs into seeds/, embedded alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.articles import BRIDGE, BRIDGE_TITLE, LIBRARY, LIBRARY_TITLE, docx_file, html_page, pdf_file

from bot import cli
from embeddings.corpus import load_corpus
from embeddings.store import corpus_units


@pytest.fixture
def fake_cli(seeds_copy: Path, fake_embedder, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    monkeypatch.setenv("SUMMIT_EMBEDDER", "fake")

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    assert run("index")[0] == 0
    return run


def test_add_embeds_only_the_new_article(fake_cli, fake_embedder, seeds_copy: Path, tmp_path: Path) -> None:
    page = tmp_path / "library.html"
    page.write_bytes(html_page())
    before = fake_embedder.passages_embedded + fake_embedder.queries_embedded
    code, out, err = fake_cli("add", str(page))
    assert code == 0, err
    corpus = load_corpus(seeds_copy)
    new = corpus.documents[-1]
    assert out.startswith(f"added {new.id}: {LIBRARY_TITLE} (2026-11-01; 3 paragraphs; en)")
    new_units = [u for u, _ in corpus_units(corpus) if corpus.passages[u.passage].doc == new.id]
    assert fake_embedder.passages_embedded + fake_embedder.queries_embedded - before == len(new_units)
    code, out, _ = fake_cli("articles")
    assert code == 0 and f"2. {LIBRARY_TITLE} · 2026-11-01 · 3 ¶ · en · {new.id}" in out.splitlines()


def test_add_with_a_translation_title_source_and_date(fake_cli, seeds_copy: Path, tmp_path: Path) -> None:
    (tmp_path / "bridge.docx").write_bytes(docx_file(BRIDGE_TITLE, BRIDGE))
    (tmp_path / "bridge.ar.txt").write_text("\n\n".join(f"فقرة رقم {n} عن الجسر." for n in range(3)), encoding="utf-8")
    code, _, err = fake_cli(
        "add", str(tmp_path / "bridge.docx"), "--translation", str(tmp_path / "bridge.ar.txt"),
        "--title", "Bridge closes", "--source", "Press and Journal", "--date", "2026-11-02",
    )  # fmt: skip
    assert code == 0, err
    document = load_corpus(seeds_copy).documents[-1]
    assert (document.titles["en"], document.source, document.date) == (
        "Bridge closes",
        "Press and Journal",
        "2026-11-02",
    )
    assert document.translation_path is not None and document.translation_path.name.endswith(".ar.txt")


def test_a_translation_with_another_paragraph_count_is_refused(fake_cli, seeds_copy: Path, tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(pdf_file(BRIDGE))
    (tmp_path / "a.ar.txt").write_text("فقرة واحدة فقط عن الجسر وهي طويلة بما يكفي.", encoding="utf-8")
    names = sorted(p.name for p in seeds_copy.iterdir())
    code, _, err = fake_cli("add", str(tmp_path / "a.pdf"), "--translation", str(tmp_path / "a.ar.txt"))
    assert code == 2 and "the translation has 1 paragraphs but the article has 3" in err
    assert sorted(p.name for p in seeds_copy.iterdir()) == names


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("photo.png", b"\x89PNG", "not a format I read"),
        ("secret.pdf", pdf_file(LIBRARY, password="pw"), "encrypted"),
        ("empty.html", b"<html><body><nav>Home</nav></body></html>", "no article text"),
    ],
)
def test_bad_files_are_named_and_change_nothing(
    fake_cli, seeds_copy: Path, tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    (tmp_path / name).write_bytes(data)
    names = sorted(p.name for p in seeds_copy.iterdir())
    code, _, err = fake_cli("add", str(tmp_path / name))
    assert code == 2 and message in err and name in err
    assert sorted(p.name for p in seeds_copy.iterdir()) == names
    assert fake_cli("add", str(tmp_path / "missing.txt"))[2].count("does not exist") == 1


def test_a_bad_date_is_refused(fake_cli, tmp_path: Path) -> None:
    (tmp_path / "a.html").write_bytes(html_page())
    code, _, err = fake_cli("add", str(tmp_path / "a.html"), "--date", "yesterday")
    assert code == 2 and "'yesterday' is not a date like 2026-11-27" in err


def test_remove_by_number_and_not_the_last(fake_cli, seeds_copy: Path, tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text(f"# {BRIDGE_TITLE}\n\n" + "\n\n".join(BRIDGE), encoding="utf-8")
    assert fake_cli("add", str(tmp_path / "b.md"))[0] == 0
    code, out, _ = fake_cli("remove", "2")
    assert code == 0 and "1 articles left" in out
    assert [d.id for d in load_corpus(seeds_copy).documents] == ["000_54d2f6cd4b201a0d"]
    code, _, err = fake_cli("remove", "1")
    assert code == 2 and "only article" in err
    assert fake_cli("remove", "../etc")[0] == 2


def test_an_article_that_cannot_be_indexed_is_taken_out_again(
    fake_cli, seeds_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import articles
    from bot.services import ServiceError

    def broken(*args, **kwargs):
        raise ServiceError("disk full")

    monkeypatch.setattr(articles, "open_retriever", broken)
    (tmp_path / "a.html").write_bytes(html_page())
    names = sorted(p.name for p in seeds_copy.iterdir())
    code, _, err = fake_cli("add", str(tmp_path / "a.html"))
    assert code == 2 and "could not be indexed, so it was not added: disk full" in err
    assert sorted(p.name for p in seeds_copy.iterdir()) == names
