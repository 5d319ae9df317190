"""Articles from the chat, end to end: an admin sends an .html and a .pdf (and a link), both are answered
from at once, /articles lists them, /summary asks which one, /remove takes one out; a non-admin's file is
refused without being downloaded, and bad files are named and change nothing.

Its own fake Bot API server and bot process, over a copy of seeds/ (the session bot's stays untouched).
Run with ``-s`` to see the upload-to-first-answer timings.
"""

from __future__ import annotations

import shutil
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import ADMIN_ID, TOKEN, BotProcess, start_bot
from fakes.articles import BRIDGE, BRIDGE_TITLE, LIBRARY, LIBRARY_TITLE, docx_file, html_page, pdf_file
from fakes.telegram_server import BotMessage, ChatClient, FakeTelegram

from embeddings.corpus import load_corpus

REPO = Path(__file__).resolve().parents[2]
NOT_ADMIN = "Sorry, that command is only for the bot's administrators."
WAIT = 60.0  # first article: the bot builds its BM25 and spelling tables again


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """A local web server with one article page."""
    page = html_page("Glasgow ferry returns to service", [
        "The Glasgow ferry returned to service on Tuesday after its engines were replaced over the summer.",
        "The operator said the new engines burn a third less fuel and are quieter for people living by the river.",
        "Tickets stay at two pounds fifty for adults, and children under five travel free of charge.",
    ], date="2026-10-20")  # fmt: skip

    class Site(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/ferry.html" else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, real_index_dir: Path) -> Iterator[tuple[FakeTelegram, Path]]:
    root = tmp_path_factory.mktemp("articles")
    seeds = root / "seeds"
    shutil.copytree(REPO / "seeds", seeds)
    for file in seeds.iterdir():
        file.chmod(file.stat().st_mode | stat.S_IWUSR)
    data = root / "data"
    data.mkdir()
    shutil.copytree(real_index_dir, data / "index")  # with its per-article vector cache
    fake = FakeTelegram(TOKEN).start()
    bot: BotProcess = start_bot(fake, data, root, SUMMIT_SEEDS_DIR=str(seeds))
    yield fake, seeds
    code = bot.stop()
    fake.stop()
    assert code == 0, bot.log()[-3000:]
    assert "Traceback" not in bot.log(), bot.log()[-3000:]
    assert not [c for c in fake.errors()], [(c.method, c.error) for c in fake.errors()]


def admin(fake: FakeTelegram) -> ChatClient:
    """The admin's private chat (the same chat in every test: earlier replies are skipped)."""
    user = fake.private_chat(user_id=ADMIN_ID, first_name="Admin")
    user.skip_sent()
    return user


def ask(user: ChatClient, text: str, timeout: float = 20.0) -> BotMessage:
    user.send(text)
    return user.next_reply(timeout)


def upload(user: ChatClient, name: str, data: bytes, question: str, expect: str) -> tuple[BotMessage, float]:
    """Send a file, wait for "Added", ask at once; returns the "Added" reply and upload-to-answer seconds."""
    started = time.monotonic()
    user.send_document(name, data)
    added = user.next_reply(WAIT)
    assert added.text.startswith("Added: "), added.text
    answer = ask(user, question)
    elapsed = time.monotonic() - started
    assert expect in answer.text, answer.text
    return added, elapsed


def test_an_admin_adds_an_html_and_a_pdf_and_both_are_answered_at_once(world) -> None:
    fake, seeds = world
    user = admin(fake)
    added, html_seconds = upload(
        user, "library.html", html_page(), "How much did the repairs of the Leeds library cost?", "4.2 million"
    )
    assert LIBRARY_TITLE in added.text and "2026-11-01 · 3 paragraphs · English" in added.text
    assert "Try: What does the article say about Leeds central library" in added.text
    added, pdf_seconds = upload(
        user, "bridge.pdf", pdf_file(BRIDGE, title=BRIDGE_TITLE), "When was the Aberdeen bridge last painted?", "1996"
    )
    assert BRIDGE_TITLE in added.text
    print(f"\nupload to first answer: .html {html_seconds:.2f} s, .pdf {pdf_seconds:.2f} s")
    assert html_seconds < 30 and pdf_seconds < 30
    listed = ask(user, "/articles")
    assert listed.text.startswith("Articles I answer from (3):")
    assert LIBRARY_TITLE in listed.text and BRIDGE_TITLE in listed.text and "2026-11-01" in listed.text
    assert {d.title("en") for d in load_corpus(seeds).documents} >= {LIBRARY_TITLE, BRIDGE_TITLE}


def test_a_link_from_an_admin_is_fetched_and_added(world, site: str) -> None:
    fake, _ = world
    user = admin(fake)
    user.send(f"{site}/ferry.html")
    added = user.next_reply(WAIT)
    assert added.text.startswith("Added: Glasgow ferry returns to service"), added.text
    answer = ask(user, "How much are the tickets on the Glasgow ferry?")
    assert "¶" in answer.text and "Glasgow ferry returns to service, 2026-10-20" in answer.text, answer.text
    failed = ask(user, f"/add {site}/missing.html", timeout=WAIT)
    assert failed.text.startswith("Could not add the article:") and "404" in failed.text


def test_a_follow_up_stays_with_the_article(world) -> None:
    fake, _ = world
    user = fake.private_chat()
    first = ask(user, "Why did the Aberdeen harbour bridge close?")
    assert "six weeks" in first.text, first.text
    follow = ask(user, "And how long will it last?")
    assert "Aberdeen" in follow.text or "bridge" in follow.text.lower(), follow.text


def test_summary_asks_which_article(world) -> None:
    fake, _ = world
    user = fake.private_chat()
    which = ask(user, "/summary")
    assert which.text == "Which article?"
    labels = [label for label, _ in which.buttons]
    assert any(label.startswith("Leeds central library reopens") for label in labels) and len(labels) >= 3
    label = next(label for label in labels if label.startswith("Leeds"))
    user.callback_answer(user.press(which, label))
    summary = user.next_reply()
    assert summary.text.startswith(LIBRARY_TITLE) and "¶" in summary.text
    notice = user.callback_answer(user.press(which, "r:00000000", raw=True))
    assert notice["text"].startswith("This button has expired")


def test_a_non_admins_file_is_refused_and_not_downloaded(world) -> None:
    fake, seeds = world
    user = fake.private_chat()
    names = sorted(p.name for p in seeds.iterdir())
    downloads, get_file = len(fake.downloads), len(fake.calls_to("getFile"))
    user.send_document("library.html", html_page("Not for you", LIBRARY))
    assert user.next_reply().text == NOT_ADMIN
    for command in ("/articles", "/remove 1", f"/add http://127.0.0.1:{fake.port}/x"):
        assert ask(user, command).text == NOT_ADMIN
    assert (len(fake.downloads), len(fake.calls_to("getFile"))) == (downloads, get_file)
    assert sorted(p.name for p in seeds.iterdir()) == names


@pytest.mark.parametrize(
    ("name", "data", "size", "message"),
    [
        ("photo.png", b"\x89PNG\r\n", None, "is not a format I read"),
        ("big.pdf", b"%PDF-1.4", 25_000_000, "the limit is 20 MB"),
        ("secret.pdf", pdf_file(LIBRARY, password="pw"), None, "encrypted"),
        ("broken.docx", b"PK\x03\x04 not really", None, "damaged"),
        ("../../etc/passwd.txt", b"x" * 300, None, "not a plain file name"),
        ("empty.html", b"<html><body><nav>Home</nav></body></html>", None, "no article text"),
    ],
)
def test_bad_files_are_named_and_change_nothing(world, name: str, data: bytes, size: int | None, message: str) -> None:
    fake, seeds = world
    user = admin(fake)
    names = sorted(p.name for p in seeds.iterdir())
    downloads = len(fake.downloads)
    user.send_document(name, data, file_size=size)
    reply = user.next_reply(WAIT)
    assert reply.text.startswith("Could not add the article:") and message in reply.text, reply.text
    assert reply.text.endswith("Nothing was changed.")
    assert sorted(p.name for p in seeds.iterdir()) == names
    if size is not None or "/" in name or name.endswith(".png"):
        assert len(fake.downloads) == downloads  # refused before downloading


def test_remove_takes_one_out(world) -> None:
    fake, seeds = world
    user = admin(fake)
    user.send_document(
        "bridge2.docx", docx_file("Dundee bridge reopens", [p.replace("Aberdeen", "Dundee") for p in BRIDGE])
    )
    assert user.next_reply(WAIT).text.startswith("Added: Dundee bridge reopens")
    documents = load_corpus(seeds).documents
    count = len(documents)
    number = next(n for n, d in enumerate(documents, start=1) if d.title("en") == "Dundee bridge reopens")
    removed = ask(user, f"/remove {number}", timeout=WAIT)
    assert removed.text == f"Removed: Dundee bridge reopens. {count - 1} articles left."
    assert "Dundee" not in ask(user, "/articles").text
    assert ask(user, "/remove 99").text.startswith("Could not remove it: there is no article '99'")
