"""Two webhook processes, shared Redis and PostgreSQL: every update answered once, whatever happens."""

from __future__ import annotations

import json
import time
import urllib.request

from fakes.telegram_server import FakeTelegram

from .conftest import SECRET, Cluster

QUESTIONS = [
    "Where did Kim and Putin meet?",
    "What did Putin say about the sanctions on North Korea?",
    "Which factories will Kim visit?",
    "أين التقى كيم وبوتين؟",
    "How did Kim travel to Russia?",
    "ماذا قال بوتين عن العقوبات؟",
]


def ask_all(fake: FakeTelegram, chats: int, per_chat: int) -> list:
    clients = [fake.private_chat(language_code="ar" if u % 2 else "en") for u in range(chats)]
    for j in range(per_chat):
        for u, client in enumerate(clients):
            client.send(f"{QUESTIONS[(u + j) % len(QUESTIONS)]} ({u}-{j})")
    return clients


def wait_answers(cluster: Cluster, ids: set[int], each: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = cluster.answers(ids)
        if len(counts) == len(ids) and min(counts.values()) >= each:
            break
        time.sleep(0.1)
    cluster.fake.wait_acknowledged(timeout=max(1.0, deadline - time.monotonic()))
    time.sleep(0.5)  # a duplicate would arrive now


def test_a_burst_of_200_questions_from_100_chats_is_answered_once_each(cluster: Cluster) -> None:
    clients = ask_all(cluster.fake, 100, 2)
    ids = {c.chat_id for c in clients}
    wait_answers(cluster, ids, 2)
    counts = cluster.answers(ids)
    assert sorted(set(counts.values())) == [2], counts
    # Both processes took part (round-robin), and each delivered update was answered by one.
    targets = {d.target for d in cluster.fake.deliveries if d.ok}
    assert len(targets) == 2


def test_the_wrong_secret_is_refused_with_403(cluster: Cluster) -> None:
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}}
    for secret in ("", "wrong", SECRET + "x"):
        request = urllib.request.Request(
            f"{cluster.url(0)}/telegram",
            data=json.dumps(update).encode(),
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
        )
        try:
            urllib.request.urlopen(request, timeout=5)
        except urllib.error.HTTPError as exc:
            assert exc.code == 403
        else:
            raise AssertionError("a request with a wrong secret was accepted")
