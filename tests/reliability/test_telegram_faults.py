"""Telegram misbehaves (429, 5xx, hangs, dropped connections) on getUpdates and sendMessage.

Each fault is switched on in the fake server, questions are asked while it is
active, and every one of them must get exactly one answer once Telegram is
back, within a bounded time, from a bot that is still running.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fakes.telegram_server import ChatClient, FakeTelegram, Fault, Reply, drop_fault, error_fault, hang_fault

QUESTION = "Where did Kim and Putin meet?"
ANSWERED_WITHIN = 60.0  # seconds after the fault ends; the backoff needs < 10 s for these faults
HANG = 6.5  # past the client timeouts: getUpdates 1 s poll + 5 s read, sendMessage 5 s read


def outage(seconds: float, status: int, description: str) -> Fault:
    """Every call fails with ``status`` for ``seconds`` after the first one it sees."""
    started: list[float] = []

    def fault(method: str, params: dict[str, Any]) -> Reply | None:
        now = time.monotonic()
        if not started:
            started.append(now)
        if now - started[0] > seconds:
            return None
        return Reply(status, {"ok": False, "error_code": status, "description": description})

    return fault


class Tripwire:
    """Wraps a fault and says when it first fired (so questions are asked *during* the fault)."""

    def __init__(self, inner: Fault) -> None:
        self.inner = inner
        self.fired = threading.Event()

    def __call__(self, method: str, params: dict[str, Any]) -> Any:
        outcome = self.inner(method, params)
        if outcome is not None:
            self.fired.set()
        return outcome


# PTB's polling backoff grows 1 s, 1.5 s, 2.25 s…: two failed polls keep the test short.
POLL_FAULTS: dict[str, Callable[[], Fault]] = {
    "429-retry-after": lambda: error_fault(429, "Too Many Requests: retry after 1", retry_after=1, times=2),
    "500": lambda: error_fault(500, "Internal Server Error", times=2),
    "502": lambda: error_fault(502, "Bad Gateway", times=2),
    "hang": lambda: hang_fault(HANG),
    "dropped-connection": lambda: drop_fault(times=2),
}
SEND_FAULTS: dict[str, Callable[[], Fault]] = {
    "429-retry-after": lambda: error_fault(429, "Too Many Requests: retry after 1", retry_after=1, times=3),
    "500": lambda: error_fault(500, "Internal Server Error", times=3),
    "502": lambda: error_fault(502, "Bad Gateway", times=3),
    "5xx-outage-4s": lambda: outage(4.0, 502, "Bad Gateway"),
    "hang": lambda: hang_fault(HANG),
    "dropped-connection": lambda: drop_fault(times=3),
}


def _answers(user: ChatClient, count: int) -> None:
    replies = user.next_replies(count, timeout=ANSWERED_WITHIN)
    assert all("¶" in r.text for r in replies), [r.text for r in replies]


@pytest.mark.parametrize("fault", list(POLL_FAULTS))
def test_get_updates_fault_questions_asked_during_it_are_answered(tg: FakeTelegram, watch, fault: str) -> None:
    trip = Tripwire(POLL_FAULTS[fault]())
    tg.faults["getUpdates"] = [trip]
    assert trip.fired.wait(30), "the bot never polled into the fault"
    users = [tg.private_chat() for _ in range(3)]
    for user in users:  # asked while getUpdates is failing
        user.send(QUESTION)
    for user in users:
        _answers(user, 1)
    time.sleep(0.5)
    for user in users:
        assert len(user.replies()) == 1, "an answer was sent twice"
    assert any(c.injected for c in tg.calls_to("getUpdates"))
    watch.assert_no_traceback()


@pytest.mark.parametrize("fault", list(SEND_FAULTS))
def test_send_message_fault_the_answer_is_retried_until_delivered(tg: FakeTelegram, watch, fault: str) -> None:
    user = tg.private_chat()
    injected_before = sum(c.injected for c in tg.calls_to("sendMessage"))
    trip = Tripwire(SEND_FAULTS[fault]())
    tg.faults["sendMessage"] = [trip]
    user.send(QUESTION)
    assert trip.fired.wait(30), "the answer never met the fault"
    second = tg.private_chat()
    second.send(QUESTION)  # another chat asks while answers are failing
    _answers(user, 1)
    _answers(second, 1)
    time.sleep(0.5)
    assert len(user.replies()) == 1 and len(second.replies()) == 1, "an answer was lost or sent twice"
    assert sum(c.injected for c in tg.calls_to("sendMessage")) > injected_before
    if fault != "429-retry-after":  # 429s are waited out by PTB's rate limiter before ours sees them
        assert "failed" in watch.text() and "retrying in" in watch.text()
    watch.assert_no_traceback()


def test_a_button_press_during_a_send_outage_is_answered(tg: FakeTelegram, watch) -> None:
    user = tg.private_chat()
    user.send(QUESTION)
    answer = user.next_reply()
    tg.faults["answerCallbackQuery"] = [error_fault(502, "Bad Gateway", times=1)]
    tg.faults["sendMessage"] = [error_fault(500, "Internal Server Error", times=2)]
    user.callback_answer(user.press(answer, "👍"), timeout=ANSWERED_WITHIN)
    user.press(answer, "More")
    more = user.next_reply(timeout=ANSWERED_WITHIN)
    assert more.reply_to == answer.message_id
    watch.assert_no_traceback()
