"""Real Redis (or Valkey) and PostgreSQL servers for the shared-state tests, started once per session.

Each server runs from a private temp directory on 127.0.0.1 and a free port. ``stop()`` and
``start()`` keep the port and the data, so a test can take a server away for a few seconds and
bring it back. Missing binaries are a failure, not a skip: the shared stores are what several
bot processes rely on, and a suite that quietly skipped them would prove nothing.

PostgreSQL refuses to run as root; as root, initdb and pg_ctl run as the ``postgres`` system
user (created by Debian's package) through ``runuser``, in a temp dir owned by it.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

INSTALL_HINT = "install them with: sudo apt-get install redis-server postgresql (or run `make servers` as root)"
PG_USER = "summit"  # the cluster's superuser (initdb -U); trust authentication on 127.0.0.1
PG_SYSTEM_USER = "postgres"
REDIS_DATABASES = 256  # one logical database per test, reused round-robin after a FLUSHDB


class ServerMissing(Exception):
    """A server binary is not installed; the message says how to install it."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when pytest dies, so a crashed run leaves no server behind."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def find_redis() -> str:
    """The redis-server (or valkey-server) binary, or :class:`ServerMissing`."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/bin", "/usr/sbin"])
    for name in ("redis-server", "valkey-server"):
        if path := shutil.which(name, path=search):
            return path
    raise ServerMissing(f"redis-server (or valkey-server) is not installed: {INSTALL_HINT}")


def find_pg_bin() -> Path:
    """The directory holding initdb, pg_ctl and postgres (Debian keeps them off PATH), or :class:`ServerMissing`."""
    candidates = []
    if found := shutil.which("pg_ctl"):
        candidates.append(Path(found).resolve().parent)
    # /usr/lib/postgresql/<version>/bin, newest version first.
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True)
    candidates += versions
    for directory in candidates:
        if all((directory / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return directory
    raise ServerMissing(f"PostgreSQL (initdb, pg_ctl, postgres) is not installed: {INSTALL_HINT}")


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


class RedisServer:
    """A redis-server child process on 127.0.0.1:``port``; data survives ``stop()``/``start()`` (RDB on SIGTERM)."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None
        self._db = itertools.cycle(range(1, REDIS_DATABASES))  # 0 stays the handle's own

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start (again) on the same port with the same data directory."""
        if self.running:
            return
        args = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--databases", str(REDIS_DATABASES),
            # A save point makes SIGTERM write dump.rdb, so stop()/start() keeps the data;
            # it never fires on its own during a test run.
            "--save", "3600 1",
            "--appendonly", "no",
            "--daemonize", "no",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        _wait_for_port(self.port, 10.0, self._proc)
        self._wait_loaded()

    def _wait_loaded(self) -> None:
        import redis

        client = redis.Redis(port=self.port, socket_timeout=2)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.BusyLoadingError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
        finally:
            client.close()

    def stop(self) -> None:
        """SIGTERM (Redis saves, then exits) and wait; the port is free when this returns."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def fresh_url(self) -> str:
        """A URL of an empty logical database (the next one round-robin, flushed)."""
        import redis

        self.start()  # a test that stopped the server and failed before restarting it must not break the next
        db = next(self._db)
        client = redis.Redis(port=self.port, db=db, socket_timeout=5)
        try:
            client.flushdb()
        finally:
            client.close()
        return f"redis://127.0.0.1:{self.port}/{db}"


class PostgresServer:
    """A PostgreSQL cluster in a temp dir on 127.0.0.1:``port`` (pg_ctl start/stop; durability off for speed)."""

    def __init__(self, bin_dir: Path, directory: Path) -> None:
        self.bin_dir = bin_dir
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.url = f"postgresql://{PG_USER}@127.0.0.1:{self.port}/postgres"
        self._databases = itertools.count(1)
        self._as_root = os.geteuid() == 0
        if self._as_root:
            try:
                owner = pwd.getpwnam(PG_SYSTEM_USER)
            except KeyError:
                raise ServerMissing(
                    f"running as root, PostgreSQL needs the '{PG_SYSTEM_USER}' system user: {INSTALL_HINT}"
                ) from None
            os.chown(directory, owner.pw_uid, owner.pw_gid)

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = list(args)
        if self._as_root:  # initdb and postgres refuse to run as root
            command = ["runuser", "-u", PG_SYSTEM_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.directory)
        if result.returncode:
            log = self.directory / "postgres.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({result.returncode}): {result.stderr}{tail}")

    def init(self) -> None:
        """initdb with trust authentication; no fsync, it is a throwaway cluster."""
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", PG_USER, "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync", "--no-instructions",
        )  # fmt: skip

    @property
    def pid(self) -> int | None:
        """The postmaster's pid (first line of postmaster.pid), or None when stopped."""
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    @property
    def running(self) -> bool:
        pid = self.pid
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def start(self) -> None:
        """pg_ctl start on the same port and data directory; returns once it accepts connections."""
        if self.running:
            return
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.directory}",  # the unix socket stays in the temp dir
                "-c listen_addresses=127.0.0.1",
                # A test cluster: durability off, and wal_level=minimal makes CREATE DATABASE ... FILE_COPY cheap.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c wal_level=minimal",
                "-c max_wal_senders=0",
                "-c max_connections=200",
            ]
        )
        self._run(
            str(self.bin_dir / "pg_ctl"), "start", "-D", str(self.data), "-l", str(self.directory / "postgres.log"),
            "-w", "-t", "30", "-o", options,
        )  # fmt: skip

    def stop(self) -> None:
        """pg_ctl stop -m fast (clients are disconnected) and wait."""
        if self.running:
            self._run(str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "30")

    def create_database(self) -> str:
        """A new empty database (from template0); returns its URL."""
        import psycopg

        self.start()  # see RedisServer.fresh_url
        name = f"test_{next(self._databases)}"
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 STRATEGY FILE_COPY")
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{name}"

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database`, disconnecting whatever still uses it."""
        import psycopg

        if not self.running:
            return
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def temp_dir(prefix: str) -> Path:
    """A private directory under /tmp (pytest's own temp root is 0700 root-only: postgres could not enter)."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def start_redis() -> RedisServer:
    """A running Redis; :class:`ServerMissing` when not installed."""
    server = RedisServer(find_redis(), temp_dir("summit-redis-"))
    try:
        server.start()
    except BaseException:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)
        raise
    return server


def start_postgres() -> PostgresServer:
    """A running PostgreSQL; :class:`ServerMissing` when not installed."""
    server = PostgresServer(find_pg_bin(), temp_dir("summit-pg-"))
    try:
        server.init()
        server.start()
    except BaseException:
        with contextlib.suppress(Exception):
            server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)
        raise
    return server


def dispose(server: RedisServer | PostgresServer) -> None:
    """Stop the server and delete its directory."""
    try:
        server.stop()
    finally:
        shutil.rmtree(server.directory, ignore_errors=True)
