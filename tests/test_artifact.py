"""A shipped index: ``summit-bot index --out DIR`` writes a versioned artifact; SUMMIT_INDEX_DIR serves it read-only."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from fakes.articles import LIBRARY
from fakes.shipped import EXTRA_DOC, publish, snapshot, write_article

from bot import cli
from bot.articles import Source, add_article, remove_article
from bot.handlers.articles import add_command, on_document, on_link, remove_command
from bot.intents import IntentClassifier
from bot.messages import t
from bot.services import SERVICES_KEY, ServiceError, load_intents, open_retriever
from bot.settings import Settings
from embeddings import artifact
from embeddings.artifact import CURRENT_FILE, ArtifactError, open_artifact, read_current, set_current
from embeddings.ingest import IngestError
from embeddings.normalize import NORMALISER_VERSION
from embeddings.retriever import Retriever
from embeddings.store import FORMAT_VERSION
from embeddings.vector_index import can_mmap

QUESTIONS = [
    "Where did Kim Jong Un and Putin meet?",
    "How long did Kim's train journey take?",
    "أين التقى كيم وبوتين؟",
    "What did Putin say about satellites?",
    "Shoygu",  # spelling correction reads the shipped speller
    "What is the capital of France?",  # refused
]


@pytest.fixture
def fake_env(fake_embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUMMIT_EMBEDDER", "fake")


@pytest.fixture
def shipped(fake_env, tmp_path: Path) -> Path:
    """The real seeds published once into ``tmp_path/ship``."""
    out = tmp_path / "ship"
    publish(out)
    return out


def serving(monkeypatch: pytest.MonkeyPatch, root: Path, tmp_path: Path) -> Settings:
    """Settings of a server: the shipped index at ``root`` and a seeds folder that does not exist."""
    monkeypatch.setenv("SUMMIT_INDEX_DIR", str(root))
    monkeypatch.setenv("SUMMIT_SEEDS_DIR", str(tmp_path / "no-seeds-here"))
    return Settings.from_env()


# -- building -------------------------------------------------------------------------------------


def test_index_out_writes_a_versioned_self_describing_artifact(
    fake_env, fake_embedder, tmp_path: Path, capsys: pytest.CaptureFixture, corpus
) -> None:
    out = tmp_path / "ship"
    code = cli.main(["index", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    version = read_current(out)
    assert (out / CURRENT_FILE).read_text() == version + "\n"
    assert f"version {version}: {out / version} (new)" in printed
    assert sorted(p.name for p in out.iterdir()) == sorted([CURRENT_FILE, version])  # no temp folder left
    folder = out / version
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    intents = IntentClassifier.cache_name(fake_embedder)
    expected = {"manifest.json", "vectors.faiss", "units.json", "corpus.json", "speller.json", intents}
    assert expected <= files
    for kind in ("lexical", "expanded"):  # the seeds have editors' questions: both BM25 models
        for language in ("ar", "en"):
            assert f"{kind}/{language}/vocab.index.json" in files and f"{kind}/{language}/data.csc.index.npy" in files
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["version"] == version and len(version) == 12
    assert (manifest["backend"], manifest["model_id"], manifest["dim"]) == ("fake", "fake-hash-v1", 64)
    assert manifest["normaliser_version"] == NORMALISER_VERSION and manifest["format_version"] == FORMAT_VERSION
    assert manifest["artifact_format"] == artifact.ARTIFACT_FORMAT and manifest["corpus_hash"] == corpus.hash
    assert (manifest["documents"], manifest["passages"]) == (1, len(corpus.passages)) and manifest["vectors"] > 0
    assert manifest["created"] > 0 and manifest["languages"] == ["ar", "en"]
    assert set(manifest["files"]) == files - {"manifest.json"}
    assert all(info["size"] == (folder / name).stat().st_size for name, info in manifest["files"].items())


def test_an_identical_rebuild_is_the_same_version(shipped: Path, capsys: pytest.CaptureFixture) -> None:
    version = read_current(shipped)
    created = (shipped / version / "manifest.json").read_text()
    assert publish(shipped) == version
    assert "unchanged: identical to the version already there" in capsys.readouterr().out
    assert publish(shipped, "--rebuild") == version  # embedded again: the same vectors, the same bytes
    assert (shipped / version / "manifest.json").read_text() == created  # the folder was kept as it was
    assert [p.name for p in shipped.iterdir() if p.is_dir()] == [version]


def test_a_changed_corpus_is_a_new_version_and_old_versions_are_kept_until_pruned(
    fake_env, seeds_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "ship"
    first = publish(out)
    write_article(seeds_copy, LIBRARY)
    second = publish(out, "--keep", "1")
    assert second != first and read_current(out) == second
    # Kept even so: servers read the version they served until their next poll (and a rollback
    # is writing it into CURRENT).
    assert (out / first / "manifest.json").exists()
    (seeds_copy / f"{EXTRA_DOC}.txt").unlink()
    assert publish(out) == first  # back to the first corpus: that very version, made current again
    capsys.readouterr()
    assert publish(out, "--keep", "1") == first
    assert f"pruned 1 older version(s): {second}" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == sorted([CURRENT_FILE, first])


def test_a_damaged_version_folder_is_set_aside_and_rewritten(shipped: Path) -> None:
    version = read_current(shipped)
    (shipped / version / "units.json").write_text("[]")
    assert publish(shipped) == version
    assert artifact.verify_version(shipped / version) is None
    assert len(list(shipped.glob(f".bad-{version}-*"))) == 1


def test_keep_needs_out_and_without_out_index_is_unchanged(fake_env, tmp_path: Path, capsys) -> None:
    assert cli.main(["index", "--keep", "2"]) == 2
    assert "--keep applies to a shipped index" in capsys.readouterr().err
    assert cli.main(["index"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("index ready:") and "version" not in out


def test_set_current_refuses_a_version_that_is_not_there(shipped: Path) -> None:
    with pytest.raises(ArtifactError, match="has no version"):
        set_current(shipped, "0123456789ab")


# -- serving --------------------------------------------------------------------------------------


def test_a_shipped_index_is_served_read_only_without_seeds_and_without_embedding_a_passage(
    shipped: Path, fake_embedder, tmp_path: Path, tmp_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    laptop = Retriever.open(
        seeds_dir=Settings.from_env().seeds_dir, index_dir=tmp_data / "index", embedder=fake_embedder
    )
    before = snapshot(shipped)
    data_before = snapshot(tmp_data)
    settings = serving(monkeypatch, shipped, tmp_path)
    passages, queries = fake_embedder.passages_embedded, fake_embedder.queries_embedded
    retriever = open_retriever(settings)
    intents = load_intents(settings, retriever.embedder)
    assert (fake_embedder.passages_embedded, fake_embedder.queries_embedded) == (passages, queries)  # nothing
    assert retriever.version == read_current(shipped)
    assert retriever.index.vectors.mapped == can_mmap()
    assert intents.vectors.shape[0] > 0
    for question in QUESTIONS:
        assert retriever.ask(question) == laptop.ask(question, cache=False), question
    assert fake_embedder.passages_embedded == passages  # questions only, never a passage
    assert fake_embedder.queries_embedded > queries
    assert snapshot(shipped) == before  # nothing written into the shipped folder
    assert snapshot(tmp_data) == data_before  # nor into the data folder (no local index built)


def test_teaching_a_shipped_index_stays_in_memory(
    shipped: Path, fake_embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(shipped)
    retriever = open_retriever(serving(monkeypatch, shipped, tmp_path))
    question = "Which colour was the carpet at the station?"
    target = retriever.corpus.passages[5].id
    assert retriever.teach(target, "en", question)
    answer = retriever.ask(question)
    assert answer.answered and answer.hits[0].passage.id == target
    assert snapshot(shipped) == before


def test_a_shipped_index_for_another_embedder_is_refused_with_one_line(
    shipped: Path, fake_embedder_class, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = serving(monkeypatch, shipped, tmp_path)
    for other, field in (
        (fake_embedder_class(model_id="another-model"), "model_id"),
        (fake_embedder_class(dim=32), "dim"),
    ):
        with pytest.raises(ServiceError) as refused:
            open_retriever(settings, embedder=other)
        message = str(refused.value)
        assert "\n" not in message and f"built with {field}" in message and "summit-bot index --out" in message


def test_a_missing_or_damaged_shipped_index_is_refused(
    shipped: Path, fake_embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = read_current(shipped)
    with pytest.raises(ServiceError, match="does not exist"):
        open_retriever(serving(monkeypatch, tmp_path / "empty", tmp_path))
    settings = serving(monkeypatch, shipped, tmp_path)
    faiss_file = shipped / version / "vectors.faiss"
    data = faiss_file.read_bytes()
    faiss_file.write_bytes(data[: len(data) // 2])
    with pytest.raises(ServiceError, match="incomplete or altered copy"):
        open_retriever(settings)
    faiss_file.write_bytes(b"\0" * len(data))  # the right size, garbage inside
    with pytest.raises(ServiceError, match="unreadable"):
        open_retriever(settings)
    (shipped / CURRENT_FILE).write_text("not a version\n")
    with pytest.raises(ServiceError, match="does not hold a version"):
        open_retriever(settings)


def test_open_artifact_loads_a_named_version(shipped: Path, fake_embedder) -> None:
    version = read_current(shipped)
    loaded = open_artifact(shipped, fake_embedder, version=version, mmap=False)
    assert loaded.version == version and not loaded.index.vectors.mapped
    assert loaded.corpus.documents[0].examples  # the article's example questions travel with it


# -- articles cannot be added to a shipped index --------------------------------------------------


def test_adding_or_removing_an_article_is_refused_when_a_shipped_index_is_served(
    shipped: Path, seeds_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("SUMMIT_INDEX_DIR", str(shipped))
    settings = Settings.from_env()
    seeds_before = snapshot(seeds_copy)
    with pytest.raises(IngestError, match="serves a shipped index"):
        add_article(settings, Source(b"Some text.\n\nMore text.", "txt"))
    doc = next(seeds_copy.glob("*.meta.json")).name.removesuffix(".meta.json")
    with pytest.raises(IngestError, match="summit-bot index --out"):
        remove_article(settings, doc)
    page = tmp_path / "page.txt"
    page.write_text("A paragraph.\n\nAnother one.", encoding="utf-8")
    assert cli.main(["add", str(page)]) == 2
    assert cli.main(["remove", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("this deployment serves a shipped index") == 2
    assert snapshot(seeds_copy) == seeds_before


class StubBot:
    """Records what the handlers send; downloading a file fails the test."""

    username = "summit_test_bot"

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str, **_: object) -> object:
        self.sent.append((chat_id, text))
        return SimpleNamespace(message_id=len(self.sent))

    async def send_chat_action(self, *_: object, **__: object) -> bool:
        return True

    async def get_file(self, *_: object, **__: object) -> object:
        raise AssertionError("a shipped index must refuse an upload before downloading it")


def test_admin_uploads_links_and_removals_are_refused_with_a_shipped_index(
    shipped: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUMMIT_INDEX_DIR", str(shipped))
    svc = SimpleNamespace(
        settings=Settings.from_env(), is_admin=lambda update: True, state=SimpleNamespace(language=lambda chat: None)
    )
    bot = StubBot()
    document = SimpleNamespace(document=SimpleNamespace(file_name="article.txt", file_size=100, file_id="f1"))
    link = SimpleNamespace(text="https://example.com/news/article")
    calls = [(add_command, ["https://example.com/a"], None), (remove_command, ["1"], None), (on_document, [], document)]
    calls.append((on_link, [], link))
    for handler, args, message in calls:
        update = SimpleNamespace(
            effective_chat=SimpleNamespace(id=7, type="private"),
            effective_user=SimpleNamespace(id=7, language_code="en"),
            effective_message=message,
        )
        context = SimpleNamespace(
            bot_data={SERVICES_KEY: svc}, bot=bot, args=args, application=SimpleNamespace(running=True)
        )
        asyncio.run(handler(update, context))
    assert [text for _, text in bot.sent] == [t("en", "shipped_read_only")] * len(calls)
    assert "summit-bot index --out DIR" in bot.sent[0][1]
