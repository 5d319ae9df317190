"""New articles from files and URLs: text extraction, paragraphs, and writing them into ``seeds/``.

One small function per format turns bytes into an :class:`Article` (title, date, source,
paragraphs): ``.txt``/``.md``, ``.html`` (``trafilatura``: the article's own text, title, date
and site), ``.pdf`` (``pypdf``; Arabic lines put back in reading order) and ``.docx``
(``python-docx``). :func:`fetch_url` downloads a page with ``httpx`` (bounded size, timeouts,
redirects; transient failures retried with ``tenacity``). :func:`write_article` writes the
article beside the others under temporary names and renames them into place only when all
are complete, under an id made from a slug of the title and a hash of the text (never from a
file name a user sent). Every failure is an :class:`IngestError` whose message is one line
for the person who sent the file.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .corpus import CorpusError, load_corpus, split_paragraphs
from .language import detect_language

# Telegram's Bot API lets a bot download files of at most 20 MB; a news article is a few
# hundred kB even as a PDF, so anything bigger is refused before it is read (or downloaded).
MAX_BYTES = 20 * 1024 * 1024
# A page that has not answered in 10 s will not answer a person waiting in a chat either.
URL_TIMEOUT = 10.0
# Real sites redirect two or three times (http -> https -> www -> consent); more is a loop.
MAX_REDIRECTS = 5
# A connection refused or reset, or a 502/503/504, is often gone a second later: three tries.
FETCH_ATTEMPTS = 3
# An article needs some text: fewer characters than this is a cookie wall or an index page.
MIN_ARTICLE_CHARS = 200
KINDS = ("txt", "md", "html", "pdf", "docx")
_SUFFIXES = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}
_SUFFIXES |= {".pdf": "pdf", ".docx": "docx"}
_CONTENT_TYPES = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/plain": "txt",
    "text/markdown": "md",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}
TITLE_CHARS = 120
SLUG_CHARS = 40


class IngestError(Exception):
    """An article cannot be added; the message says why, for the person who sent it."""


@dataclass(frozen=True, slots=True)
class Article:
    """What a file or page holds: its paragraphs and what it says about itself."""

    paragraphs: tuple[str, ...]
    title: str | None = None
    date: str | None = None
    source: str | None = None
    language: str = field(default="")

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def kind_of(name: str) -> str:
    """The format of a file from its name; :class:`IngestError` for anything else."""
    suffix = Path(name).suffix.lower()
    kind = _SUFFIXES.get(suffix)
    if kind is None:
        supported = ", ".join(sorted({f".{k}" for k in KINDS}))
        raise IngestError(f"{suffix or 'a file without an extension'} is not a format I read (I read {supported})")
    return kind


def check_file_name(name: str) -> str:
    """A sent file's name, refused when it holds path separators or control characters."""
    if not name or "/" in name or "\\" in name or name in (".", "..") or any(ord(c) < 32 for c in name):
        raise IngestError(f"the file name {name!r} is not a plain file name (no folders or path separators, please)")
    return name


def check_size(size: int | None) -> None:
    if size is not None and size > MAX_BYTES:
        raise IngestError(f"the file is {size / 2**20:.1f} MB; the limit is {MAX_BYTES / 2**20:.0f} MB")


def extract(data: bytes, kind: str, *, url: str | None = None, minimum: int = MIN_ARTICLE_CHARS) -> Article:
    """The article in ``data`` of format ``kind`` (see :data:`KINDS`); ``url`` where a page came from.

    Less than ``minimum`` characters of text is not an article (a translation, checked against its
    original paragraph for paragraph instead, passes 1)."""
    check_size(len(data))
    extractors = {"txt": extract_text, "md": extract_markdown, "pdf": extract_pdf, "docx": extract_docx}
    if kind == "html":
        article = extract_html(data, url=url)
    elif kind in extractors:
        article = extractors[kind](data)
    else:
        raise IngestError(f"{kind} is not a format I read")
    paragraphs = tuple(p for p in article.paragraphs if p.strip())
    if sum(len(p) for p in paragraphs) < max(1, minimum):
        raise IngestError(f"I found no article text in this {kind} (under {max(1, minimum)} characters)")
    title = " ".join((article.title or "").split())[:TITLE_CHARS] or None
    return Article(paragraphs, title, article.date, article.source, detect_language(" ".join(paragraphs[:3])))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"the file is not UTF-8 text (invalid byte at position {exc.start})") from exc


def extract_text(data: bytes) -> Article:
    """Plain text: paragraphs separated by blank lines (or one per line)."""
    return Article(tuple(split_paragraphs(_decode(data))))


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_MD_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def extract_markdown(data: bytes) -> Article:
    """Markdown: the first heading is the title; links, emphasis and list marks become plain text."""
    title: str | None = None
    lines: list[str] = []
    for line in _decode(data).replace("\r\n", "\n").split("\n"):
        heading = _MD_HEADING.match(line)
        if heading:
            if title is None:
                title = heading.group(1)
                continue
            lines.extend(["", heading.group(1), ""])  # a later heading is a paragraph of its own
            continue
        line = _MD_LIST.sub("", line.lstrip("> "))
        lines.append(_MD_EMPHASIS.sub(r"\2", _MD_LINK.sub(r"\1", line)))
    return Article(tuple(split_paragraphs("\n".join(lines))), title=title and _MD_EMPHASIS.sub(r"\2", title))


def extract_html(data: bytes, *, url: str | None = None) -> Article:
    """The article in a web page (trafilatura drops menus, ads and comments), with its metadata."""
    import trafilatura

    try:
        found = trafilatura.bare_extraction(
            data, url=url, include_comments=False, include_tables=False, with_metadata=True
        )
    except Exception as exc:  # trafilatura raises assorted lxml errors on broken markup
        raise IngestError(f"the page could not be read as HTML ({type(exc).__name__})") from exc
    if found is None or not (found.text or "").strip():
        raise IngestError("I found no article text in this page")
    paragraphs = [" ".join(line.split()) for line in found.text.split("\n") if line.strip()]
    if paragraphs and found.title and paragraphs[0] == " ".join(found.title.split()):
        paragraphs = paragraphs[1:]  # the page's headline, kept as the title
    source = found.sitename or found.hostname or None
    if url:
        source = f"{source}, {url}" if source else url
    return Article(tuple(paragraphs), title=found.title, date=found.date, source=source)


# A line of Arabic text ending in punctuation comes out of a PDF with that punctuation first
# (the mark sits at the visual left of a right-to-left line): ".وصل الزعيم" -> "وصل الزعيم."
_RTL_LEADING_MARKS = re.compile(r"^([.!?؟،؛:…]+)\s*(?=[\u0600-\u06ff])")
_LINE_END = re.compile(r"[.!?؟…:»\"”)]$")


def _reading_order(line: str) -> str:
    line = unicodedata.normalize("NFKC", line)  # presentation forms (ﻻ, ﺎ) back to letters
    marks = _RTL_LEADING_MARKS.match(line)
    if marks and detect_language(line) == "ar":
        line = line[marks.end() :] + marks.group(1)
    return " ".join(line.split())


def pdf_paragraphs(text: str) -> list[str]:
    """Paragraphs of PDF text: blank lines split, and so does a line that ends a sentence;
    other lines are wrapped ones and are joined to the next."""
    paragraphs: list[str] = []
    current: list[str] = []
    for raw in text.replace("\r", "\n").split("\n"):
        line = _reading_order(raw)
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        current.append(line)
        if _LINE_END.search(line):
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def extract_pdf(data: bytes) -> Article:
    """A PDF's text layer, page by page; encrypted and corrupt files are refused by name."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError("the PDF is encrypted (password-protected); send an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestError(f"the PDF is damaged and cannot be read ({type(exc).__name__})") from exc
    except Exception as exc:  # pypdf's own dependency errors (e.g. a missing decryption backend)
        raise IngestError(f"the PDF cannot be read ({exc})") from exc
    paragraphs = [p for page in pages for p in pdf_paragraphs(page)]
    if not paragraphs:
        raise IngestError("the PDF has no text layer (a scan?); send the article as text, HTML or .docx")
    title = str(info.title) if info is not None and info.title else None
    return Article(tuple(paragraphs), title=title)


def extract_docx(data: bytes) -> Article:
    """A Word document's paragraphs; a paragraph in the Title style (or the core title) is the title."""
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise IngestError(f"the .docx file is damaged and cannot be read ({type(exc).__name__})") from exc
    title = document.core_properties.title or None
    paragraphs: list[str] = []
    for paragraph in document.paragraphs:
        text = " ".join(paragraph.text.split())
        if not text:
            continue
        if paragraph.style is not None and paragraph.style.name == "Title" and title is None:
            title = text
            continue
        paragraphs.append(text)
    return Article(tuple(paragraphs), title=title)


# -- URLs ---------------------------------------------------------------------------------------


def is_url(text: str) -> bool:
    return re.fullmatch(r"https?://\S+", text.strip()) is not None


def fetch_url(
    url: str, *, timeout: float = URL_TIMEOUT, attempts: int = FETCH_ATTEMPTS, max_bytes: int = MAX_BYTES
) -> tuple[bytes, str]:
    """(body, kind) of ``url``; :class:`IngestError` naming the problem (timeout, redirect loop, size...)."""
    import httpx
    from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

    if not is_url(url):
        raise IngestError(f"{url!r} is not an http(s) address")

    def transient(exc: BaseException) -> bool:
        if isinstance(exc, httpx.HTTPStatusError):
            return exc.response.status_code in (502, 503, 504)
        return isinstance(exc, httpx.ConnectError | httpx.RemoteProtocolError)

    @retry(
        retry=retry_if_exception(transient),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=0.2, max=2),
        reraise=True,
    )
    def get() -> tuple[bytes, str]:
        headers = {"User-Agent": "summit-bot (article import)"}
        with (
            httpx.Client(follow_redirects=True, max_redirects=MAX_REDIRECTS, timeout=timeout, headers=headers) as c,
            c.stream("GET", url) as response,
        ):
            response.raise_for_status()
            declared = response.headers.get("content-length")
            if declared and declared.isdigit():
                check_size(int(declared))
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise IngestError(f"the page is larger than the limit of {max_bytes / 2**20:.2g} MB")
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            kind = _CONTENT_TYPES.get(content_type)
            if kind is None:
                try:
                    kind = kind_of(response.url.path)
                except IngestError:
                    served = content_type or "an unknown type"
                    raise IngestError(f"the address serves {served}, not an article") from None
            return bytes(body), kind

    try:
        return get()
    except httpx.TooManyRedirects as exc:
        raise IngestError(f"{url} redirects too many times (more than {MAX_REDIRECTS}: a redirect loop?)") from exc
    except httpx.TimeoutException as exc:
        raise IngestError(f"{url} did not answer within {timeout:g} seconds") from exc
    except httpx.HTTPStatusError as exc:
        raise IngestError(f"{url} answered {exc.response.status_code} {exc.response.reason_phrase}") from exc
    except httpx.HTTPError as exc:
        raise IngestError(f"{url} could not be fetched ({type(exc).__name__}: {exc})") from exc


# -- seeds/ -------------------------------------------------------------------------------------


def slug(title: str) -> str:
    """Lower-case ASCII words of a title joined by "-" (empty for a title with none, e.g. Arabic)."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", folded.lower())
    out = ""
    for word in words:
        if len(out) + len(word) + 1 > SLUG_CHARS:
            break
        out = f"{out}-{word}" if out else word
    return out


def document_id(article: Article) -> str:
    """``<slug of the title>_<8 hex of the text>``: stable, safe in file names and deep links."""
    digest = hashlib.sha256(article.text.encode("utf-8")).hexdigest()[:8]
    return f"{slug(article.title or '') or 'article'}_{digest}"


def write_article(
    seeds_dir: Path,
    article: Article,
    *,
    translation: Article | None = None,
    translation_language: str | None = None,
) -> str:
    """Write ``article`` (and its translation) into ``seeds_dir``; returns the new document id.

    The files are written beside the others under temporary names (which ``load_corpus``
    ignores) and renamed into place only when all are complete, the original last (its
    ``.txt`` is what makes the article visible). A translation whose paragraph count differs
    is refused with both counts, before anything is written.
    """
    seeds_dir = Path(seeds_dir)
    doc_id = document_id(article)
    if (seeds_dir / f"{doc_id}.txt").exists():
        raise IngestError(f"this article is already loaded (as {doc_id})")
    language = article.language or detect_language(article.text)
    files: dict[str, str] = {f"{doc_id}.txt": article.text + "\n"}
    meta: dict[str, object] = {"files": {f"{doc_id}.txt": {"language": language}}}
    if translation is not None:
        other = translation_language or translation.language or detect_language(translation.text)
        if other == language:
            raise IngestError(f"the translation is in the same language as the article ({language})")
        if len(translation.paragraphs) != len(article.paragraphs):
            raise IngestError(
                f"the translation has {len(translation.paragraphs)} paragraphs but the article has "
                f"{len(article.paragraphs)}: a translation must be aligned paragraph for paragraph"
            )
        name = f"{doc_id}.{other}.txt"
        files[name] = translation.text + "\n"
        meta["files"][name] = {"language": other}  # type: ignore[index]
    titles = {}
    if article.title:
        titles[language] = article.title
    if translation is not None and translation.title:
        titles[other] = translation.title
    if titles:
        meta["title"] = titles
    if article.source:
        meta["source"] = article.source
    if article.date:
        meta["date"] = article.date
    files[f"{doc_id}.meta.json"] = json.dumps(meta, ensure_ascii=False, indent=2) + "\n"

    temporary = {name: seeds_dir / f".{name}.part" for name in files}
    try:
        for name, text in files.items():
            temporary[name].write_text(text, encoding="utf-8")
        # Original last: until it is in place the corpus does not see the article at all.
        for name in sorted(files, key=lambda n: n == f"{doc_id}.txt"):
            temporary[name].replace(seeds_dir / name)
    except OSError as exc:
        for name in files:
            temporary[name].unlink(missing_ok=True)
            if name != f"{doc_id}.txt":
                (seeds_dir / name).unlink(missing_ok=True)
        raise IngestError(f"the article could not be written into {seeds_dir} ({exc.strerror})") from exc
    return doc_id


def article_files(seeds_dir: Path, doc_id: str) -> list[Path]:
    """The files of one article in ``seeds_dir`` (original, translations, meta)."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", doc_id) or doc_id.startswith("."):
        return []
    original = Path(seeds_dir) / f"{doc_id}.txt"
    if not original.exists():
        return []
    found = [original, *sorted(Path(seeds_dir).glob(f"{doc_id}.??.txt"))]
    meta = Path(seeds_dir) / f"{doc_id}.meta.json"
    return [*found, meta] if meta.exists() else found


def check_removable(seeds_dir: Path, doc_id: str) -> None:
    """Refuse to remove the last article: the bot needs one to answer from."""
    try:
        corpus = load_corpus(seeds_dir)
    except CorpusError:
        return
    if [d.id for d in corpus.documents] == [doc_id]:
        raise IngestError("this is the only article; add another before removing it")


def remove_article(seeds_dir: Path, doc_id: str) -> None:
    """Delete one article's files (the original first, so a half-removed article is invisible)."""
    files = article_files(seeds_dir, doc_id)
    if not files:
        raise IngestError(f"there is no article {doc_id!r}")
    check_removable(seeds_dir, doc_id)
    for path in files:
        path.unlink(missing_ok=True)
