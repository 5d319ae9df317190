"""Retries of Bot API calls (bot/delivery.py): what is retried, how long, and when it gives up."""

from __future__ import annotations

import asyncio
import time

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.delivery import RetryPolicy, deliver

FAST = RetryPolicy(attempts=4, first_delay=0.01, max_delay=0.05, give_up_after=5.0)


def flaky(*failures: Exception):
    """A call that raises ``failures`` in turn, then returns how many attempts it took."""
    attempts = []

    async def call() -> int:
        attempts.append(time.monotonic())
        if len(attempts) <= len(failures):
            raise failures[len(attempts) - 1]
        return len(attempts)

    return call, attempts


def test_transient_failures_are_retried_until_the_call_succeeds() -> None:
    call, _ = flaky(NetworkError("Bad Gateway"), TimedOut())
    assert asyncio.run(deliver(call, what="sendMessage", policy=FAST)) == 3


def test_a_lambda_around_a_bot_call_is_awaited_and_its_result_returned() -> None:
    call, _ = flaky(NetworkError("Bad Gateway"))
    assert asyncio.run(deliver(lambda: call(), what="sendMessage", policy=FAST)) == 2


@pytest.mark.parametrize("error", [BadRequest("Message is too long"), Forbidden("bot was blocked by the user")])
def test_permanent_failures_are_raised_at_once(error: Exception) -> None:
    call, attempts = flaky(error)
    with pytest.raises(type(error)):
        asyncio.run(deliver(call, what="sendMessage", policy=FAST))
    assert len(attempts) == 1


def test_gives_up_after_the_attempt_limit_with_the_last_error() -> None:
    call, attempts = flaky(*[NetworkError(f"down {i}") for i in range(10)])
    with pytest.raises(NetworkError, match="down 3"):
        asyncio.run(deliver(call, what="sendMessage", policy=FAST))
    assert len(attempts) == FAST.attempts


def test_retry_after_waits_what_telegram_asked_for() -> None:
    call, attempts = flaky(RetryAfter(1))
    assert asyncio.run(deliver(call, what="sendMessage", policy=FAST)) == 2
    assert attempts[1] - attempts[0] >= 1.0


def test_never_waits_past_the_time_limit() -> None:
    policy = RetryPolicy(attempts=10, first_delay=0.01, max_delay=0.05, give_up_after=0.5)
    call, attempts = flaky(RetryAfter(2), NetworkError("x"))
    started = time.monotonic()
    with pytest.raises(RetryAfter):
        asyncio.run(deliver(call, what="sendMessage", policy=policy))
    assert len(attempts) == 1 and time.monotonic() - started < 0.5


def test_a_stopping_bot_does_not_retry() -> None:
    call, attempts = flaky(NetworkError("x"), NetworkError("y"))
    with pytest.raises(NetworkError):
        asyncio.run(deliver(call, what="sendMessage", policy=FAST, keep_going=lambda: False))
    assert len(attempts) == 1
