"""Deliver replies through Telegram's bad moments: retry transient failures with backoff.

Telegram answers 429 (flood control, with ``retry_after``), 5xx, hangs or drops
the connection now and then. PTB's ``AIORateLimiter`` already waits out 429s a
few times; this module covers the rest so that an answer is not lost to a
short outage:

* retried: network errors and timeouts (a dropped connection, a hang past the
  client timeout), 5xx answers (PTB raises ``NetworkError`` for them) and a
  ``RetryAfter`` the rate limiter gave up on;
* not retried: ``BadRequest`` (retrying the same request cannot help),
  ``Forbidden`` (the user blocked the bot), ``InvalidToken`` and anything that
  is not a Telegram error.

Delays double from ``first_delay`` up to ``max_delay`` (with a little jitter
so that many chats do not retry in lockstep), for at most ``attempts`` tries
and ``give_up_after`` seconds in total; a ``RetryAfter`` waits what Telegram
asked for. When the bot is stopping (``keep_going`` returns False) the current
failure is final, so SIGTERM is not held up by an outage.

A retry after a timeout may deliver a message twice if Telegram did receive the
first attempt: a duplicate answer is better than a lost one.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
)
from tenacity.wait import wait_base

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to keep trying one Bot API call."""

    attempts: int = 10
    first_delay: float = 0.5
    max_delay: float = 30.0
    give_up_after: float = 180.0  # seconds since the first attempt


REPLIES = RetryPolicy()  # answers: worth waiting out a couple of minutes of outage for
QUICK = RetryPolicy(attempts=3, first_delay=0.5, max_delay=2.0, give_up_after=10.0)  # callback answers expire fast


def is_transient(exc: BaseException) -> bool:
    """Whether trying the same call again later may succeed."""
    if isinstance(exc, RetryAfter):
        return True
    if isinstance(exc, BadRequest | Forbidden | InvalidToken):
        return False
    return isinstance(exc, NetworkError)  # includes TimedOut and 5xx answers


class _Wait(wait_base):
    """What Telegram asked for after a ``RetryAfter``; otherwise doubling delays with ±20 % jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, RetryAfter):
            retry_after = exc.retry_after
            seconds = retry_after.total_seconds() if hasattr(retry_after, "total_seconds") else float(retry_after)
            return seconds + 0.1
        backoff = min(self.policy.first_delay * 2 ** (retry_state.attempt_number - 1), self.policy.max_delay)
        # Jitter, so that many chats failing together do not retry in lockstep.
        return backoff * random.uniform(0.8, 1.2)


async def deliver(
    call: Callable[[], Awaitable[T]],
    *,
    what: str,
    policy: RetryPolicy = REPLIES,
    keep_going: Callable[[], bool] = lambda: True,
) -> T:
    """Await ``call()`` until it succeeds, retrying transient failures; the last failure is raised.

    ``call`` must build a fresh request each time (a lambda around ``bot.send_message(...)``).
    ``what`` names the call in log lines; it must not contain user text or secrets.
    """

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s failed (%s); retrying in %.1fs (attempt %d)", what, exc, wait, state.attempt_number)

    retrying = AsyncRetrying(
        retry=retry_if_exception(is_transient),
        wait=_Wait(policy),
        # Stop at the attempt limit, when the next wait would pass the time limit, or when the
        # bot is stopping (so SIGTERM is not held up by an outage).
        stop=stop_after_attempt(policy.attempts)
        | stop_before_delay(policy.give_up_after)
        | (lambda _state: not keep_going()),
        before_sleep=before_sleep,
        reraise=True,
    )

    async def attempt() -> T:
        # A coroutine function: tenacity would call a plain lambda without awaiting what it returns.
        return await call()

    started = time.monotonic()
    try:
        return await retrying(attempt)
    except TelegramError as exc:
        if is_transient(exc):
            attempts = retrying.statistics.get("attempt_number", 1)
            log.error("%s failed after %d attempts in %.1fs: %s", what, attempts, time.monotonic() - started, exc)
        raise


async def best_effort(call: Callable[[], Awaitable[object]], *, what: str) -> None:
    """Await ``call()`` once and only log a Telegram failure (for cosmetic calls such as "typing…")."""
    try:
        await call()
    except TelegramError as exc:
        log.info("%s failed (%s); carrying on", what, exc)
