"""Two webhook processes, shared Redis and PostgreSQL: every update answered once, whatever happens.

Each test asks from its own new chats, so earlier tests' answers never count; a test that
kills or stops a process leaves it for the next test's ``running`` fixture to restart.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.articles import LIBRARY, LIBRARY_TITLE
from fakes.bot_process import REPO
from fakes.telegram_server import ChatClient, FakeTelegram
from servers import PostgresServer, RedisServer

from .conftest import SECRET, Cluster

QUESTIONS = [
    "Where did Kim and Putin meet?",
    "What did Putin say about the sanctions on North Korea?",
    "Which factories will Kim visit?",
    "أين التقى كيم وبوتين؟",
    "How did Kim travel to Russia?",
    "ماذا قال بوتين عن العقوبات؟",
]


@pytest.fixture
def running(cluster: Cluster) -> Iterator[Cluster]:
    """The cluster with both processes up (a previous test may have killed one)."""
    cluster.ensure_running()
    yield cluster


def ask_all(fake: FakeTelegram, chats: int, per_chat: int) -> list[ChatClient]:
    """``chats`` new chats each send ``per_chat`` distinct questions, all queued at once."""
    clients = [fake.private_chat(language_code="ar" if u % 2 else "en") for u in range(chats)]
    for j in range(per_chat):
        for u, client in enumerate(clients):
            client.send(f"{QUESTIONS[(u + j) % len(QUESTIONS)]} ({u}-{j})")
    return clients


def wait_answers(cluster: Cluster, ids: set[int], each: int, timeout: float = 120) -> None:
    """Until every chat has ``each`` answers and the fake has nothing left to deliver."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = cluster.answers(ids)
        if len(counts) == len(ids) and min(counts.values()) >= each:
            break
        time.sleep(0.1)
    cluster.fake.wait_acknowledged(timeout=max(1.0, deadline - time.monotonic()))
    time.sleep(0.5)  # a duplicate would arrive now


def answered_once(cluster: Cluster, clients: list[ChatClient], each: int) -> dict[int, int]:
    ids = {c.chat_id for c in clients}
    wait_answers(cluster, ids, each)
    counts = cluster.answers(ids)
    assert len(counts) == len(ids), f"{len(ids) - len(counts)} chats got no answer"
    assert min(counts.values()) >= each, "an update was lost"
    return counts


def post_update(url: str, update: dict, secret: str = SECRET) -> int:
    """POST one update to a process as Telegram would; the HTTP status."""
    request = urllib.request.Request(
        f"{url}/telegram",
        data=json.dumps(update).encode(),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_count(cluster: Cluster, target: int, delivered: int) -> None:
    """Until ``delivered`` answers have gone out through the fake (the burst is under way)."""
    cluster.fake.wait_for(lambda: len(cluster.fake.calls_to("sendMessage")) >= target + delivered, 60, what="answers")


def test_a_burst_of_200_questions_from_100_chats_is_answered_once_each(running: Cluster) -> None:
    clients = ask_all(running.fake, 100, 2)
    counts = answered_once(running, clients, 2)
    assert sorted(set(counts.values())) == [2], "an update was answered twice"
    # Both processes answered (round-robin), none of it twice.
    assert len({d.target for d in running.fake.deliveries if d.ok}) == 2


def test_kill_9_mid_burst_loses_nothing_and_repeats_only_what_was_in_flight(running: Cluster) -> None:
    fake = running.fake
    before = len(fake.calls_to("sendMessage"))
    clients = ask_all(fake, 100, 2)
    wait_count(running, before, 40)
    killed_at = time.monotonic()
    running.servers[0].kill()  # SIGKILL: no drain, no clean-up
    counts = answered_once(running, clients, 2)
    dead = f"{running.url(0)}/telegram"
    # What the dead process had taken but not acknowledged when it died.
    in_flight = {
        d.update_id
        for d in fake.deliveries
        if d.target == dead and d.started <= killed_at and not d.ok and (d.finished or killed_at) >= killed_at
    }
    duplicates = sum(n - 2 for n in counts.values() if n > 2)
    print(f"kill -9 mid-burst: 200/200 answered, {duplicates} twice, {len(in_flight)} in flight at the kill")
    assert duplicates <= len(in_flight), (duplicates, len(in_flight))


def test_sigterm_mid_burst_finishes_what_is_in_flight_and_loses_nothing(running: Cluster) -> None:
    fake = running.fake
    before = len(fake.calls_to("sendMessage"))
    clients = ask_all(fake, 100, 2)
    wait_count(running, before, 40)
    code, seconds = running.servers[0].timed_stop(60)
    print(f"SIGTERM mid-burst: the process drained and exited {code} in {seconds:.1f} s")
    assert code == 0, running.servers[0].log()[-3000:]
    counts = answered_once(running, clients, 2)
    assert sorted(set(counts.values())) == [2], "an update was answered twice"
    assert "Traceback" not in running.servers[0].log()


def test_a_replayed_update_is_answered_once_by_either_process(running: Cluster) -> None:
    fake = running.fake
    user = fake.private_chat()
    user.send("Where did Kim and Putin meet?")
    user.next_reply(60)
    fake.wait_acknowledged(30)
    update_id = max(d.update_id for d in fake.deliveries)
    update = fake.update_json(update_id)
    before = running.answers({user.chat_id})[user.chat_id]
    # Telegram redelivers it (a lost acknowledgement) to both processes, even at the same time.
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda i=i: statuses.append(post_update(running.url(i), update))) for i in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200, 200]
    time.sleep(1.0)
    assert running.answers({user.chat_id})[user.chat_id] == before


def test_a_follow_up_answered_by_the_other_process_keeps_its_context(running: Cluster) -> None:
    fake = running.fake
    user = fake.private_chat()
    user.send("What did Putin say about the sanctions on North Korea?")
    first = user.next_reply(60)
    fake.wait_acknowledged(30)
    first_target = fake.deliveries_for(max(d.update_id for d in fake.deliveries))[-1].target
    user.send("who said that?")
    reply = user.next_reply(60)
    fake.wait_acknowledged(30)
    second_target = fake.deliveries_for(max(d.update_id for d in fake.deliveries))[-1].target
    assert first_target != second_target  # the load balancer alternated
    assert "Putin" in reply.text and "does not answer" not in reply.text
    assert first.text.split("\n")[0][:40] in reply.text or "¶9" in reply.text


def test_a_vote_pressed_on_both_processes_counts_once(running: Cluster) -> None:
    fake = running.fake
    user = fake.private_chat()
    user.send("Which factories will Kim visit?")
    answer = user.next_reply(60)
    fake.wait_acknowledged(30)
    up_before = running.sql("SELECT COUNT(*) FROM votes WHERE vote = 1")[0][0]
    # Two taps on 👍 (two callback queries): the load balancer sends one to each process.
    queries = [user.press(answer, "👍"), user.press(answer, "👍")]
    for query in queries:
        user.callback_answer(query, 30)
    fake.wait_acknowledged(30)
    targets = {fake.deliveries_for(d)[-1].target for d in {x.update_id for x in fake.deliveries[-2:]}}
    assert len(targets) == 2
    assert running.sql("SELECT COUNT(*) FROM votes WHERE vote = 1")[0][0] == up_before + 1


@pytest.mark.parametrize("store", ["redis", "postgres"])
def test_a_store_stopped_for_seconds_gives_503s_then_every_question_is_answered_once(
    running: Cluster, store: str, redis_server: RedisServer, postgres_server: PostgresServer
) -> None:
    server = redis_server if store == "redis" else postgres_server
    fake = running.fake
    first = len(fake.deliveries)
    server.stop()
    try:
        clients = ask_all(fake, 10, 2)
        fake.wait_for(lambda: any(d.status == 503 for d in fake.deliveries[first:]), 30, what="a 503")
        time.sleep(3)
        during = fake.deliveries[first:]
        # Nothing is acknowledged while a store is down: Telegram keeps every update.
        assert not any(d.ok for d in during), [(d.update_id, d.outcome, d.status) for d in during if d.ok]
    finally:
        server.start()
    counts = answered_once(running, clients, 2)
    assert sorted(set(counts.values())) == [2], "an update was answered twice"
    refused = sum(1 for d in fake.deliveries[first:] if d.status == 503)
    print(f"{store} stopped ~3 s: {refused} deliveries answered 503, then 20/20 answered once")
    for i in range(2):
        assert running.ready(i)["ready"] is True


def test_a_process_started_while_postgres_is_down_becomes_ready_when_it_is_back(
    running: Cluster, postgres_server: PostgresServer
) -> None:
    running.servers[1].stop()
    postgres_server.stop()
    later = threading.Timer(12.0, postgres_server.start)  # longer than one start attempt waits
    later.start()
    try:
        server = running.start(1)  # returns once /readyz answers 200
    finally:
        later.join()
    assert "waiting for the stores" in server.log()
    answered_once(running, ask_all(running.fake, 4, 1), 1)


def test_a_new_index_version_is_swapped_in_under_load_without_a_failed_answer(running: Cluster, tmp_path: Path) -> None:
    fake = running.fake
    old = running.ready(0)["index"]
    seeds = tmp_path / "seeds"
    shutil.copytree(REPO / "seeds", seeds)
    (seeds / "library.txt").write_text("\n\n".join(LIBRARY) + "\n", encoding="utf-8")
    (seeds / "library.meta.json").write_text(json.dumps({"title": {"en": LIBRARY_TITLE}}), encoding="utf-8")
    clients: list[ChatClient] = []
    stop = threading.Event()

    def keep_asking() -> None:
        while not stop.is_set():
            clients.extend(ask_all(fake, 2, 1))
            time.sleep(0.1)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        new = running.publish(seeds)
        assert new != old
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and {running.ready(i)["index"] for i in range(2)} != {new}:
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        stop.set()
        asker.join()
    assert {running.ready(i)["index"] for i in range(2)} == {new}
    assert running.sql("SELECT version FROM index_versions WHERE active") == [(new,)]  # the catalogue
    counts = answered_once(running, clients, 1)
    assert sorted(set(counts.values())) == [1]
    for i in range(2):
        assert "error while handling update" not in running.servers[i].log()
    user = fake.private_chat()
    user.send("How much did the repairs of the Leeds library cost?")
    assert "4.2 million" in user.next_reply(60).text


def test_webhook_info_and_metrics_say_what_happened(running: Cluster) -> None:
    answered_once(running, ask_all(running.fake, 2, 1), 1)  # one update to each process
    info = running.cli("webhook", "info", "--json")
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    assert data["url"] == f"{running.url(0)}/telegram" and data["max_connections"] == 40
    assert "message" in data["allowed_updates"] and "callback_query" in data["allowed_updates"]
    with urllib.request.urlopen(f"{running.url(1)}/metrics", timeout=5) as response:
        metrics = response.read().decode()
    assert 'summit_updates_total{outcome="answered"}' in metrics
    assert "summit_answer_seconds_bucket" in metrics and "summit_index_info{version=" in metrics
    with urllib.request.urlopen(f"{running.url(1)}/healthz", timeout=5) as response:
        assert json.loads(response.read()) == {"ok": True}


def test_the_gaps_of_every_process_are_listed_from_postgresql(running: Cluster) -> None:
    user = running.fake.private_chat()
    user.send("What did Kim Jong Un eat for breakfast in Vostochny?")  # the article does not say
    assert "does not" in user.next_reply(60).text
    listed = running.cli("gaps", "list")
    assert listed.returncode == 0, listed.stderr
    assert "breakfast" in listed.stdout


def test_the_wrong_secret_is_refused_with_403(running: Cluster) -> None:
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}}
    for secret in ("", "wrong", SECRET + "x"):
        assert post_update(running.url(0), update, secret) == 403
