"""Webhook delivery for :class:`fakes.telegram_server.FakeTelegram`: Telegram's rules, one HTTP attempt at a time.

The pieces here carry no state of their own; ``FakeTelegram`` owns the queue of
updates, the lock and the delivery threads, and calls these for the rules:

* :func:`check_webhook` — setWebhook's URL and ``secret_token`` checks, with Telegram's error texts;
* :func:`queue_key` — which updates Telegram delivers one at a time, in order (its per-chat/per-user queues);
  :func:`chat_queue_key` is a stricter choice a test can swap in (everything of a chat in one queue);
* :func:`retry_delay` — how long a failed update waits before the next attempt;
* :class:`Attempt` — one POST of one update to one URL, abortable from another thread.

The rules are read from Telegram's own server (github.com/tdlib/telegram-bot-api,
``Client.cpp`` and ``WebhookActor.cpp``); where the fake departs from them (to run
in a test, or to stay small) the code says so.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import re
import socket
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# Telegram's update types, in the order getWebhookInfo lists them (its UpdateType enum).
UPDATE_TYPES: tuple[str, ...] = tuple(
    "message edited_message channel_post edited_channel_post inline_query chosen_inline_result callback_query "
    "shipping_query pre_checkout_query poll poll_answer my_chat_member chat_member chat_join_request chat_boost "
    "removed_chat_boost message_reaction message_reaction_count business_connection business_message "
    "edited_business_message deleted_business_messages purchased_paid_media managed_bot guest_message".split()
)
# What a bot gets until it asks for more: Telegram leaves these three out unless they are listed.
DEFAULT_ALLOWED_UPDATES: frozenset[str] = frozenset(UPDATE_TYPES) - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}

DEFAULT_MAX_CONNECTIONS = 40
MAX_CONNECTIONS_LIMIT = 100
SECRET_TOKEN_LIMIT = 256
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]*$")
_WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback(host: str | None) -> bool:
    """``127.0.0.1``, ``::1`` or ``localhost``: the only hosts the fake delivers to."""
    if not host:
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_url(url: str) -> str:
    """Telegram reads a URL without a scheme as https (``example.com/hook`` is ``https://example.com/hook``)."""
    return url if "://" in url else f"https://{url}"


def check_webhook(url: str, secret_token: str) -> str | None:
    """The reason Telegram refuses this webhook (its ``description`` after "Bad Request: "), or None.

    Telegram also refuses plain http and ports other than 80, 88, 443 and 8443, and
    then resolves the host and refuses reserved addresses such as 127.0.0.1. The fake
    accepts any http:// or https:// URL on a loopback host (tests serve plain HTTP on
    a random port there) and applies Telegram's scheme and port rules to every other host.
    """
    try:
        parts = urlsplit(normalize_url(url))
        port = parts.port
    except ValueError:
        return "invalid webhook URL specified"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "invalid webhook URL specified"
    if len(secret_token) > SECRET_TOKEN_LIMIT:
        return "secret token is too long"
    if not _SECRET_TOKEN.match(secret_token):
        return "secret token contains unallowed characters"
    if is_loopback(parts.hostname):
        return None
    # Telegram checks these only after it has accepted the URL, so they come back as "bad webhook: ...".
    if parts.scheme.lower() != "https":
        return "bad webhook: An HTTPS URL must be provided for webhook"
    if (port or 443) not in _WEBHOOK_PORTS:
        return "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
    return None


def check_target(url: str) -> str:
    """A delivery target a test sets: an http(s) URL on a loopback host (else ValueError)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not is_loopback(parts.hostname):
        raise ValueError(f"a webhook target must be an http(s) URL on 127.0.0.1 or localhost, got {url!r}")
    return url


def to_integer(value: Any) -> int:
    """Telegram's integer parsing of a parameter: leading digits (with a sign), else 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    match = re.match(r"^-?\d+", str(value))
    return int(match.group()) if match else 0


def max_connections_param(value: Any) -> int:
    """setWebhook's ``max_connections``: Telegram clamps it to 1..100 rather than refusing it; default 40."""
    if value is None or value == "":
        return DEFAULT_MAX_CONNECTIONS
    return max(1, min(MAX_CONNECTIONS_LIMIT, to_integer(value)))


def to_bool(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


def parse_allowed_updates(value: Any) -> frozenset[str] | None:
    """The update types ``allowed_updates`` asks for, or None to keep the previous choice.

    Like Telegram: a missing or malformed value changes nothing, unknown names are
    ignored, and a list naming no known type means the default set.
    """
    if not isinstance(value, list) or not value or not all(isinstance(name, str) for name in value):
        return None
    chosen = frozenset(name.lower() for name in value) & frozenset(UPDATE_TYPES)
    return chosen or DEFAULT_ALLOWED_UPDATES


def update_kind(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


def queue_key(update: dict[str, Any]) -> tuple[str, Any]:
    """The queue Telegram puts an update in: it sends one update of a queue at a time, in order.

    Messages (and their edits, and channel posts) queue by chat. Button presses,
    inline queries and chosen inline results queue by the *user*, each kind apart
    from the others and from the chat's messages, so a press can be delivered while
    a message of the same chat is still being answered. The rest follow Telegram's
    ``webhook_queue_id`` choices; an update without a known owner gets its own queue.
    """
    kind = update_kind(update)
    payload = update.get(kind)
    if not isinstance(payload, dict):
        return ("update", update.get("update_id"))
    chat_id = (payload.get("chat") or {}).get("id")
    user_id = (payload.get("from") or payload.get("user") or {}).get("id")
    if kind in ("message", "edited_message", "channel_post", "edited_channel_post"):
        key: tuple[str, Any] = ("chat", chat_id)
    elif kind in ("inline_query", "chosen_inline_result", "callback_query", "business_connection"):
        key = (kind, user_id)
    elif kind in ("shipping_query", "pre_checkout_query"):
        key = ("payment", user_id)
    elif kind == "my_chat_member":
        key = ("my_chat_member", chat_id)
    elif kind in ("chat_member", "chat_join_request"):
        member = (payload.get("old_chat_member") or {}).get("user") or payload.get("from") or {}
        key = ("member", member.get("id"))
    elif kind in ("chat_boost", "removed_chat_boost"):
        key = ("boost", chat_id)
    elif kind in ("message_reaction", "message_reaction_count"):
        key = (kind, chat_id)
    elif kind in ("business_message", "edited_business_message", "deleted_business_messages"):
        key = ("business", chat_id)
    elif kind == "poll":
        key = ("poll", payload.get("id"))
    elif kind == "poll_answer":
        key = ("poll", payload.get("poll_id"))
    elif kind in ("purchased_paid_media", "managed_bot", "guest_message"):
        key = (kind, chat_id if kind == "guest_message" else user_id)
    else:
        key = ("update", update.get("update_id"))
    return key if key[1] is not None else ("update", update.get("update_id"))


def chat_queue_key(update: dict[str, Any]) -> tuple[str, Any]:
    """A stricter queueing than Telegram's, for tests that want it: everything of a chat in one queue.

    A button press waits for the chat's earlier messages (its chat is the pressed
    message's); updates without a chat queue by their user. Use it with
    ``fake.webhook_queue_key = chat_queue_key``.
    """
    kind = update_kind(update)
    payload = update.get(kind)
    if not isinstance(payload, dict):
        return ("update", update.get("update_id"))
    chat = payload.get("chat") or (payload.get("message") or {}).get("chat") or {}
    if chat.get("id") is not None:
        return ("chat", chat["id"])
    user = payload.get("from") or payload.get("user") or {}
    if user.get("id") is not None:
        return ("user", user["id"])
    return ("update", update.get("update_id"))


def retry_delay(failures: int, retry_after: float | None, *, base: float, cap: float) -> float:
    """Seconds before the next attempt of an update that has failed ``failures`` times (1 after the first).

    Telegram's shape, scaled down for tests: the first failure is retried at once,
    then 2, 4, 8 ... seconds up to 60-120 s. Here the steps are ``base``, ``2*base``
    ... up to ``cap``. A ``Retry-After`` on the answer replaces the step (Telegram
    honours up to an hour; the fake caps it at ``cap`` too).
    """
    if retry_after is not None:
        return max(0.0, min(retry_after, cap))
    if failures <= 1:
        return 0.0
    return min(cap, base * 2 ** (failures - 2))


@dataclass(frozen=True)
class WebhookConfig:
    """What setWebhook set."""

    url: str
    secret_token: str
    max_connections: int

    @property
    def ip_address(self) -> str:
        """getWebhookInfo's ``ip_address``: the fake resolves nothing, so a name shows as "<unknown>" (as
        Telegram shows it before its first lookup), except localhost."""
        host = urlsplit(normalize_url(self.url)).hostname or ""
        if host.lower() in _LOOPBACK_NAMES:
            return "127.0.0.1"
        try:
            return str(ipaddress.ip_address(host))
        except ValueError:
            return "<unknown>"


@dataclass(frozen=True)
class Delivery:
    """One attempt to deliver one update (``started``/``finished`` are ``time.monotonic()``)."""

    update_id: int
    queue: tuple[str, Any]
    target: str
    # "ok", "http_error", "refused", "dropped", "timeout", "error", or "aborted" (the webhook was replaced or
    # deleted, or the fake stopped, while the attempt was under way: it counts for nothing)
    outcome: str
    status: int | None  # the HTTP status, when there was an answer
    error: str | None  # what getWebhookInfo's last_error_message says about it
    retry_after: float | None
    started: float
    finished: float

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass(frozen=True)
class AttemptResult:
    outcome: str
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    keeps_connection: bool = False  # the answer left the connection open for the next update (keep-alive)
    body: bytes = b""
    content_type: str = ""


def _retry_after(value: str | None) -> float | None:
    # Seconds only; an HTTP-date Retry-After is ignored, as Telegram ignores it.
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


class Attempt:
    """POST one update to one URL, the way Telegram's webhook client does; :meth:`abort` from another thread.

    A fresh connection per attempt: it is what lets a test's list of targets act
    like a load balancer, one attempt to each in turn.
    """

    def __init__(self, target: str, body: bytes, *, secret_token: str, timeout: float) -> None:
        self.target = target
        self.body = body
        self.secret_token = secret_token
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None
        self._aborted = threading.Event()
        self._lock = threading.Lock()

    def abort(self) -> None:
        """Break the connection so a blocked read returns now (the webhook was closed, or the fake stops)."""
        self._aborted.set()
        with self._lock:
            sock = self._connection.sock if self._connection is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed: nothing to interrupt
                sock.shutdown(socket.SHUT_RDWR)

    def run(self) -> AttemptResult:
        parts = urlsplit(self.target)
        if not is_loopback(parts.hostname):
            # Never reach out of the machine from a test; the bot's public URL is served via targets.
            return AttemptResult(
                "refused", error=f"the fake delivers only to loopback hosts, not {parts.hostname}: set webhook_targets"
            )
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = connection_class(parts.hostname or "", parts.port, timeout=self.timeout)
        with self._lock:
            self._connection = connection
        try:
            return self._exchange(connection, path)
        finally:
            connection.close()

    def _exchange(self, connection: http.client.HTTPConnection, path: str) -> AttemptResult:
        try:
            connection.connect()
        except ConnectionRefusedError:
            return AttemptResult("refused", error="Connection refused")
        except TimeoutError:
            return AttemptResult("timeout", error="Connection timed out")
        except OSError as exc:
            return AttemptResult("error", error=exc.strerror or str(exc))
        with self._lock:  # an abort() that found no socket yet is seen here, before anything is sent
            if self._aborted.is_set():
                return AttemptResult("aborted", error="the delivery was cut off")
        headers = {"Content-Type": "application/json", "Accept-Encoding": "gzip, deflate"}
        if self.secret_token:
            headers[SECRET_HEADER] = self.secret_token
        try:
            connection.request("POST", path, body=self.body, headers=headers)
            response = connection.getresponse()
            body = response.read()
        except TimeoutError:
            return AttemptResult("timeout", error="Read timeout expired")
        except (http.client.RemoteDisconnected, http.client.IncompleteRead, BrokenPipeError):
            return self._broken("Webhook connection closed")
        except ConnectionResetError:
            return self._broken("Connection reset by peer")
        except (OSError, http.client.HTTPException) as exc:
            return self._broken(str(exc) or type(exc).__name__)
        keeps = not response.will_close
        if 200 <= response.status <= 299:
            return AttemptResult(
                "ok",
                response.status,
                keeps_connection=keeps,
                body=body,
                content_type=response.getheader("Content-Type") or "",
            )
        return AttemptResult(
            "http_error",
            response.status,
            error=f"Wrong response from the webhook: {response.status} {response.reason}",
            retry_after=_retry_after(response.getheader("Retry-After")),
            keeps_connection=keeps,
        )

    def _broken(self, message: str) -> AttemptResult:
        if self._aborted.is_set():
            return AttemptResult("aborted", error="the delivery was cut off")
        return AttemptResult("dropped", error=message)
