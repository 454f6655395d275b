"""A fault test: 1,000 votes through two replicas sharing one SQLite file, one replica killed with SIGKILL in the
middle. Every vote that was answered 200 is in the database afterwards, with the value sent."""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import replica_server
from conftest import FAKE_REPLICA_ENV, free_port

from assistant.feedback import FeedbackStore
from assistant.feedback_schema import answers
from eval.load_client import Client

VOTES, KILL_AFTER, THREADS = 1000, 300, 8


def test_every_acknowledged_vote_survives_a_killed_replica(tmp_path: Path) -> None:
    db = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(f"sqlite:///{db}")
    with store.engine.begin() as conn:  # 1,000 answers to vote on, in one transaction
        conn.execute(
            answers.insert(),
            [
                {
                    "answer_id": f"a{i}",
                    "day": time.strftime("%Y-%m-%d"),
                    "lang": "pl",
                    "reply_language": "pl",
                    "abstained": False,
                    "top_pledge": "p1",
                    "pledges": "p1",
                    "report": "r",
                }
                for i in range(VOTES)
            ],
        )
    store.engine.dispose()
    ports = [free_port(), free_port()]
    env = {**os.environ, **FAKE_REPLICA_ENV, "KQA_FEEDBACK_DB": str(db)}
    replicas = replica_server.start_all(ports, env, tmp_path, "--no-engine")
    acknowledged: dict[str, str] = {}
    done = threading.Semaphore(0)

    def voter(k: int) -> None:
        clients = [Client(f"http://127.0.0.1:{port}/", timeout=30) for port in ports]
        for i in range(k, VOTES, THREADS):
            vote = ("up", "down")[i % 2]
            body = json.dumps({"answer_id": f"a{i}", "pledge_id": "p1", "vote": vote}).encode()
            try:
                with clients[i % 2].open("POST", "/api/feedback", body) as resp:
                    resp.read()
                    if resp.status == 200:
                        acknowledged[f"a{i}"] = vote
            except (OSError, http.client.HTTPException):  # the killed replica: no answer, so no promise
                clients[i % 2] = Client(f"http://127.0.0.1:{ports[i % 2]}/", timeout=30)
            done.release()

    threads = [threading.Thread(target=voter, args=(k,)) for k in range(THREADS)]
    try:
        for th in threads:
            th.start()
        for _ in range(KILL_AFTER):
            done.acquire()
        os.kill(replicas[0].pid, signal.SIGKILL)  # mid-run, with requests in flight
        for th in threads:
            th.join(timeout=120)
    finally:
        for proc in replicas:
            replica_server.stop(proc)
    assert replicas[0].returncode == -signal.SIGKILL
    with sqlite3.connect(db) as conn:
        stored = dict(conn.execute("select answer_id, vote from kqa_votes").fetchall())
    lost = {aid: v for aid, v in acknowledged.items() if stored.get(aid) != v}
    assert not lost, f"{len(lost)} acknowledged votes missing or changed, e.g. {list(lost.items())[:5]}"
    assert VOTES / 2 < len(acknowledged) < VOTES  # both replicas took votes; the killed one took fewer
    # the store opens the file the killed replica left, and counts what is there
    assert FeedbackStore(f"sqlite:///{db}").counts("p1")["up"] == sum(v == "up" for v in stored.values())
