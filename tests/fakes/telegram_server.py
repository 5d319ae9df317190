"""A fake Telegram Bot API server for end-to-end tests.

Runs ``http.server.ThreadingHTTPServer`` on 127.0.0.1 (random port) in a daemon
thread and speaks enough of the Bot API for python-telegram-bot: ``getMe``,
long-polling ``getUpdates``, ``sendMessage``, ``editMessageText``, callback and
inline answers, chat actions, the command list, and files users send (``getFile`` and
``GET /file/bot<token>/<file_path>``, each download recorded in :attr:`FakeTelegram.downloads`).
It is strict where Telegram is strict (empty or over-long texts, malformed HTML, bad callback data, unknown
chats and messages) and answers with Telegram's own error shapes, so a bot that
passes here does not fail on those rules in production.

Tests drive it like users: :meth:`FakeTelegram.private_chat` / :meth:`group_chat`
give a :class:`ChatClient` that sends texts, stickers, edits and button presses,
and waits for the bot's next message. Every API call is recorded in
:attr:`FakeTelegram.calls`.

Fault injection (issue 6) plugs in at :attr:`FakeTelegram.faults`: a mapping from
method name (or ``"*"``) to a list of :data:`Fault` callables consulted before the
method runs. A fault returns ``None`` to let the call through, or a
:class:`Reply` (any status and JSON body, e.g. 429 with ``retry_after``), or
:data:`DROP` to close the connection without answering; it may also sleep to
simulate a hang. :func:`error_fault` builds the common case.

Webhook mode (issue 11). ``setWebhook`` switches the fake from long polling to
delivery the way Telegram delivers to a webhook (rules read from Telegram's own
server, github.com/tdlib/telegram-bot-api; helpers in :mod:`fakes.webhook`):

* every pushed update (the same :meth:`FakeTelegram.push_update` path, so the
  :class:`ChatClient` helpers work unchanged) is POSTed as JSON, with
  ``X-Telegram-Bot-Api-Secret-Token`` when a secret was set;
* updates queue as Telegram queues them (:func:`fakes.webhook.queue_key`): a chat's
  messages one at a time and in order, the next only after the previous one was
  answered with a 2xx; button presses and inline queries in their own queue per
  user; different queues at once, up to ``max_connections`` (but a single
  connection while the webhook has not answered 2xx for ``cold_after`` seconds,
  as Telegram does);
* a non-2xx answer, a refused or dropped connection or a timeout
  (``delivery_timeout``) is retried: at once, then after ``backoff_base``,
  doubling up to ``backoff_cap`` (or after ``Retry-After``, capped the same), and
  reported in getWebhookInfo's ``last_error_date``/``last_error_message``;
* deliveries go to the setWebhook URL, or, when a test sets
  :attr:`FakeTelegram.webhook_targets`, to those URLs in turn, one per attempt,
  like a load balancer in front of several bot processes;
* every attempt is recorded in :attr:`FakeTelegram.deliveries`;
  :meth:`FakeTelegram.wait_acknowledged` waits until no update is pending.

``getUpdates`` answers 409 while a webhook is set; ``deleteWebhook`` returns to
polling and keeps the pending updates unless ``drop_pending_updates``.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

from .webhook import (
    DEFAULT_ALLOWED_UPDATES,
    UPDATE_TYPES,
    Attempt,
    AttemptResult,
    Delivery,
    WebhookConfig,
    check_target,
    check_webhook,
    max_connections_param,
    parse_allowed_updates,
    queue_key,
    retry_delay,
    to_bool,
    update_kind,
)

TEXT_LIMIT = 4096
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile refuses bigger files ("file is too big")
CALLBACK_DATA_LIMIT = 64
ANSWER_TEXT_LIMIT = 200
QUOTE_LIMIT = 1024
# Formatting a reply's quote must repeat (the fake never receives quote_entities: it refuses such quotes).
_QUOTE_STYLES = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler", "custom_emoji"})
DEFAULT_TIMEOUT = 20.0
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)

# Tags Telegram accepts in parse_mode=HTML, with the attributes each may carry.
ALLOWED_TAGS: dict[str, frozenset[str]] = {
    "b": frozenset(),
    "strong": frozenset(),
    "i": frozenset(),
    "em": frozenset(),
    "u": frozenset(),
    "ins": frozenset(),
    "s": frozenset(),
    "strike": frozenset(),
    "del": frozenset(),
    "span": frozenset({"class"}),
    "tg-spoiler": frozenset(),
    "a": frozenset({"href"}),
    "code": frozenset({"class"}),
    "pre": frozenset(),
    "blockquote": frozenset({"expandable"}),
    "tg-emoji": frozenset({"emoji-id"}),
}
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}\b")
_CHAT_ACTIONS = frozenset(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document choose_sticker "
    "find_location record_video_note upload_video_note".split()
)
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
# Parameters PTB sends JSON-encoded inside form fields.
_JSON_FIELDS = frozenset(
    "reply_markup reply_parameters results commands scope allowed_updates entities link_preview_options button "
    "caption_entities".split()
)
_INT_FIELDS = frozenset("chat_id message_id offset limit timeout user_id cache_time".split())


class ApiError(Exception):
    """A Bot API error: rendered as ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True)
class Reply:
    """An HTTP answer chosen by a fault: status and JSON body."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Described:
    """A successful result with the ``description`` Telegram puts beside it (e.g. "Webhook was set")."""

    result: Any
    description: str


class _Drop:
    """Close the connection without an answer."""


DROP = _Drop()
Fault = Callable[[str, dict[str, Any]], "Reply | _Drop | None"]


def error_fault(code: int, description: str, *, retry_after: int | None = None, times: int = 1) -> Fault:
    """A fault answering the next ``times`` calls with an error (e.g. 429 + retry_after, 502)."""
    remaining = [times]

    def fault(method: str, params: dict[str, Any]) -> Reply | None:
        if remaining[0] <= 0:
            return None
        remaining[0] -= 1
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return Reply(code, body)

    return fault


def drop_fault(*, times: int = 1) -> Fault:
    """A fault closing the connection without an answer on the next ``times`` calls."""
    remaining = [times]

    def fault(method: str, params: dict[str, Any]) -> _Drop | None:
        if remaining[0] <= 0:
            return None
        remaining[0] -= 1
        return DROP

    return fault


def hang_fault(seconds: float, *, times: int = 1) -> Fault:
    """A fault that hangs ``seconds`` (past the client's timeout) and then drops the connection.

    Dropping after the hang (rather than then answering) means the call never took
    effect, like a request lost on the way in: a retry must not be a duplicate.
    """
    remaining = [times]

    def fault(method: str, params: dict[str, Any]) -> _Drop | None:
        if remaining[0] <= 0:
            return None
        remaining[0] -= 1
        time.sleep(seconds)
        return DROP

    return fault


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts and offsets entities in."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class _TelegramHTML(HTMLParser):
    """Validates Telegram HTML and collects the plain text it renders to."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise bad_request(f'can\'t parse entities: Unsupported start tag "{tag}"')
        for name, value in attrs:
            if name not in ALLOWED_TAGS[tag]:
                raise bad_request(f'can\'t parse entities: unsupported attribute "{name}" in tag "{tag}"')
            if tag == "span" and value != "tg-spoiler":
                raise bad_request('can\'t parse entities: tag "span" must have class "tg-spoiler"')
            if tag == "a" and not re.match(r"(https?|tg)://[^\s]+$", value or ""):
                raise bad_request(f"can't parse entities: unsupported URL {value!r} in a link")
            if tag == "blockquote" and value is not None:
                raise bad_request('can\'t parse entities: attribute "expandable" of "blockquote" takes no value')
        if tag == "blockquote" and "blockquote" in self.stack:
            raise bad_request("can't parse entities: nested blockquotes are not supported")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise bad_request(f'can\'t parse entities: self-closing tag "{tag}" is not supported')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise bad_request(f'can\'t parse entities: Unmatched end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data:
            raise bad_request("can't parse entities: unescaped < or > in text")
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            raise bad_request(f'can\'t parse entities: Unsupported HTML entity "&{name};"')
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.text.append(html.unescape(f"&#{name};"))

    def handle_comment(self, data: str) -> None:
        raise bad_request("can't parse entities: comments are not supported")

    def handle_decl(self, decl: str) -> None:
        raise bad_request("can't parse entities: declarations are not supported")

    def handle_pi(self, data: str) -> None:
        raise bad_request("can't parse entities: processing instructions are not supported")

    def unknown_decl(self, data: str) -> None:
        raise bad_request("can't parse entities: unknown declaration")


def parse_html(text: str) -> str:
    """The plain text of Telegram HTML, or :class:`ApiError` 400 "can't parse entities"."""
    for match in re.finditer("&", text):
        if not _ENTITY.match(text, match.start()):
            raise bad_request(f"can't parse entities: bare & at byte offset {match.start()}")
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.rawdata:  # an unterminated tag such as "<b" stays in the buffer
        raise bad_request("can't parse entities: unclosed start tag")
    if parser.stack:
        raise bad_request(f"can't parse entities: Can't find end tag corresponding to start tag \"{parser.stack[-1]}\"")
    return "".join(parser.text)


def check_text(text: Any, parse_mode: Any) -> str:
    """The rendered plain text of a message, applying Telegram's rules."""
    if not isinstance(text, str) or not text.strip():
        raise bad_request("message text is empty")
    if parse_mode is not None and str(parse_mode).lower() == "html":
        text = parse_html(text)
    elif parse_mode not in (None, ""):
        raise bad_request(f"unsupported parse_mode {parse_mode!r} in this fake")
    if not text.strip():
        raise bad_request("message text is empty")
    if utf16_len(text) > TEXT_LIMIT:
        raise bad_request("message is too long")
    return text


def check_reply_markup(markup: Any) -> dict[str, Any] | None:
    """Validate an inline keyboard as Telegram does."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                raise bad_request("BUTTON_TEXT_INVALID")
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                    raise bad_request("BUTTON_DATA_INVALID")
            elif not any(k in button for k in ("url", "switch_inline_query", "switch_inline_query_current_chat")):
                raise bad_request("text buttons are unallowed in the inline keyboard")
    return markup


@dataclass
class Call:
    """One API call the bot made."""

    method: str
    params: dict[str, Any]
    time: float
    error: str | None = None  # the description when the fake answered with an error
    injected: bool = False  # the answer came from a fault, not from the bot's mistake


@dataclass
class BotMessage:
    """A message the bot sent, as the user sees it now (``edits`` keeps the history)."""

    chat_id: int
    message_id: int
    text: str  # plain text after HTML parsing
    html: str  # exactly what the bot sent
    reply_markup: dict[str, Any] | None
    reply_to: int | None
    edits: list[tuple[str, dict[str, Any] | None]] = field(default_factory=list)
    quote: str | None = None  # the part of the replied message the reply quotes

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of every inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]

    def button(self, label: str) -> str:
        """The callback data of the button labelled ``label``."""
        for text, data in self.buttons:
            if text == label:
                return data
        raise AssertionError(f"no button {label!r} in {self.buttons}")


@dataclass
class User:
    id: int
    first_name: str
    language_code: str | None = None
    username: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            data["language_code"] = self.language_code
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class _Retry:
    """How an update has fared under the current webhook."""

    failures: int = 0
    not_before: float = 0.0  # time.monotonic() of the next attempt


@dataclass
class _Flight:
    """An attempt on its way: the update's queue waits for it."""

    update_id: int
    attempt: Attempt
    generation: int  # the webhook it belongs to; a replaced webhook's answers acknowledge nothing


class FakeTelegram:
    """The fake server: start(), inject updates, inspect calls, stop().

    The keyword arguments after the bot's names tune webhook delivery, and can be
    changed later as attributes of the same name: ``delivery_timeout`` (seconds
    an attempt may take before it counts as failed; Telegram waits about 60 s),
    ``backoff_base`` and ``backoff_cap`` (the retry delays, see
    :func:`fakes.webhook.retry_delay`), ``set_webhook_interval`` (Telegram answers
    a second setWebhook with a URL within 1 s with 429 "retry after 1"; 0 turns
    that off) and ``cold_after`` (seconds without a 2xx after which Telegram
    opens a single connection to the webhook; None turns that off).
    """

    def __init__(
        self,
        token: str,
        *,
        bot_username: str = "summit_test_bot",
        bot_first_name: str = "Summit Test",
        delivery_timeout: float = 10.0,
        backoff_base: float = 0.2,
        backoff_cap: float = 5.0,
        set_webhook_interval: float = 1.0,
        cold_after: float | None = 10.0,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.calls: list[Call] = []
        self.faults: dict[str, list[Fault]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.messages: dict[tuple[int, int], BotMessage] = {}
        self.user_messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        # Files users sent: file_id -> (file_path, bytes); downloads records each file_path fetched.
        self.files: dict[str, tuple[str, bytes]] = {}
        self.downloads: list[str] = []
        self.inline_answers: dict[str, dict[str, Any]] = {}
        self._pending_callbacks: set[str] = set()
        self._pending_inline: set[str] = set()
        self._updates: list[dict[str, Any]] = []
        self._pushed: dict[int, str] = {}  # every update ever pushed, as JSON (for replays)
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._query_ids = itertools.count(1000)
        self._ids = itertools.count(7_000_000)
        self._cond = threading.Condition()
        self._closing = False
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # -- webhook delivery (see the module docstring) --
        self.delivery_timeout = delivery_timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.set_webhook_interval = set_webhook_interval
        self.cold_after = cold_after
        # Which updates go one at a time. Telegram's queues by default; a test may swap in
        # fakes.webhook.chat_queue_key (a chat's presses wait for its messages too) or its own.
        self.webhook_queue_key: Callable[[dict[str, Any]], tuple[str, Any]] = queue_key
        self.deliveries: list[Delivery] = []  # every delivery attempt, in the order they ended
        self._webhook: WebhookConfig | None = None
        self._webhook_generation = 0
        self._webhook_targets: list[str] = []
        self._next_target = 0
        self._allowed_updates = DEFAULT_ALLOWED_UPDATES
        self._retries: dict[int, _Retry] = {}
        self._in_flight: dict[tuple[str, Any], _Flight] = {}
        # The keep-alive connections Telegram would hold open to the webhook: they bound how many attempts run at
        # once. (Each attempt still opens its own TCP connection, so that targets can take turns per attempt.)
        self._connections = 0
        self._last_success = float("-inf")
        self._last_error: tuple[int, str] | None = None
        self._last_set_webhook = float("-inf")
        self._delivery_threads: set[threading.Thread] = set()
        self._dispatcher: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeTelegram:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                fake._serve(self)

            def do_GET(self) -> None:
                fake._serve(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval: stop() (server.shutdown) waits up to one interval, 0.5 s by default.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-telegram", daemon=True
        )
        self._thread.start()
        self._dispatcher = threading.Thread(target=self._dispatch_webhook, name="fake-telegram-webhook", daemon=True)
        self._dispatcher.start()
        return self

    def stop(self) -> None:
        """Stop serving; webhook attempts under way are cut off and their threads joined."""
        with self._cond:
            self._closing = True
            flights = list(self._in_flight.values())
            self._cond.notify_all()
        for flight in flights:
            flight.attempt.abort()
        if self._dispatcher is not None:
            self._dispatcher.join(5.0)
        with self._cond:
            threads = list(self._delivery_threads)
        for thread in threads:
            thread.join(5.0)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the server first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """The value for TELEGRAM_BASE_URL (PTB appends the token and the method)."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- HTTP -----------------------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?", 1)[0]
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        download = re.fullmatch(r"/file/bot(?P<token>[^/]+)/(?P<path>.+)", unquote(path))  # httpx sends ":" as %3A
        if download is not None:
            self._download(request, download["token"], download["path"])
            return
        match = re.fullmatch(r"/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)", path)
        params: dict[str, Any] = {}
        method = match["method"] if match else path
        try:
            params = self._params(request.headers.get("Content-Type", ""), body, request.path)
            if match is None:
                raise ApiError(404, "Not Found")
            if match["token"] != self.token:
                raise ApiError(401, "Unauthorized")
        except ApiError as exc:
            self._record(method, params, exc.description)
            self._write(request, exc.code, self._error_payload(exc))
            return
        answer = self._call(method, params)
        if isinstance(answer, _Drop):
            request.close_connection = True
            return
        self._write(request, *answer)

    def _call(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | _Drop:
        """Run one Bot API method (faults first, then the fake's handler) and record it; the HTTP answer."""
        try:
            for fault in self.faults.get(method, []) + self.faults.get("*", []):
                outcome = fault(method, params)
                if outcome is DROP:
                    self._record(method, params, "dropped", injected=True)
                    return DROP
                if isinstance(outcome, Reply):
                    self._record(method, params, str(outcome.body.get("description")), injected=True)
                    return outcome.status, outcome.body
            handler = getattr(self, f"api_{method.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = handler(params)
            payload: dict[str, Any] = {"ok": True, "result": result}
            if isinstance(result, Described):
                payload = {"ok": True, "result": result.result, "description": result.description}
            if method.lower() != "getupdates" or result:
                self._record(method, params)
            return 200, payload
        except ApiError as exc:
            self._record(method, params, exc.description)
            return exc.code, self._error_payload(exc)

    @staticmethod
    def _error_payload(exc: ApiError) -> dict[str, Any]:
        payload: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
        if exc.parameters:
            payload["parameters"] = exc.parameters
        return payload

    def _download(self, request: BaseHTTPRequestHandler, token: str, file_path: str) -> None:
        """``GET /file/bot<token>/<file_path>``: the bytes of a file a user sent, as Telegram serves them."""
        found = next((data for path, data in self.files.values() if path == file_path), None)
        if token != self.token or found is None:
            self._write(request, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        with self._cond:
            self.downloads.append(file_path)
            self._cond.notify_all()
        request.send_response(200)
        request.send_header("Content-Type", "application/octet-stream")
        request.send_header("Content-Length", str(len(found)))
        request.end_headers()
        request.wfile.write(found)

    @staticmethod
    def _write(request: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        try:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: JSON can carry it only as a \uXXXX escape
            data = json.dumps(payload).encode("ascii")
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            request.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the bot gave up waiting (e.g. shutting down)
            pass

    @staticmethod
    def _params(content_type: str, body: bytes, raw_path: str) -> dict[str, Any]:
        if "application/json" in content_type:
            params = json.loads(body or b"{}")
        elif "multipart/form-data" in content_type:
            raise bad_request("file uploads are not supported by this fake")
        else:
            query = raw_path.split("?", 1)[1] if "?" in raw_path else ""
            params = dict(parse_qsl(query, keep_blank_values=True))
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        for key, value in list(params.items()):
            if key in _JSON_FIELDS and isinstance(value, str):
                try:
                    params[key] = json.loads(value)
                except json.JSONDecodeError as exc:
                    raise bad_request(f"can't parse {key} JSON object") from exc
            elif key in _INT_FIELDS and isinstance(value, str):
                try:
                    params[key] = int(value)
                except ValueError as exc:
                    raise bad_request(f"invalid {key} specified") from exc
        return params

    def _record(self, method: str, params: dict[str, Any], error: str | None = None, *, injected: bool = False) -> None:
        with self._cond:
            self.calls.append(Call(method, params, time.time(), error, injected))
            self._cond.notify_all()

    # -- API methods ----------------------------------------------------------------------------

    def _bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.bot_first_name, "username": self.bot_username}

    def api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }

    def api_setwebhook(self, params: dict[str, Any]) -> Described:
        url = str(params.get("url") or "")
        if not url:  # Telegram's way to delete the webhook, like deleteWebhook
            return self.api_deletewebhook(params)
        secret_token = str(params.get("secret_token") or "")
        config = WebhookConfig(url, secret_token, max_connections_param(params.get("max_connections")))
        allowed = parse_allowed_updates(params.get("allowed_updates"))
        drop = to_bool(params.get("drop_pending_updates"))
        with self._cond:
            now = time.monotonic()
            if now < self._last_set_webhook + self.set_webhook_interval:
                raise ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
            self._last_set_webhook = now
            if config == self._webhook and not drop:
                self._allowed_updates = allowed or self._allowed_updates
                return Described(True, "Webhook is already set")
            # Telegram closes the old webhook before it checks the new one: a refused setWebhook leaves none.
            self._close_webhook()
            if drop:
                self._drop_pending_updates()
            problem = check_webhook(url, secret_token)
            if problem is not None:
                raise bad_request(problem)
            self._allowed_updates = allowed or self._allowed_updates
            self._webhook = config
            self._webhook_generation += 1
            self._cond.notify_all()
        return Described(True, "Webhook was set")

    def api_deletewebhook(self, params: dict[str, Any]) -> Described:
        with self._cond:
            was_set = self._webhook is not None
            self._close_webhook()
            if to_bool(params.get("drop_pending_updates")):
                self._drop_pending_updates()
            self._cond.notify_all()
        return Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    def api_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            config = self._webhook
            info: dict[str, Any] = {
                "url": config.url if config else "",
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
            if self._last_error is not None:
                info["last_error_date"], info["last_error_message"] = self._last_error
            if config is not None:
                info["max_connections"] = config.max_connections
                info["ip_address"] = config.ip_address
            if self._allowed_updates != DEFAULT_ALLOWED_UPDATES:
                info["allowed_updates"] = [kind for kind in UPDATE_TYPES if kind in self._allowed_updates]
        return info

    def api_close(self, params: dict[str, Any]) -> bool:
        return True

    def api_logout(self, params: dict[str, Any]) -> bool:
        return True

    def api_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0.0, min(50.0, float(params.get("timeout") or 0)))
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._webhook is not None:
                raise ApiError(409, WEBHOOK_CONFLICT)
            self._allowed_updates = parse_allowed_updates(params.get("allowed_updates")) or self._allowed_updates
            if offset:  # everything below the offset is confirmed and forgotten, as on Telegram
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and not self._closing and self._webhook is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if self._webhook is not None:  # a setWebhook during the long poll ends it
                raise ApiError(409, "Conflict: terminated by setWebhook request")
            return list(self._updates[:limit])

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        try:
            return self.chats[int(chat_id)]
        except (KeyError, TypeError, ValueError):
            raise bad_request("chat not found") from None

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _message_exists(self, chat_id: int, message_id: int) -> bool:
        return (chat_id, message_id) in self.messages or (chat_id, message_id) in self.user_messages

    def api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        text = check_text(params.get("text"), params.get("parse_mode"))
        markup = check_reply_markup(params.get("reply_markup"))
        reply = params.get("reply_parameters") or {}
        reply_to = reply.get("message_id") or params.get("reply_to_message_id")
        if reply_to is not None:
            reply_to = int(reply_to)
            allow = reply.get("allow_sending_without_reply") or params.get("allow_sending_without_reply")
            if not self._message_exists(chat["id"], reply_to):
                if not allow or str(allow).lower() == "false":
                    raise bad_request("message to be replied not found")
                reply_to = None
        quote = reply.get("quote")
        if quote is not None and reply_to is not None:
            quote = self._check_quote(chat["id"], reply_to, quote, reply.get("quote_parse_mode"))
        elif reply_to is None:
            quote = None  # sent without the reply: nothing is quoted
        with self._cond:
            message_id = self._next_message_id(chat["id"])
            sent = BotMessage(chat["id"], message_id, text, str(params["text"]), markup, reply_to, quote=quote)
            self.messages[(chat["id"], message_id)] = sent
        return self._message_json(sent)

    def _check_quote(self, chat_id: int, message_id: int, quote: Any, parse_mode: Any) -> str:
        """Telegram's rules for ``reply_parameters.quote``: 1-1024 characters (UTF-16 units) after
        entity parsing, an exact substring of the replied message, whose formatting (bold, italic,
        underline, strikethrough, spoiler, custom emoji) the quote must repeat. Returns the quote's text."""
        if not isinstance(quote, str):
            raise bad_request("QUOTE_TEXT_INVALID")
        if parse_mode is not None and str(parse_mode).lower() == "html":
            quote = parse_html(quote)
        elif parse_mode not in (None, ""):
            raise bad_request(f"unsupported quote_parse_mode {parse_mode!r} in this fake")
        if not isinstance(quote, str) or not quote.strip() or utf16_len(quote) > QUOTE_LIMIT:
            raise bad_request("QUOTE_TEXT_INVALID")
        original = self.user_messages.get((chat_id, message_id))
        if original is not None:
            text = str(original.get("text") or original.get("caption") or "")
            styled = [e for e in original.get("entities", []) if e.get("type") in _QUOTE_STYLES]
        else:
            text, styled = self.messages[(chat_id, message_id)].text, []
        at = text.find(quote)
        if at < 0:
            raise bad_request("QUOTE_TEXT_INVALID")
        start, end = utf16_len(text[:at]), utf16_len(text[:at]) + utf16_len(quote)
        if any(e["offset"] < end and start < e["offset"] + e["length"] for e in styled):
            raise bad_request("QUOTE_TEXT_INVALID")  # the quote would have to repeat the formatting
        return quote

    def _message_json(self, sent: BotMessage) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": self.chats[sent.chat_id],
            "from": self._bot_user(),
            "text": sent.text,
        }
        if sent.reply_markup:
            data["reply_markup"] = sent.reply_markup
        if sent.edits:
            data["edit_date"] = int(time.time())
        return data

    def _bot_message(self, params: dict[str, Any]) -> BotMessage:
        if "inline_message_id" in params:
            raise bad_request("inline messages are not supported by this fake")
        chat = self._chat(params.get("chat_id"))
        try:
            return self.messages[(chat["id"], int(params.get("message_id") or 0))]
        except KeyError:
            raise bad_request("message to edit not found") from None

    def api_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        sent = self._bot_message(params)
        text = check_text(params.get("text"), params.get("parse_mode"))
        markup = check_reply_markup(params.get("reply_markup"))
        if text == sent.text and markup == sent.reply_markup:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are exactly the same "
                "as a current content and reply markup of the message"
            )
        with self._cond:
            sent.edits.append((sent.html, sent.reply_markup))
            sent.text, sent.html, sent.reply_markup = text, str(params["text"]), markup
        return self._message_json(sent)

    def api_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        sent = self._bot_message(params)
        markup = check_reply_markup(params.get("reply_markup"))
        if markup == sent.reply_markup:
            raise bad_request("message is not modified")
        with self._cond:
            sent.edits.append((sent.html, sent.reply_markup))
            sent.reply_markup = markup
        return self._message_json(sent)

    def api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        text = params.get("text")
        if text is not None and len(str(text)) > ANSWER_TEXT_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        with self._cond:
            if query_id not in self._pending_callbacks:
                raise bad_request("query is too old and response timeout expired or query ID is invalid")
            self._pending_callbacks.discard(query_id)
            self.callback_answers[query_id] = params
        return True

    def api_answerinlinequery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("inline_query_id", ""))
        results = params.get("results")
        if not isinstance(results, list) or len(results) > 50:
            raise bad_request("RESULTS_TOO_MUCH" if isinstance(results, list) else "can't parse results")
        ids = [r.get("id") for r in results]
        if len(set(ids)) != len(ids) or not all(isinstance(i, str) and 1 <= len(i.encode()) <= 64 for i in ids):
            raise bad_request("RESULT_ID_INVALID")
        for result in results:
            if not str(result.get("title", "")).strip():
                raise bad_request("RESULT_TITLE_EMPTY")
            content = result.get("input_message_content") or {}
            check_text(content.get("message_text"), content.get("parse_mode"))
            check_reply_markup(result.get("reply_markup"))
        with self._cond:
            if query_id not in self._pending_inline:
                raise bad_request("query is too old and response timeout expired or query ID is invalid")
            self._pending_inline.discard(query_id)
            self.inline_answers[query_id] = params
        return True

    def api_getfile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            raise bad_request("invalid file_id")
        file_path, data = self.files[file_id]
        if len(data) > DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(data), "file_path": file_path}

    def add_file(self, name: str, data: bytes) -> str:
        """Store a file a user uploads; returns its file_id."""
        with self._cond:
            file_id = f"BQACAgIAAx{next(self._ids)}"
            suffix = name.rsplit(".", 1)[-1] if "." in name else "bin"
            self.files[file_id] = (f"documents/file_{len(self.files)}.{suffix}", data)
        return file_id

    def api_sendchataction(self, params: dict[str, Any]) -> bool:
        self._chat(params.get("chat_id"))
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def api_setmycommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands")
        for command in commands:
            if not _COMMAND_NAME.match(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[str(params.get("language_code") or "")] = commands
        return True

    def api_getmycommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(str(params.get("language_code") or ""), [])

    def api_deletemycommands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(str(params.get("language_code") or ""), None)
        return True

    # -- injecting updates ----------------------------------------------------------------------

    def push_update(self, kind: str, payload: dict[str, Any]) -> int:
        """Queue an update of ``kind`` ("message", "callback_query", ...) for getUpdates or the webhook.

        Returns its update_id, or 0 when Telegram would not queue it: a type the bot
        left out of ``allowed_updates`` (by default chat_member and the reactions).
        """
        with self._cond:
            if kind in UPDATE_TYPES and kind not in self._allowed_updates:
                return 0
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, kind: payload})
            self._pushed[update_id] = json.dumps(self._updates[-1])
            self._cond.notify_all()
        return update_id

    def update_json(self, update_id: int) -> dict[str, Any]:
        """A pushed update as Telegram sends it (to replay it, as a redelivery would)."""
        with self._cond:
            return json.loads(self._pushed[update_id])

    def register_chat(self, chat: dict[str, Any]) -> None:
        with self._cond:
            self.chats[chat["id"]] = chat

    def new_id(self) -> int:
        """A fresh positive id for users and chats."""
        return next(self._ids)

    def private_chat(
        self, *, language_code: str | None = "en", first_name: str = "Tester", user_id: int | None = None
    ) -> ChatClient:
        """A new user (or ``user_id``) in a private chat with the bot."""
        user = User(user_id or self.new_id(), first_name, language_code)
        chat = {"id": user.id, "type": "private", "first_name": first_name}
        self.register_chat(chat)
        return ChatClient(self, chat, user)

    def group_chat(self, *, title: str = "Test group") -> dict[str, Any]:
        chat = {"id": -self.new_id(), "type": "supergroup", "title": title}
        self.register_chat(chat)
        return chat

    def member(
        self, group: dict[str, Any], *, language_code: str | None = "en", first_name: str = "Member"
    ) -> ChatClient:
        """A user speaking in ``group``."""
        return ChatClient(self, group, User(self.new_id(), first_name, language_code))

    def message_payload(
        self,
        chat: dict[str, Any],
        user: User,
        *,
        text: str | None = None,
        reply_to: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A user's message as Telegram would deliver it (entities for commands and @mentions included)."""
        with self._cond:
            message_id = self._next_message_id(chat["id"])
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": user.to_json(),
        }
        if text is not None:
            message["text"] = text
            entities = self._entities(text)
            if entities:
                message["entities"] = entities
        if reply_to is not None:
            original = self.messages.get((chat["id"], reply_to))
            if original is not None:
                message["reply_to_message"] = self._message_json(original)
            elif (chat["id"], reply_to) in self.user_messages:
                message["reply_to_message"] = self.user_messages[(chat["id"], reply_to)]
        message.update(extra or {})
        with self._cond:
            self.user_messages[(chat["id"], message_id)] = message
        return message

    @staticmethod
    def _entities(text: str) -> list[dict[str, Any]]:
        entities = []
        command = _COMMAND.match(text)
        if command:
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command.group())})
        for mention in _MENTION.finditer(text):
            entities.append(
                {
                    "type": "mention",
                    "offset": utf16_len(text[: mention.start()]),
                    "length": utf16_len(mention.group()),
                }
            )
        return entities

    def press(self, message: BotMessage, data: str, user: User) -> str:
        """A user presses a button with callback ``data`` under ``message``; returns the query id."""
        query_id = str(next(self._query_ids))
        with self._cond:
            self._pending_callbacks.add(query_id)
        self.push_update(
            "callback_query",
            {
                "id": query_id,
                "from": user.to_json(),
                "message": self._message_json(message),
                "chat_instance": str(message.chat_id),
                "data": data,
            },
        )
        return query_id

    def inline_query(self, user: User, query: str) -> str:
        """A user types ``@bot query`` somewhere; returns the inline query id."""
        query_id = str(next(self._query_ids))
        with self._cond:
            self._pending_inline.add(query_id)
        self.push_update("inline_query", {"id": query_id, "from": user.to_json(), "query": query, "offset": ""})
        return query_id

    # -- webhook delivery -----------------------------------------------------------------------

    @property
    def webhook(self) -> WebhookConfig | None:
        """What setWebhook set, or None in getUpdates mode."""
        return self._webhook

    @property
    def webhook_targets(self) -> list[str]:
        """Where deliveries go instead of the setWebhook URL: one attempt to each in turn (round-robin).

        This stands for a load balancer in front of several bot processes: the bot
        registers its public URL with setWebhook, and the test lists the processes'
        local URLs here. Empty (the default) means the setWebhook URL itself.
        A retry is a new attempt, so it usually lands on another target.
        """
        with self._cond:
            return list(self._webhook_targets)

    @webhook_targets.setter
    def webhook_targets(self, urls: Iterable[str]) -> None:
        checked = [check_target(url) for url in urls]
        with self._cond:
            self._webhook_targets = checked
            self._next_target = 0
            self._cond.notify_all()

    def set_webhook_targets(self, *urls: str) -> None:
        """``fake.set_webhook_targets(url1, url2)``: the same as assigning :attr:`webhook_targets`."""
        self.webhook_targets = urls

    @property
    def pending_update_count(self) -> int:
        """Updates not yet acknowledged (by a 2xx from the webhook, or by a getUpdates offset)."""
        with self._cond:
            return len(self._updates)

    def deliveries_for(self, update_id: int) -> list[Delivery]:
        """Every attempt to deliver one update, in order."""
        with self._cond:
            return [d for d in self.deliveries if d.update_id == update_id]

    def wait_acknowledged(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Block until every pushed update has been acknowledged; on timeout, fail saying which are stuck and why."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._updates:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"updates not acknowledged after {timeout} s:\n{self._pending_report()}")
                self._cond.wait(min(remaining, 0.5))

    def _pending_report(self) -> str:
        lines = []
        for update in self._updates[:10]:
            update_id = update["update_id"]
            attempts = [d for d in self.deliveries if d.update_id == update_id]
            last = attempts[-1] if attempts else None
            key = self.webhook_queue_key(update)
            flight = self._in_flight.get(key)
            state = "in flight" if flight is not None and flight.update_id == update_id else ""
            lines.append(
                f"  update {update_id} ({update_kind(update)}, queue {key}): {len(attempts)} attempts"
                + (f", last {last.outcome} {last.status or ''} {last.error or ''} via {last.target}" if last else "")
                + (f", {state}" if state else "")
            )
        if len(self._updates) > 10:
            lines.append(f"  ... and {len(self._updates) - 10} more")
        config = self._webhook
        lines.append(
            f"webhook: {config.url if config else 'none (getUpdates mode)'}; targets: {self._webhook_targets or '-'}; "
            f"last error: {self._last_error[1] if self._last_error else '-'}"
        )
        return "\n".join(lines)

    def _close_webhook(self) -> None:
        """Back to no webhook (call with the lock held); attempts under way are cut off, as Telegram closes them."""
        if self._webhook is None:
            return
        self._webhook = None
        self._webhook_generation += 1
        self._connections = 0
        self._last_success = float("-inf")
        self._last_error = None
        self._retries.clear()
        for flight in self._in_flight.values():
            flight.attempt.abort()

    def _drop_pending_updates(self) -> None:
        self._updates = []
        self._retries.clear()

    def _dispatch_webhook(self) -> None:
        """The delivery loop: start every attempt that is due, sleep until the next one is (or something changes)."""
        with self._cond:
            while not self._closing:
                wake = self._start_due_deliveries()
                timeout = 1.0 if wake is None else min(1.0, max(0.0, wake - time.monotonic()))
                self._cond.wait(timeout)

    def _start_due_deliveries(self) -> float | None:
        """Start the due attempts (lock held); the monotonic time of the next retry that is not due yet."""
        config = self._webhook
        if config is None:
            return None
        now = time.monotonic()
        wake: float | None = None
        heads: set[tuple[str, Any]] = set()
        for update in self._updates:
            key = self.webhook_queue_key(update)
            if key in heads:
                continue  # not the oldest update of its queue: it waits for that one's 2xx
            heads.add(key)
            if key in self._in_flight:
                continue
            retry = self._retries.get(update["update_id"])
            if retry is not None and retry.not_before > now:
                wake = retry.not_before if wake is None else min(wake, retry.not_before)
                continue
            if not self._take_connection(config, now):
                break
            self._launch(config, update, key)
        return wake

    def _take_connection(self, config: WebhookConfig, now: float) -> bool:
        """A connection for one more attempt: an idle one, or a new one if Telegram would open it."""
        busy = sum(1 for flight in self._in_flight.values() if flight.generation == self._webhook_generation)
        if busy < self._connections:
            return True
        warm = self.cold_after is None or now - self._last_success <= self.cold_after
        if self._connections < (config.max_connections if warm else 1):
            self._connections += 1
            return True
        return False

    def _launch(self, config: WebhookConfig, update: dict[str, Any], key: tuple[str, Any]) -> None:
        targets = self._webhook_targets or [config.url]
        target = targets[self._next_target % len(targets)]
        self._next_target += 1
        try:
            body = json.dumps(update, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: JSON can carry it only as a \uXXXX escape
            body = json.dumps(update).encode("ascii")
        attempt = Attempt(target, body, secret_token=config.secret_token, timeout=self.delivery_timeout)
        self._in_flight[key] = _Flight(update["update_id"], attempt, self._webhook_generation)
        thread = threading.Thread(
            target=self._deliver, args=(key, self._in_flight[key]), name=f"fake-webhook-{update['update_id']}"
        )
        thread.daemon = True
        self._delivery_threads.add(thread)
        thread.start()

    def _deliver(self, key: tuple[str, Any], flight: _Flight) -> None:
        """One attempt, in its own thread; then its outcome is applied under the lock."""
        started = time.monotonic()
        result = flight.attempt.run()
        finished = time.monotonic()
        acknowledged = False
        with self._cond:
            self._in_flight.pop(key, None)
            self._delivery_threads.discard(threading.current_thread())
            self.deliveries.append(
                Delivery(
                    flight.update_id,
                    key,
                    flight.attempt.target,
                    result.outcome,
                    result.status,
                    result.error,
                    result.retry_after,
                    started,
                    finished,
                )
            )
            if flight.generation == self._webhook_generation and result.outcome != "aborted":
                acknowledged = self._settle(flight.update_id, result, finished)
            self._cond.notify_all()
        if acknowledged and result.body:
            self._run_webhook_reply(result)

    def _settle(self, update_id: int, result: AttemptResult, now: float) -> bool:
        """Apply an attempt's outcome to the queue (lock held); True if it acknowledged the update."""
        if not result.keeps_connection:
            self._connections = max(0, self._connections - 1)
        if result.outcome == "ok":
            self._last_success = now
            self._retries.pop(update_id, None)
            self._updates = [u for u in self._updates if u["update_id"] != update_id]
            return True
        self._last_error = (int(time.time()), result.error or result.outcome)
        if any(u["update_id"] == update_id for u in self._updates):  # not dropped meanwhile
            retry = self._retries.setdefault(update_id, _Retry())
            retry.failures += 1
            delay = retry_delay(retry.failures, result.retry_after, base=self.backoff_base, cap=self.backoff_cap)
            retry.not_before = now + delay
        return False

    def _run_webhook_reply(self, result: AttemptResult) -> None:
        """Telegram runs a method the bot puts in its 2xx answer ({"method": "sendMessage", ...}); so does the fake.

        As on Telegram, nobody sees that call's result, and getX methods and
        (set|delete)Webhook, close and logOut are not run.
        """
        try:
            params = self._params(result.content_type, result.body, "")
        except (ApiError, ValueError, AttributeError):
            return  # not a method call: Telegram ignores the body
        method = str(params.pop("method", "") or "")
        if not method or method.lower() in ("setwebhook", "deletewebhook", "close", "logout"):
            return
        if method.lower().startswith("get"):
            return
        self._call(method, params)

    # -- waiting and inspecting -----------------------------------------------------------------

    def wait_for(self, predicate: Callable[[], Any], timeout: float = DEFAULT_TIMEOUT, what: str = "") -> Any:
        """Block until ``predicate()`` is truthy (re-checked on every API call); return its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    recent = [f"{c.method} {c.error or ''}" for c in self.calls[-8:]]
                    raise AssertionError(f"timed out waiting for {what or predicate}; recent calls: {recent}")
                self._cond.wait(min(remaining, 0.5))

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def errors(self) -> list[Call]:
        """Calls the fake rejected: a correct bot makes none."""
        with self._cond:
            return [c for c in self.calls if c.error and not c.injected]

    def sent_to(self, chat_id: int) -> list[BotMessage]:
        """The bot's messages in a chat, oldest first."""
        with self._cond:
            return sorted((m for (c, _), m in self.messages.items() if c == chat_id), key=lambda m: m.message_id)


class ChatClient:
    """One user in one chat: sends things and waits for the bot's replies in order."""

    def __init__(self, fake: FakeTelegram, chat: dict[str, Any], user: User) -> None:
        self.fake = fake
        self.chat = chat
        self.user = user
        self._seen = 0

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    def send(self, text: str, *, reply_to: int | None = None) -> dict[str, Any]:
        """Send a text message (commands and @mentions get entities like on Telegram)."""
        message = self.fake.message_payload(self.chat, self.user, text=text, reply_to=reply_to)
        self.fake.push_update("message", message)
        return message

    def edit(self, message: dict[str, Any], text: str) -> dict[str, Any]:
        """Edit an earlier message of this user."""
        edited = {**message, "text": text, "edit_date": int(time.time())}
        edited.pop("entities", None)
        entities = self.fake._entities(text)
        if entities:
            edited["entities"] = entities
        self.fake.push_update("edited_message", edited)
        return edited

    def send_sticker(self) -> dict[str, Any]:
        sticker = {
            "file_id": "CAACAgIAAxkBAAE",
            "file_unique_id": "AgADfake",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        message = self.fake.message_payload(self.chat, self.user, extra={"sticker": sticker})
        self.fake.push_update("message", message)
        return message

    def send_document(
        self, name: str, data: bytes, *, mime_type: str = "application/octet-stream", file_size: int | None = None
    ) -> dict[str, Any]:
        """Upload a file (``file_size`` overrides the size Telegram reports, to test limits)."""
        document = {
            "file_id": self.fake.add_file(name, data),
            "file_unique_id": f"AgAD{len(self.fake.files)}",
            "file_name": name,
            "mime_type": mime_type,
            "file_size": len(data) if file_size is None else file_size,
        }
        message = self.fake.message_payload(self.chat, self.user, extra={"document": document})
        self.fake.push_update("message", message)
        return message

    def send_photo(self, caption: str | None = None) -> dict[str, Any]:
        photo = [{"file_id": "AgACAgIAAxkBAAE", "file_unique_id": "AQADfake", "width": 90, "height": 90}]
        extra: dict[str, Any] = {"photo": photo}
        if caption:
            extra["caption"] = caption
        message = self.fake.message_payload(self.chat, self.user, extra=extra)
        self.fake.push_update("message", message)
        return message

    def send_location(self) -> dict[str, Any]:
        message = self.fake.message_payload(
            self.chat, self.user, extra={"location": {"latitude": 51.88, "longitude": 128.33}}
        )
        self.fake.push_update("message", message)
        return message

    def press(self, message: BotMessage, label_or_data: str, *, raw: bool = False) -> str:
        """Press the button labelled ``label_or_data`` (or send raw callback data with ``raw=True``)."""
        data = label_or_data if raw else message.button(label_or_data)
        return self.fake.press(message, data, self.user)

    def inline(self, query: str) -> str:
        return self.fake.inline_query(self.user, query)

    def replies(self) -> list[BotMessage]:
        return self.fake.sent_to(self.chat_id)

    def next_reply(self, timeout: float = DEFAULT_TIMEOUT) -> BotMessage:
        """The next message the bot sends to this chat (after those already returned)."""

        def new_reply() -> BotMessage | None:
            replies = self.replies()
            return replies[self._seen] if len(replies) > self._seen else None

        message = self.fake.wait_for(
            new_reply,
            timeout,
            what=f"a reply in chat {self.chat_id}",
        )
        self._seen += 1
        return message

    def next_replies(self, count: int, timeout: float = DEFAULT_TIMEOUT) -> list[BotMessage]:
        return [self.next_reply(timeout) for _ in range(count)]

    def skip_sent(self) -> None:
        """Forget replies so far: the next ``next_reply`` waits for a new one."""
        self._seen = len(self.replies())

    def callback_answer(self, query_id: str, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """The bot's answerCallbackQuery for ``query_id``."""
        return self.fake.wait_for(
            lambda: self.fake.callback_answers.get(query_id), timeout, what=f"answerCallbackQuery {query_id}"
        )

    def inline_answer(self, query_id: str, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        return self.fake.wait_for(
            lambda: self.fake.inline_answers.get(query_id), timeout, what=f"answerInlineQuery {query_id}"
        )
