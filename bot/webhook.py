"""``summit-bot webhook set URL | delete | info``: point Telegram at the webhook servers, or back.

Pending updates are never dropped: switching modes must not lose readers' questions.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import Bot, Update
from telegram.error import TelegramError

from .app import file_url
from .settings import Settings, SettingsError


class WebhookError(Exception):
    """Telegram refused a webhook call; the message is one line for the operator."""


@dataclass(frozen=True, slots=True)
class WebhookInfo:
    """What ``webhook info`` prints (Telegram's getWebhookInfo, the fields an operator needs)."""

    url: str
    pending_update_count: int
    max_connections: int | None
    allowed_updates: tuple[str, ...]
    last_error: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "pending_update_count": self.pending_update_count,
            "max_connections": self.max_connections,
            "allowed_updates": list(self.allowed_updates),
            "last_error": self.last_error,
        }


def _bot(settings: Settings) -> Bot:
    return Bot(settings.require_token(), base_url=settings.base_url, base_file_url=file_url(settings.base_url))


def _check_url(url: str) -> str:
    # Telegram only posts to HTTPS; a local Bot API server (tests) may take http://127.0.0.1.
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise WebhookError(f"the webhook URL must start with https:// (Telegram only posts to HTTPS), got {url!r}")
    return url


async def _call(settings: Settings, method: str, **kwargs: Any) -> Any:
    try:
        async with _bot(settings) as bot:
            return await getattr(bot, method)(**kwargs)
    except TelegramError as exc:
        raise WebhookError(f"Telegram refused {method}: {exc}") from exc


def set_webhook(settings: Settings, url: str) -> WebhookInfo:
    """Register ``url`` (``serve`` takes updates at /telegram) with the secret, max_connections, all update types."""
    secret = settings.require_webhook_secret()
    asyncio.run(
        _call(
            settings,
            "set_webhook",
            url=_check_url(url),
            secret_token=secret,
            max_connections=settings.webhook_max_connections,
            allowed_updates=list(Update.ALL_TYPES),
            drop_pending_updates=False,
        )
    )
    return webhook_info(settings)


def delete_webhook(settings: Settings) -> WebhookInfo:
    """Go back to long polling (``summit-bot run``); pending updates stay queued for it."""
    asyncio.run(_call(settings, "delete_webhook", drop_pending_updates=False))
    return webhook_info(settings)


def webhook_info(settings: Settings) -> WebhookInfo:
    """Telegram's view of the webhook: URL, queue length, last delivery error."""
    info = asyncio.run(_call(settings, "get_webhook_info"))
    last_error = None
    if info.last_error_message:
        when = info.last_error_date
        stamp = when.isoformat() if isinstance(when, datetime) else str(when)
        last_error = f"{stamp}: {info.last_error_message}"
    return WebhookInfo(
        url=info.url or "",
        pending_update_count=int(info.pending_update_count or 0),
        max_connections=info.max_connections,
        allowed_updates=tuple(info.allowed_updates or ()),
        last_error=last_error,
    )


__all__ = ["SettingsError", "WebhookError", "WebhookInfo", "delete_webhook", "set_webhook", "webhook_info"]
