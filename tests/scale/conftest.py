"""Two real ``summit-bot serve`` processes behind the fake Bot API's webhook delivery.

The fake delivers updates the way Telegram does to a webhook (POST with the secret header,
one update in flight per chat, redelivery with backoff on a non-2xx answer, a dropped
connection or a timeout), round-robin over the two processes as an HTTP load balancer would.
The processes share a real Redis (state, limits, locks, update leases) and a real PostgreSQL
(votes, counters), both started by the test session (tests/servers.py).
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from fakes.bot_process import REPO, SUMMIT_BOT, TOKEN, BotProcess, bot_env, start_server, wait_ready
from fakes.telegram_server import FakeTelegram
from servers import PostgresServer, RedisServer, free_port

SECRET = "scale-test-secret_0123456789"
SALT = "scale-test-salt-0123456789abcdef"
LEASE = "5"  # seconds: a killed process's updates wait this long before another takes them


@dataclass
class Cluster:
    """The fake Telegram, two webhook processes and the stores they share."""

    fake: FakeTelegram
    workdir: Path
    env: dict[str, str]
    ports: list[int]
    data_dirs: list[Path]
    build: Path  # SUMMIT_DATA_DIR of `summit-bot index --out`: its per-article vector cache
    artifact: Path  # SUMMIT_INDEX_DIR: the shipped index versions and CURRENT
    servers: list[BotProcess] = field(default_factory=list)

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def start(self, i: int) -> BotProcess:
        server = start_server(self.data_dirs[i], self.workdir, fake=self.fake, port=self.ports[i], **self.env)
        if i < len(self.servers):
            self.servers[i] = server
        else:
            self.servers.append(server)
        return server

    def ensure_running(self) -> None:
        for i, server in enumerate(self.servers):
            if server.process.poll() is not None:
                self.start(i)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = bot_env(self.fake, self.data_dirs[0], **self.env)
        return subprocess.run(
            [str(SUMMIT_BOT), *args], env=env, cwd=self.workdir, capture_output=True, text=True, timeout=60
        )

    def answers(self, chat_ids: set[int]) -> Counter[int]:
        """How many messages the bot sent to each of ``chat_ids``."""
        return Counter(
            c.params["chat_id"]
            for c in self.fake.calls_to("sendMessage")
            if not c.error and c.params.get("chat_id") in chat_ids
        )

    def sql(self, query: str) -> list[tuple]:
        with psycopg.connect(self.env["SUMMIT_DATABASE_URL"]) as conn:
            return conn.execute(query).fetchall()

    def logs(self) -> str:
        return "\n".join(s.log() for s in self.servers)

    def ready(self, i: int) -> dict:
        return wait_ready(self.url(i), self.servers[i].process)

    def publish(self, seeds: Path) -> str:
        """``summit-bot index --out`` over ``seeds``: a new version of the shipped index."""
        done = subprocess.run(
            [str(SUMMIT_BOT), "index", "--out", str(self.artifact)],
            env=bot_env(
                None, self.build, SUMMIT_SEEDS_DIR=str(seeds), SUMMIT_DATABASE_URL=self.env["SUMMIT_DATABASE_URL"]
            ),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return (self.artifact / "CURRENT").read_text().strip()


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    real_index_dir: Path,
    redis_server: RedisServer,
    postgres_server: PostgresServer,
) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("scale")
    fake = FakeTelegram(TOKEN, backoff_base=0.2, backoff_cap=2.0, cold_after=None).start()
    env = {
        "SUMMIT_WEBHOOK_SECRET": SECRET,
        "SUMMIT_REDIS_URL": redis_server.fresh_url(),
        "SUMMIT_DATABASE_URL": postgres_server.create_database(),
        "SUMMIT_FEEDBACK_SALT": SALT,
        "SUMMIT_PROCESSES": "2",
        "SUMMIT_UPDATE_LEASE": LEASE,
        "SUMMIT_RATE_LIMIT": "60",
        "LOG_LEVEL": "INFO",
    }
    # The index is built once and shipped: the processes read the artifact, never seeds/.
    build = workdir / "build"
    build.mkdir()
    shutil.copytree(real_index_dir, build / "index")  # its vector cache: publishing embeds nothing
    artifact = workdir / "artifact"
    published = subprocess.run(
        [str(SUMMIT_BOT), "index", "--out", str(artifact)],
        env=bot_env(None, build, SUMMIT_SEEDS_DIR=str(REPO / "seeds")),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert published.returncode == 0, published.stderr
    env.update(
        SUMMIT_INDEX_DIR=str(artifact),
        SUMMIT_INDEX_POLL="0.5",
        SUMMIT_SEEDS_DIR=str(workdir / "no-seeds-here"),
    )
    data_dirs = [workdir / f"data-{i}" for i in range(2)]
    cluster = Cluster(fake, workdir, env, [free_port(), free_port()], data_dirs, build=build, artifact=artifact)
    try:
        for i in range(2):
            cluster.start(i)
        done = cluster.cli("webhook", "set", f"{cluster.url(0)}/telegram")
        assert done.returncode == 0, done.stderr
        # The load balancer: each delivery attempt goes to the next process.
        fake.webhook_targets = [f"{cluster.url(i)}/telegram" for i in range(2)]
        yield cluster
    finally:
        for server in cluster.servers:
            server.stop()
        fake.stop()
