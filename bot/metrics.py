"""Prometheus metrics of one bot process (``GET /metrics`` in webhook mode).

Each process exposes its own; Prometheus scrapes every pod and sums. Kept in one module so
the names are listed in one place (docs/deploy.md explains them).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

REGISTRY = CollectorRegistry(auto_describe=True)

# outcome: answered (200 after the handlers ran), duplicate (already answered: 200 without work),
# busy (another process holds the update's lease: 503), overloaded / not_ready / store_down /
# telegram_down (503, Telegram redelivers), forbidden (wrong secret: 403), malformed (400).
UPDATES = Counter("summit_updates_total", "Webhook updates by outcome.", ["outcome"], registry=REGISTRY)
# From the update's arrival to the reply sent; a question's embedding and search are most of it.
UPDATE_SECONDS = Histogram(
    "summit_update_seconds",
    "Time to handle one webhook update, reply included.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
ANSWER_SECONDS = Histogram(
    "summit_answer_seconds",
    "Time the conversation engine took for one question (embedding, search, composing the reply).",
    buckets=(0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 2.0),
    registry=REGISTRY,
)
REPLIES = Counter(
    "summit_replies_total", "Replies to messages by kind (answer, refusal, greeting…).", ["kind"], registry=REGISTRY
)
REFUSALS = Counter(
    "summit_refusals_total", "Questions the article does not answer, by reason.", ["reason"], registry=REGISTRY
)
IN_FLIGHT = Gauge("summit_updates_in_flight", "Webhook updates being handled now.", registry=REGISTRY)
READY = Gauge(
    "summit_ready",
    "1 when the process takes updates (index loaded, stores reachable, not draining).",
    registry=REGISTRY,
)
INDEX = Info("summit_index", "The index version this process answers from.", registry=REGISTRY)
INDEX_SWAPS = Counter("summit_index_swaps_total", "New index versions swapped in without a restart.", registry=REGISTRY)


def observe_reply(kind: str, reason: str | None, seconds: float) -> None:
    """Count one reply of the conversation engine."""
    REPLIES.labels(kind).inc()
    ANSWER_SECONDS.observe(seconds)
    if reason:
        REFUSALS.labels(reason).inc()
