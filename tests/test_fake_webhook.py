"""The fake Telegram server's webhook mode, against small local HTTP targets started here.

Each test sets the webhook through the Bot API (as a bot would), pushes updates
with the ordinary chat helpers, and reads what the targets received and what the
fake recorded in ``fake.deliveries``. Delays are a few tenths of a second, so the
whole file runs in seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import pytest
from fakes.telegram_server import FakeTelegram
from fakes.webhook import DEFAULT_ALLOWED_UPDATES, SECRET_HEADER, chat_queue_key, queue_key, retry_delay
from telegram import Bot
from telegram.error import BadRequest, Conflict, RetryAfter

TOKEN = "123456789:AAE-fake_token_for_webhook_tests_000000"
SECRET = "s3cret_token-for-tests"


@dataclass
class Received:
    """One POST a target got."""

    update: dict[str, Any]
    headers: dict[str, str]
    started: float
    finished: float = 0.0  # just before the answer was written

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


@dataclass
class Answer:
    """What a target does with one POST."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    drop: bool = False  # close the connection without answering


Behaviour = Callable[[Received], Answer]


class Target:
    """A tiny webhook endpoint: records every POST and answers as ``behave`` says (200 by default)."""

    def __init__(self, behave: Behaviour | None = None) -> None:
        self.behave: Behaviour = behave or (lambda received: Answer())
        self.received: list[Received] = []
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                target._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/telegram"

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        received = Received(json.loads(body), dict(request.headers.items()), time.monotonic())
        with self.lock:
            self.received.append(received)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            answer = self.behave(received)
            time.sleep(answer.delay)
        finally:
            with self.lock:
                self.active -= 1
                received.finished = time.monotonic()
        if answer.drop:
            request.close_connection = True
            return
        try:
            request.send_response(answer.status)
            for name, value in answer.headers.items():
                request.send_header(name, value)
            request.send_header("Content-Length", str(len(answer.body)))
            request.end_headers()
            request.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):  # the fake gave up waiting
            pass

    def update_ids(self) -> list[int]:
        with self.lock:
            return [r.update_id for r in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def api(fake: FakeTelegram, method: str, *, form: bool = False, **params: Any) -> tuple[int, dict[str, Any]]:
    """Call the fake's Bot API like a bot: JSON body, or form fields (how python-telegram-bot sends them)."""
    if form:
        fields = {k: json.dumps(v) if isinstance(v, list | dict | bool) else str(v) for k, v in params.items()}
        data, content_type = urlencode(fields).encode(), "application/x-www-form-urlencoded"
    else:
        data, content_type = json.dumps(params).encode(), "application/json"
    request = urllib.request.Request(
        f"{fake.base_url}{fake.token}/{method}", data=data, headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def set_webhook(fake: FakeTelegram, url: str, **params: Any) -> None:
    status, body = api(fake, "setWebhook", url=url, **params)
    assert (status, body.get("result")) == (200, True), body


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    server = FakeTelegram(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def targets() -> Iterator[Callable[..., Target]]:
    """A factory of targets, all closed after the test."""
    made: list[Target] = []

    def make(behave: Behaviour | None = None) -> Target:
        made.append(Target(behave))
        return made[-1]

    yield make
    for target in made:
        target.close()


def fail_first(count: int, answer: Answer) -> Behaviour:
    """Answer the first ``count`` POSTs with ``answer``, then 200."""
    seen = [0]
    lock = threading.Lock()

    def behave(received: Received) -> Answer:
        with lock:
            seen[0] += 1
            return answer if seen[0] <= count else Answer()

    return behave


def down_url() -> str:
    """A loopback URL nothing listens on (connections are refused)."""
    probe = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = probe.server_address[1]
    probe.server_close()
    return f"http://127.0.0.1:{port}/telegram"


# -- delivery ---------------------------------------------------------------------------------------


def test_updates_are_posted_as_json_with_the_secret_header(fake: FakeTelegram, targets: Callable[..., Target]) -> None:
    target = targets()
    set_webhook(fake, target.url, secret_token=SECRET)
    user = fake.private_chat()
    message = user.send("hello")
    fake.wait_acknowledged(5)
    [received] = target.received
    assert received.headers[SECRET_HEADER] == SECRET
    assert received.headers["Content-Type"] == "application/json"
    assert received.update["message"]["text"] == "hello"
    assert received.update["message"]["message_id"] == message["message_id"]
    assert [d.outcome for d in fake.deliveries] == ["ok"]
    assert fake.pending_update_count == 0


def test_no_secret_header_without_a_secret(fake: FakeTelegram, targets: Callable[..., Target]) -> None:
    target = targets()
    set_webhook(fake, target.url)
    fake.private_chat().send("hello")
    fake.wait_acknowledged(5)
    assert SECRET_HEADER not in target.received[0].headers


def test_a_chat_gets_one_update_at_a_time_in_order(fake: FakeTelegram, targets: Callable[..., Target]) -> None:
    target = targets(lambda received: Answer(delay=0.05))
    set_webhook(fake, target.url)
    user = fake.private_chat()
    for n in range(5):
        user.send(f"message {n}")
    fake.wait_acknowledged(5)
    received = target.received
    assert [r.update["message"]["text"] for r in received] == [f"message {n}" for n in range(5)]
    for earlier, later in itertools.pairwise(received):
        assert later.started >= earlier.finished, "the next update of a chat came before the previous was answered"
    assert target.max_active == 1


def test_a_failing_update_holds_back_its_chat_but_not_other_chats(
    fake: FakeTelegram, targets: Callable[..., Target]
) -> None:
    stuck = fake.private_chat()
    other = fake.private_chat()

    def behave(received: Received) -> Answer:
        if received.update["message"]["chat"]["id"] == stuck.chat_id and received.update["message"]["text"] == "1":
            return Answer(503)
        return Answer()

    target = targets(behave)
    set_webhook(fake, target.url)
    stuck.send("1")
    stuck.send("2")
    other.send("a")
    other.send("b")
    fake.wait_for(lambda: [r.update["message"]["text"] for r in target.received].count("b") == 1, 5, "other chat")
    texts = [r.update["message"]["text"] for r in target.received]
    assert "2" not in texts, "a chat's next update was delivered before the failing one was acknowledged"
    assert texts.count("1") >= 1
    assert fake.pending_update_count == 2


def test_different_chats_are_delivered_at_once(fake: FakeTelegram, targets: Callable[..., Target]) -> None:
    target = targets(lambda received: Answer(delay=0.4))
    set_webhook(fake, target.url)
    fake.private_chat().send("warm-up")  # Telegram opens more than one connection only after a 2xx
    fake.wait_acknowledged(5)
    for _ in range(4):
        fake.private_chat().send("question")
    fake.wait_acknowledged(5)
    assert target.max_active == 4


def test_max_connections_caps_the_deliveries_at_once(fake: FakeTelegram, targets: Callable[..., Target]) -> None:
    target = targets(lambda received: Answer(delay=0.2))
    set_webhook(fake, target.url, max_connections=2)
    fake.private_chat().send("warm-up")
    fake.wait_acknowledged(5)
    for _ in range(6):
        fake.private_chat().send("question")
    fake.wait_acknowledged(5)
    assert target.max_active == 2


def test_a_cold_webhook_gets_one_connection_until_its_first_success(
    fake: FakeTelegram, targets: Callable[..., Target]
) -> None:
    target = targets(lambda received: Answer(delay=0.3))
    set_webhook(fake, target.url)
    for _ in range(4):
        fake.private_chat().send("question")
    fake.wait_acknowledged(5)
    first, *rest = sorted(target.received, key=lambda r: r.started)
    assert all(r.started >= first.finished for r in rest), "Telegram opens one connection before the first 2xx"
    assert target.max_active == 3  # the other three together once the first was answered


def test_without_the_cold_start_rule_everything_goes_at_once(targets: Callable[..., Target]) -> None:
    fake = FakeTelegram(TOKEN, cold_after=None).start()
    try:
        target = targets(lambda received: Answer(delay=0.3))
        set_webhook(fake, target.url)
        for _ in range(4):
            fake.private_chat().send("question")
        fake.wait_acknowledged(5)
        assert target.max_active == 4
    finally:
        fake.stop()


def test_a_button_press_is_queued_by_user_apart_from_the_chats_messages(
    fake: FakeTelegram, targets: Callable[..., Target]
) -> None:
    """Telegram queues callback queries per user, not with the chat's messages: they can overlap."""
    release = threading.Event()

    def behave(received: Received) -> Answer:
        if "message" in received.update and received.update["message"].get("text") == "slow":
            release.wait(5)
        return Answer()

    target = targets(behave)
    set_webhook(fake, target.url)
    user = fake.private_chat()
    status, sent = api(
        fake,
        "sendMessage",
        chat_id=user.chat_id,
        text="pick",
        reply_markup={"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]},
    )
    assert status == 200, sent
    user.send("warm-up")
    fake.wait_acknowledged(5)
    user.send("slow")
    fake.wait_for(lambda: len(target.received) == 2, 5, "the slow message")
    user.press(user.next_reply(), "Yes")
    fake.wait_for(
        lambda: any("callback_query" in r.update for r in target.received), 5, "the press, while 'slow' waits"
    )
    release.set()
    fake.wait_acknowledged(5)
    press = next(r.update for r in target.received if "callback_query" in r.update)
    assert queue_key(press) == ("callback_query", user.user.id)


def test_with_chat_queue_key_a_press_waits_for_the_chats_message(
    fake: FakeTelegram, targets: Callable[..., Target]
) -> None:
    fake.webhook_queue_key = chat_queue_key
    target = targets(lambda received: Answer(delay=0.3 if "message" in received.update else 0.0))
    set_webhook(fake, target.url)
    user = fake.private_chat()
    status, sent = api(
        fake,
        "sendMessage",
        chat_id=user.chat_id,
        text="pick",
        reply_markup={"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]},
    )
    assert status == 200, sent
    user.send("slow")
    user.press(user.next_reply(), "Yes")
    fake.wait_acknowledged(5)
    message, press = target.received
    assert "callback_query" in press.update and press.started >= message.finished
    assert chat_queue_key(press.update) == ("chat", user.chat_id)


# -- redelivery ---------------------------------------------------------------------------------------


def test_503_with_retry_after_is_redelivered_after_that_wait(
    fake: FakeTelegram, targets: Callable[..., Target]
) -> None:
    target = targets(fail_first(1, Answer(503, headers={"Retry-After": "1"})))
    set_webhook(fake, target.url)
    fake.private_chat().send("hello")
    fake.wait_acknowledged(5)
    first, second = fake.deliveries_for(target.received[0].update_id)
    assert (first.outcome, first.status, first.retry_after) == ("http_error", 503, 1.0)
    assert first.error == "Wrong response from the webhook: 503 Service Unavailable"
    assert second.ok and second.update_id == first.update_id
    assert second.started - first.finished >= 0.95
    info = api(fake, "getWebhookInfo")[1]["result"]
    assert info["last_error_message"] == "Wrong response from the webhook: 503 Service Unavailable"
    assert abs(info["last_error_date"] - time.time()) < 5


def test_retry_after_is_capped_by_backoff_cap(targets: Callable[..., Target]) -> None:
    fake = FakeTelegram(TOKEN, backoff_cap=0.3).start()
    try:
        target = targets(fail_first(1, Answer(503, headers={"Retry-After": "30"})))
        set_webhook(fake, target.url)
        fake.private_chat().send("hello")
        fake.wait_acknowledged(3)
        first, second = fake.deliveries
        assert 0.25 <= second.started - first.finished < 2
    finally:
        fake.stop()


def test_failures_back_off_exponentially_from_an_immediate_retry(
    fake: FakeTelegram, targets: Callable[..., Target]
) -> None:
    target = targets(fail_first(4, Answer(500)))
    set_webhook(fake, target.url)
    fake.private_chat().send("hello")
    fake.wait_acknowledged(5)
    attempts = fake.deliveries
    assert [d.outcome for d in attempts] == ["http_error"] * 4 + ["ok"]
    gaps = [later.started - earlier.finished for earlier, later in itertools.pairwise(attempts)]
    expected = [retry_delay(n, None, base=fake.backoff_base, cap=fake.backoff_cap) for n in range(1, 5)]
    assert expected == [0.0, 0.2, 0.4, 0.8]
    for gap, wanted in zip(gaps, expected, strict=True):
        assert wanted - 0.02 <= gap < wanted + 0.5, (gaps, expected)


def test_a_dropped_connection_is_redelivered(fake: FakeTelegram, targets: Callable[..., Target]) -> None:
    target = targets(fail_first(1, Answer(drop=True)))
    set_webhook(fake, target.url)
    fake.private_chat().send("hello")
    fake.wait_acknowledged(5)
    assert [(d.outcome, d.error) for d in fake.deliveries] == [("dropped", "Webhook connection closed"), ("ok", None)]
    assert len(target.received) == 2
    assert api(fake, "getWebhookInfo")[1]["result"]["last_error_message"] == "Webhook connection closed"


def test_a_timeout_is_redelivered_so_the_bot_sees_the_update_twice(targets: Callable[..., Target]) -> None:
    fake = FakeTelegram(TOKEN, delivery_timeout=0.3).start()
    try:
        target = targets(fail_first(1, Answer(delay=0.8)))
        set_webhook(fake, target.url)
        fake.private_chat().send("hello")
        fake.wait_acknowledged(5)
        first, second = fake.deliveries
        assert (first.outcome, first.error) == ("timeout", "Read timeout expired")
        assert first.finished - first.started > 0.25
        assert second.ok
        assert target.update_ids() == [first.update_id, first.update_id]  # Telegram redelivers: the bot dedupes
    finally:
        fake.stop()


def test_a_refused_connection_is_reported_and_retried(fake: FakeTelegram) -> None:
    set_webhook(fake, down_url())
    fake.private_chat().send("hello")
    fake.wait_for(lambda: len(fake.deliveries) >= 3, 5, "three attempts")
    assert {(d.outcome, d.error) for d in fake.deliveries} == {("refused", "Connection refused")}
    info = api(fake, "getWebhookInfo")[1]["result"]
    assert (info["pending_update_count"], info["last_error_message"]) == (1, "Connection refused")
    with pytest.raises(AssertionError, match=r"not acknowledged after 0.3 s:\n  update 1 \(message"):
        fake.wait_acknowledged(0.3)


# -- round-robin targets --------------------------------------------------------------------------


def test_targets_take_turns_per_attempt(fake: FakeTelegram, targets: Callable[..., Target]) -> None:
    first, second = targets(), targets()
    set_webhook(fake, "https://bot.example.com/telegram", secret_token=SECRET)
    fake.webhook_targets = [first.url, second.url]
    for _ in range(6):
        fake.private_chat().send("question")
    fake.wait_acknowledged(5)
    assert (len(first.received), len(second.received)) == (3, 3)
    assert [d.target for d in fake.deliveries].count(first.url) == 3
    assert all(r.headers[SECRET_HEADER] == SECRET for r in first.received + second.received)


def test_with_one_target_down_everything_is_acknowledged_by_the_other(
    fake: FakeTelegram, targets: Callable[..., Target]
) -> None:
    alive = targets()
    dead = down_url()
    set_webhook(fake, "https://bot.example.com/telegram")
    fake.set_webhook_targets(dead, alive.url)
    users = [fake.private_chat() for _ in range(5)]
    for user in users:
        user.send("one")
        user.send("two")
    fake.wait_acknowledged(5)
    assert sorted(alive.update_ids()) == list(range(1, 11))
    refused = [d for d in fake.deliveries if d.target == dead]
    assert refused and all(d.outcome == "refused" for d in refused)
    for user in users:  # each chat still in order, although its updates went through retries
        texts = [
            r.update["message"]["text"] for r in alive.received if r.update["message"]["chat"]["id"] == user.chat_id
        ]
        assert texts == ["one", "two"]


def test_a_retry_after_503_goes_to_the_other_target(fake: FakeTelegram, targets: Callable[..., Target]) -> None:
    overloaded = targets(lambda received: Answer(503, headers={"Retry-After": "0"}))
    healthy = targets()
    set_webhook(fake, "https://bot.example.com/telegram")
    fake.webhook_targets = [overloaded.url, healthy.url]
    fake.private_chat().send("hello")
    fake.wait_acknowledged(5)
    assert [(d.target, d.status) for d in fake.deliveries] == [(overloaded.url, 503), (healthy.url, 200)]


def test_targets_must_be_loopback_urls(fake: FakeTelegram) -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        fake.webhook_targets = ["http://bot.example.com/telegram"]


def test_a_public_url_without_targets_is_never_contacted(fake: FakeTelegram) -> None:
    set_webhook(fake, "https://bot.example.com/telegram")
    fake.private_chat().send("hello")
    fake.wait_for(lambda: fake.deliveries, 5, "an attempt")
    assert fake.deliveries[0].outcome == "refused"
    assert "set webhook_targets" in (fake.deliveries[0].error or "")


# -- the chat helpers work unchanged -------------------------------------------------------------------


def echo_bot(fake: FakeTelegram) -> Behaviour:
    """A webhook 'bot' that answers each message with sendMessage (and each press with answerCallbackQuery)
    before it acknowledges the update, as ``summit-bot serve`` does."""

    def behave(received: Received) -> Answer:
        update = received.update
        if "message" in update:
            message = update["message"]
            markup = {"inline_keyboard": [[{"text": "Again", "callback_data": "again"}]]}
            api(
                fake, "sendMessage", chat_id=message["chat"]["id"], text=f"echo: {message['text']}", reply_markup=markup
            )
        elif "callback_query" in update:
            query = update["callback_query"]
            api(fake, "answerCallbackQuery", callback_query_id=query["id"], text="ok")
            api(fake, "sendMessage", chat_id=query["message"]["chat"]["id"], text=f"pressed {query['data']}")
        return Answer()

    return behave


def test_chat_helpers_work_unchanged_in_webhook_mode(fake: FakeTelegram, targets: Callable[..., Target]) -> None:
    target = targets(echo_bot(fake))
    set_webhook(fake, target.url, secret_token=SECRET)
    user = fake.private_chat()
    user.send("hi")
    reply = user.next_reply(5)
    assert reply.text == "echo: hi"
    query_id = user.press(reply, "Again")
    assert user.callback_answer(query_id, 5)["text"] == "ok"
    assert user.next_reply(5).text == "pressed again"
    fake.wait_acknowledged(5)
    assert not fake.errors()


def test_a_method_in_the_webhook_answer_is_run(fake: FakeTelegram, targets: Callable[..., Target]) -> None:
    user = fake.private_chat()
    reply = json.dumps({"method": "sendMessage", "chat_id": user.chat_id, "text": "answered in the response"})
    target = targets(lambda received: Answer(headers={"Content-Type": "application/json"}, body=reply.encode()))
    set_webhook(fake, target.url)
    user.send("hi")
    assert user.next_reply(5).text == "answered in the response"


def test_updates_the_bot_did_not_allow_are_not_queued(fake: FakeTelegram, targets: Callable[..., Target]) -> None:
    target = targets()
    set_webhook(fake, target.url, allowed_updates=["message"])
    user = fake.private_chat()
    assert fake.push_update("callback_query", {"id": "1", "from": user.user.to_json(), "data": "x"}) == 0
    user.send("hi")
    fake.wait_acknowledged(5)
    assert [list(r.update)[1] for r in target.received] == ["message"]
    assert api(fake, "getWebhookInfo")[1]["result"]["allowed_updates"] == ["message"]


# -- the Bot API methods --------------------------------------------------------------------------


def test_get_updates_is_refused_while_a_webhook_is_set(fake: FakeTelegram, targets: Callable[..., Target]) -> None:
    set_webhook(fake, targets().url)
    status, body = api(fake, "getUpdates", timeout=0)
    assert status == 409
    assert body == {
        "ok": False,
        "error_code": 409,
        "description": "Conflict: can't use getUpdates method while webhook is active; "
        "use deleteWebhook to delete the webhook first",
    }


def test_set_webhook_ends_a_long_poll_under_way(fake: FakeTelegram, targets: Callable[..., Target]) -> None:
    answers: list[tuple[int, dict[str, Any]]] = []
    poll = threading.Thread(target=lambda: answers.append(api(fake, "getUpdates", timeout=5)))
    poll.start()
    time.sleep(0.2)
    set_webhook(fake, targets().url)
    poll.join(3)
    assert answers == [
        (409, {"ok": False, "error_code": 409, "description": "Conflict: terminated by setWebhook request"})
    ]


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"url": "ftp://example.com/hook"}, "Bad Request: invalid webhook URL specified"),
        ({"url": "https://example.com:notaport/hook"}, "Bad Request: invalid webhook URL specified"),
        ({"url": "http://example.com/hook"}, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"),
        (
            {"url": "https://example.com:8080/hook"},
            "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
        ),
        (
            {"url": "https://example.com/hook", "secret_token": "has space"},
            "Bad Request: secret token contains unallowed characters",
        ),
        (
            {"url": "https://example.com/hook", "secret_token": "é"},
            "Bad Request: secret token contains unallowed characters",
        ),
        ({"url": "https://example.com/hook", "secret_token": "a" * 257}, "Bad Request: secret token is too long"),
    ],
)
def test_set_webhook_refuses_what_telegram_refuses(
    fake: FakeTelegram, params: dict[str, Any], description: str
) -> None:
    status, body = api(fake, "setWebhook", **params)
    assert (status, body) == (400, {"ok": False, "error_code": 400, "description": description})
    assert fake.webhook is None


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hook",
        "example.com/hook",  # Telegram reads it as https
        "https://example.com:8443/hook",
        "http://127.0.0.1:8080/telegram",  # the fake's exception: tests serve plain HTTP on loopback
        "http://localhost:1234/telegram",
    ],
)
def test_set_webhook_accepts_what_telegram_accepts_and_loopback_http(fake: FakeTelegram, url: str) -> None:
    status, body = api(fake, "setWebhook", url=url, secret_token="A-z_09" * 40)
    assert (status, body) == (200, {"ok": True, "result": True, "description": "Webhook was set"})


def test_set_webhook_details_as_on_telegram(targets: Callable[..., Target]) -> None:
    fake = FakeTelegram(TOKEN).start()
    try:
        url = targets().url
        set_webhook(fake, url)
        # Telegram allows one setWebhook with a URL per second.
        assert api(fake, "setWebhook", url=url) == (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            },
        )
        fake.set_webhook_interval = 0
        assert api(fake, "setWebhook", url=url)[1]["description"] == "Webhook is already set"
        # max_connections is clamped to 1..100, not refused; form fields as python-telegram-bot sends them.
        for given, kept in [(0, 1), (1000, 100), ("7", 7)]:
            set_webhook(fake, url, max_connections=given)
            assert api(fake, "getWebhookInfo", form=True)[1]["result"]["max_connections"] == kept
        # A refused setWebhook leaves no webhook: Telegram closes the old one before it checks the new one.
        assert api(fake, "setWebhook", url=url, secret_token="bad token")[0] == 400
        assert fake.webhook is None
        # An empty URL deletes the webhook, like deleteWebhook.
        set_webhook(fake, url)
        assert api(fake, "setWebhook", url="")[1] == {"ok": True, "result": True, "description": "Webhook was deleted"}
        assert api(fake, "setWebhook")[1]["description"] == "Webhook is already deleted"
    finally:
        fake.stop()


def test_get_webhook_info_fields(fake: FakeTelegram, targets: Callable[..., Target]) -> None:
    assert api(fake, "getWebhookInfo")[1]["result"] == {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": 0,
    }
    dead = down_url()
    set_webhook(fake, dead, max_connections=5, allowed_updates=["message", "callback_query", "chat_member"])
    for _ in range(3):
        fake.private_chat().send("hello")
    fake.wait_for(lambda: len(fake.deliveries) >= 2, 5, "failed attempts")
    info = api(fake, "getWebhookInfo")[1]["result"]
    assert info.pop("last_error_date") > 0
    assert info == {
        "url": dead,
        "has_custom_certificate": False,
        "pending_update_count": 3,
        "last_error_message": "Connection refused",
        "max_connections": 5,
        "ip_address": "127.0.0.1",
        "allowed_updates": ["message", "callback_query", "chat_member"],
    }
    assert fake.pending_update_count == 3


def test_default_allowed_updates_are_not_listed(fake: FakeTelegram, targets: Callable[..., Target]) -> None:
    set_webhook(fake, targets().url, allowed_updates=sorted(DEFAULT_ALLOWED_UPDATES))
    assert "allowed_updates" not in api(fake, "getWebhookInfo")[1]["result"]


def test_delete_webhook_returns_to_polling_with_pending_updates_kept(fake: FakeTelegram) -> None:
    set_webhook(fake, down_url())
    user = fake.private_chat()
    user.send("one")
    user.send("two")
    fake.wait_for(lambda: fake.deliveries, 5, "a failed attempt")
    assert api(fake, "deleteWebhook")[1] == {"ok": True, "result": True, "description": "Webhook was deleted"}
    assert api(fake, "getWebhookInfo")[1]["result"] == {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": 2,
    }
    status, body = api(fake, "getUpdates", timeout=0)
    assert status == 200
    assert [u["message"]["text"] for u in body["result"]] == ["one", "two"]
    attempts = len(fake.deliveries)
    time.sleep(0.3)
    assert len(fake.deliveries) == attempts, "delivery went on after deleteWebhook"


def test_delete_webhook_can_drop_pending_updates(fake: FakeTelegram) -> None:
    set_webhook(fake, down_url())
    fake.private_chat().send("one")
    assert api(fake, "deleteWebhook", drop_pending_updates=True)[0] == 200
    assert fake.pending_update_count == 0
    assert api(fake, "getUpdates", timeout=0)[1]["result"] == []
    assert api(fake, "deleteWebhook")[1]["description"] == "Webhook is already deleted"


def test_updates_pushed_while_polling_are_delivered_once_a_webhook_is_set(
    fake: FakeTelegram, targets: Callable[..., Target]
) -> None:
    user = fake.private_chat()
    user.send("before the webhook")
    target = targets()
    set_webhook(fake, target.url)
    fake.wait_acknowledged(5)
    assert [r.update["message"]["text"] for r in target.received] == ["before the webhook"]


def test_stop_cuts_off_a_hanging_delivery(targets: Callable[..., Target]) -> None:
    release = threading.Event()
    target = targets(lambda received: (release.wait(5), Answer())[1])
    fake = FakeTelegram(TOKEN).start()
    try:
        set_webhook(fake, target.url)
        fake.private_chat().send("hello")
        fake.wait_for(lambda: target.received, 5, "the delivery to start")
        started = time.monotonic()
        fake.stop()
        assert time.monotonic() - started < 2
        assert not [t for t in threading.enumerate() if t.name.startswith("fake-webhook-")]
        assert [d.outcome for d in fake.deliveries] == ["aborted"]
    finally:
        release.set()


# PTB 22 warns (about retry_after becoming a timedelta in a future major version) whenever it builds a RetryAfter.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_python_telegram_bot_drives_the_webhook_methods(fake: FakeTelegram, targets: Callable[..., Target]) -> None:
    """The client the bot uses: its encoding (form fields) in, its parsing of the answers out."""
    target = targets()

    async def drive() -> None:
        async with Bot(fake.token, base_url=fake.base_url) as bot:
            assert await bot.set_webhook(target.url, secret_token=SECRET, max_connections=3)
            info = await bot.get_webhook_info()
            assert (info.url, info.max_connections, info.pending_update_count) == (target.url, 3, 0)
            with pytest.raises(Conflict, match="webhook is active"):
                await bot.get_updates()
            with pytest.raises(RetryAfter):
                await bot.set_webhook(target.url)
            fake.set_webhook_interval = 0
            with pytest.raises(BadRequest, match="unallowed characters"):
                await bot.set_webhook(target.url, secret_token="not allowed")
            assert await bot.set_webhook(target.url, secret_token=SECRET)
            fake.private_chat().send("hello")
            await asyncio.to_thread(fake.wait_acknowledged, 5)
            assert await bot.delete_webhook()
            assert (await bot.get_webhook_info()).url == ""
            assert await bot.get_updates(timeout=0) == ()

    asyncio.run(drive())
    assert target.received[0].headers[SECRET_HEADER] == SECRET
