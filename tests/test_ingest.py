"""Articles from files and URLs: one extractor per format, the failures people will hit, the URL path
against a local HTTP server, and writing into seeds/ beside what is already there."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from fakes.articles import (
    ARABIC,
    ARABIC_FONT,
    ARABIC_TITLE,
    BRIDGE,
    BRIDGE_TITLE,
    LIBRARY,
    LIBRARY_TITLE,
    docx_file,
    html_page,
    pdf_file,
)

from embeddings import ingest
from embeddings.corpus import load_corpus
from embeddings.ingest import Article, IngestError, extract, fetch_url, kind_of, remove_article, write_article

# -- extractors ---------------------------------------------------------------------------------


def test_html_gives_the_article_text_title_date_and_source() -> None:
    article = extract(html_page(), "html")
    assert article.paragraphs == tuple(LIBRARY)  # no menu, no footer, no headline repeated
    assert (article.title, article.date, article.source, article.language) == (
        LIBRARY_TITLE,
        "2026-11-01",
        "Yorkshire Post",
        "en",
    )


def test_an_html_page_without_article_text_is_refused() -> None:
    with pytest.raises(IngestError, match="no article text"):
        extract(b"<html><body><nav>Home News</nav><p>Accept cookies</p></body></html>", "html")


@pytest.mark.skipif(not ARABIC_FONT.exists(), reason="needs DejaVu Sans (fonts-dejavu-core) for Arabic glyphs")
def test_an_arabic_pdf_comes_out_in_reading_order() -> None:
    article = extract(pdf_file(ARABIC, title=ARABIC_TITLE), "pdf")
    assert article.paragraphs == tuple(ARABIC)  # words in order, the full stop at the end, not first
    assert (article.title, article.language) == (ARABIC_TITLE, "ar")


def test_an_english_pdf_joins_wrapped_lines_into_paragraphs() -> None:
    article = extract(pdf_file(BRIDGE, title=BRIDGE_TITLE), "pdf")
    assert article.paragraphs == tuple(BRIDGE)
    assert article.title == BRIDGE_TITLE


def test_an_encrypted_pdf_is_refused_by_name() -> None:
    with pytest.raises(IngestError, match="encrypted"):
        extract(pdf_file(BRIDGE, password="secret"), "pdf")


@pytest.mark.parametrize("data", [b"%PDF-1.7\n garbage", b"not a pdf at all", pdf_file(BRIDGE)[:400]])
def test_a_corrupt_pdf_is_refused_by_name(data: bytes) -> None:
    with pytest.raises(IngestError, match="PDF"):
        extract(data, "pdf")


def test_docx_takes_the_title_style_as_title() -> None:
    article = extract(docx_file(BRIDGE_TITLE, BRIDGE), "docx")
    assert (article.title, article.paragraphs) == (BRIDGE_TITLE, tuple(BRIDGE))


def test_a_corrupt_docx_is_refused() -> None:
    with pytest.raises(IngestError, match="docx"):
        extract(b"PK\x03\x04 broken zip", "docx")


def test_markdown_heading_is_the_title_and_markup_goes() -> None:
    text = f"# {BRIDGE_TITLE}\n\n{BRIDGE[0]}\n\n**{BRIDGE[1]}**\n\n[{BRIDGE[2]}](https://example.org)\n"
    article = extract(text.encode(), "md")
    assert (article.title, article.paragraphs) == (BRIDGE_TITLE, tuple(BRIDGE))


def test_plain_text_paragraphs_and_bad_encoding() -> None:
    assert extract("\n\n".join(BRIDGE).encode(), "txt").paragraphs == tuple(BRIDGE)
    with pytest.raises(IngestError, match="not UTF-8"):
        extract("\n\n".join(BRIDGE).encode("utf-16"), "txt")


def test_too_little_text_is_not_an_article() -> None:
    with pytest.raises(IngestError, match="no article text"):
        extract(b"Hello.", "txt")


def test_a_file_over_the_size_limit_is_refused_before_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "MAX_BYTES", 1000)
    with pytest.raises(IngestError, match=r"MB; the limit is"):
        extract(b"x" * 1001, "txt")


@pytest.mark.parametrize("name", ["photo.png", "archive.zip", "README", "sheet.xlsx"])
def test_unsupported_formats_are_named(name: str) -> None:
    with pytest.raises(IngestError, match="not a format I read"):
        kind_of(name)


@pytest.mark.parametrize("name", ["../../etc/passwd.txt", "a/b.html", "..\\evil.pdf", "x\n.txt"])
def test_file_names_with_path_separators_are_refused(name: str) -> None:
    with pytest.raises(IngestError, match="not a plain file name"):
        ingest.check_file_name(name)


# -- URLs ---------------------------------------------------------------------------------------


class _Site(BaseHTTPRequestHandler):
    hits: ClassVar[dict[str, int]] = {}

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        _Site.hits[self.path] = _Site.hits.get(self.path, 0) + 1
        if self.path == "/article.html":
            self._send(200, html_page(), "text/html; charset=utf-8")
        elif self.path == "/empty":
            self._send(200, b"<html><body><nav>Home</nav><p>Subscribe!</p></body></html>", "text/html")
        elif self.path == "/slow":
            time.sleep(2)
            self._send(200, html_page(), "text/html")
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop2")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/loop2":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/flaky.html":
            if _Site.hits[self.path] == 1:
                self._send(503, b"busy", "text/plain")
            else:
                self._send(200, html_page(BRIDGE_TITLE, BRIDGE), "text/html")
        elif self.path == "/image":
            self._send(200, b"\x89PNG....", "image/png")
        else:
            self._send(404, b"not found", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the timeout test hangs up on purpose


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = _QuietServer(("127.0.0.1", 0), _Site)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_url_is_fetched_and_read_as_html(site: str) -> None:
    data, kind = fetch_url(f"{site}/article.html")
    assert kind == "html"
    article = extract(data, kind, url=f"{site}/article.html")
    assert article.paragraphs == tuple(LIBRARY) and article.source == f"Yorkshire Post, {site}/article.html"


def test_a_transient_503_is_retried(site: str) -> None:
    data, kind = fetch_url(f"{site}/flaky.html")
    assert extract(data, kind).title == BRIDGE_TITLE
    assert _Site.hits["/flaky.html"] == 2


def test_a_url_that_times_out_says_so(site: str) -> None:
    started = time.monotonic()
    with pytest.raises(IngestError, match=r"did not answer within 0\.5 seconds"):
        fetch_url(f"{site}/slow", timeout=0.5)
    assert time.monotonic() - started < 1.9  # a timeout is not retried three times


def test_a_redirect_loop_says_so(site: str) -> None:
    with pytest.raises(IngestError, match="redirect loop"):
        fetch_url(f"{site}/loop")


def test_a_page_with_no_article_text_says_so(site: str) -> None:
    data, kind = fetch_url(f"{site}/empty")
    with pytest.raises(IngestError, match="no article text"):
        extract(data, kind)


@pytest.mark.parametrize(
    ("path", "message"), [("/missing", "answered 404"), ("/image", "serves image/png, not an article")]
)
def test_other_url_failures_are_named(site: str, path: str, message: str) -> None:
    with pytest.raises(IngestError, match=message):
        fetch_url(f"{site}{path}")


def test_a_page_over_the_size_limit_is_refused(site: str) -> None:
    with pytest.raises(IngestError, match=r"larger than|limit"):
        fetch_url(f"{site}/article.html", max_bytes=100)


# -- seeds/ -------------------------------------------------------------------------------------


def test_write_article_beside_the_others(seeds_copy: Path) -> None:
    before = load_corpus(seeds_copy)
    article = Article(tuple(BRIDGE), title=BRIDGE_TITLE, date="2026-11-02", source="Press and Journal")
    doc_id = write_article(seeds_copy, article)
    assert doc_id.startswith("harbour-bridge-in-aberdeen-closes-for_") and len(doc_id.rsplit("_", 1)[1]) == 8
    corpus = load_corpus(seeds_copy)
    assert [d.id for d in corpus.documents] == [*(d.id for d in before.documents), doc_id]
    added = corpus.documents[-1]
    assert (added.title("en"), added.date, added.source, added.paragraph_count) == (
        BRIDGE_TITLE,
        "2026-11-02",
        "Press and Journal",
        3,
    )
    assert not list(seeds_copy.glob(".*")), "no temporary files left behind"
    with pytest.raises(IngestError, match="already loaded"):
        write_article(seeds_copy, article)


def test_a_translation_is_written_aligned_or_refused_with_both_counts(seeds_copy: Path) -> None:
    arabic = Article(tuple(ARABIC), title=ARABIC_TITLE, language="ar")
    wrong = Article(tuple(LIBRARY[:2]), title="A new library in Amman", language="en")
    names = sorted(p.name for p in seeds_copy.iterdir())
    with pytest.raises(IngestError, match="the translation has 2 paragraphs but the article has 3"):
        write_article(seeds_copy, arabic, translation=wrong)
    assert sorted(p.name for p in seeds_copy.iterdir()) == names  # nothing written
    right = Article(tuple(LIBRARY), title="A new library in Amman", language="en")
    doc_id = write_article(seeds_copy, arabic, translation=right)
    assert doc_id.startswith("article_")  # an Arabic title has no ASCII words to slug
    document = load_corpus(seeds_copy).documents[-1]
    assert document.titles == {"ar": ARABIC_TITLE, "en": "A new library in Amman"}
    assert json.loads((seeds_copy / f"{doc_id}.meta.json").read_text())["files"][f"{doc_id}.en.txt"] == {
        "language": "en"
    }


def test_remove_article_and_never_the_last_one(seeds_copy: Path) -> None:
    doc_id = write_article(seeds_copy, Article(tuple(BRIDGE), title=BRIDGE_TITLE))
    remove_article(seeds_copy, doc_id)
    assert not list(seeds_copy.glob(f"{doc_id}*"))
    with pytest.raises(IngestError, match="no article"):
        remove_article(seeds_copy, "../seeds/000_54d2f6cd4b201a0d")
    with pytest.raises(IngestError, match="only article"):
        remove_article(seeds_copy, "000_54d2f6cd4b201a0d")
