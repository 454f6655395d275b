"""The feedback store under replicas and faults: concurrent starts on a fresh SQLite file and a fresh PostgreSQL
database, an upgrade from the previous schema, damaged and locked files, identical votes at once, retention,
and the first version's feedback.json."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from assistant.feedback import FeedbackStore, StoreUnavailable
from assistant.feedback_schema import SCHEMA_VERSION, migrate

ROOT = Path(__file__).resolve().parent.parent
REPLICAS = 4

# One replica's start: wait for the go file (so all open the fresh database at the same moment), open the store,
# record an answer and vote on it; any exception exits non-zero.
_START = """
import os, sys, time
from pathlib import Path
from assistant.feedback import FeedbackStore
url, go, i = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
Path(f"{go}-ready-{i}").touch()
while not go.exists():
    time.sleep(0.002)
store = FeedbackStore(url)
store.record_answer(f"a{i}", lang="pl", reply_language="pl", abstained=False, pledge_ids=["p1"], report="r")
assert store.vote(f"a{i}", "p1", "up")["up"] >= 1
"""


def _start_together(url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _START, url, str(go), str(i)], cwd=ROOT, stderr=subprocess.PIPE, text=True
        )
        for i in range(REPLICAS)
    ]
    deadline = time.time() + 120
    while len(list(tmp_path.glob("go-ready-*"))) < REPLICAS and time.time() < deadline:
        time.sleep(0.05)  # until every interpreter has imported the store and waits at the go line
    go.touch()
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * REPLICAS, "\n".join(e[-1500:] for e in errors if e)
    store = FeedbackStore(url)
    with store.engine.connect() as conn:
        meta = conn.execute(sa.text("select key, value from kqa_meta")).all()
    assert meta == [("schema_version", str(SCHEMA_VERSION))]
    assert store.stats()["answers"] == REPLICAS and store.counts("p1") == {"up": REPLICAS, "down": 0}


def test_replicas_starting_at_once_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    _start_together(f"sqlite:///{tmp_path / 'fb.sqlite3'}", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("fb.")) == [
        "fb.sqlite3",
        "fb.sqlite3-shm",
        "fb.sqlite3-wal",
    ]  # nothing moved aside


def test_replicas_starting_at_once_on_a_fresh_postgresql_database(tmp_path: Path, postgres) -> None:
    _start_together(postgres(), tmp_path)


# The tables exactly as schema version 1 (the code before migrations) created them in SQLite, and a row of each.
V1 = """
CREATE TABLE kqa_meta ("key" VARCHAR(40) NOT NULL, value VARCHAR(200) NOT NULL, PRIMARY KEY ("key"));
CREATE TABLE kqa_answers (answer_id VARCHAR(40) NOT NULL, day VARCHAR(10) NOT NULL, lang VARCHAR(8) NOT NULL,
  reply_language VARCHAR(8) NOT NULL, abstained BOOLEAN NOT NULL, top_pledge VARCHAR(300) NOT NULL,
  pledges TEXT NOT NULL, report VARCHAR(300) NOT NULL, PRIMARY KEY (answer_id));
CREATE INDEX ix_kqa_answers_day ON kqa_answers (day);
CREATE TABLE kqa_votes (answer_id VARCHAR(40) NOT NULL, pledge_id VARCHAR(300) NOT NULL, vote VARCHAR(8) NOT NULL,
  reason VARCHAR(40), day VARCHAR(10) NOT NULL, PRIMARY KEY (answer_id, pledge_id));
CREATE TABLE kqa_questions (answer_id VARCHAR(40) NOT NULL, question TEXT NOT NULL, PRIMARY KEY (answer_id));
INSERT INTO kqa_meta VALUES ('schema_version', '1');
INSERT INTO kqa_answers VALUES ('a1', '2020-01-02', 'pl', 'pl', 0, 'p1', 'p1
p2', 'r');
INSERT INTO kqa_votes VALUES ('a1', 'p1', 'down', 'outdated', '2020-01-02');
INSERT INTO kqa_votes VALUES ('a1', 'p2', 'up', NULL, '2020-01-02');
"""


def _upgraded(store: FeedbackStore) -> None:
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("select value from kqa_meta")).scalar() == str(SCHEMA_VERSION)
    assert store.counts("p1") == {"up": 0, "down": 1} and store.counts("p2") == {"up": 1, "down": 0}
    assert store.stats(days=100_000)["feedback"] == {"p1": {"down:outdated": 1}, "p2": {"up": 1}}
    assert store.vote("a1", "p1", "up") == {"up": 1, "down": 0}  # the old answer still takes votes


def test_upgrade_from_schema_1_keeps_the_votes(tmp_path: Path) -> None:
    path = tmp_path / "fb.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(V1)
    _upgraded(FeedbackStore(f"sqlite:///{path}"))
    assert FeedbackStore(f"sqlite:///{path}").counts("p1") == {"up": 1, "down": 0}  # a second start: no-op


def test_upgrade_from_schema_1_on_postgresql(postgres) -> None:
    url = postgres()
    engine = sa.create_engine(url)
    assert migrate(engine, target=1) == 0
    with engine.begin() as conn:
        for statement in V1.split(";\n")[6:]:  # the rows
            if statement.strip():
                conn.exec_driver_sql(statement.replace(" 0, ", " false, "))
    engine.dispose()
    _upgraded(FeedbackStore(url))


@pytest.mark.parametrize("content", [b"not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 500])
def test_a_damaged_file_is_moved_aside_with_its_wal_and_shm(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "fb.sqlite3"
    path.write_bytes(content)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").write_bytes(b"committed votes, maybe " + suffix.encode())
    FeedbackStore(f"sqlite:///{path}").record_answer(
        "a1", lang="pl", reply_language="pl", abstained=False, pledge_ids=["p1"], report="r"
    )
    aside = sorted(p.name for p in tmp_path.iterdir() if ".damaged-" in p.name)
    assert len(aside) == 3 and [a.rsplit("-", 1)[-1] for a in aside[1:]] == ["shm", "wal"], aside
    assert (tmp_path / aside[0]).read_bytes() == content  # moved, never deleted or rewritten
    assert (tmp_path / aside[2]).read_bytes() == b"committed votes, maybe -wal"
    assert f"moved aside to {tmp_path / aside[0]}" in caplog.text


def test_a_locked_database_is_reported_not_moved(tmp_path: Path) -> None:
    path = tmp_path / "fb.sqlite3"
    store = FeedbackStore(f"sqlite:///{path}")
    store.record_answer("a1", lang="pl", reply_language="pl", abstained=False, pledge_ids=["p1"], report="r")
    store.engine.dispose()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")  # another process holding the write lock longer than the busy timeout
    try:
        with pytest.raises(StoreUnavailable, match="cannot be checked .*database is locked"):
            FeedbackStore(f"sqlite:///{path}?timeout=0.2")
    finally:
        holder.close()
    assert not [p for p in tmp_path.iterdir() if ".damaged-" in p.name]
    assert FeedbackStore(f"sqlite:///{path}").stats()["answers"] == 1


def test_identical_votes_at_once_leave_one_vote(tmp_path: Path) -> None:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'fb.sqlite3'}")
    store.record_answer("a1", lang="pl", reply_language="pl", abstained=False, pledge_ids=["p1"], report="r")
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(store.vote("a1", "p1", "down", "outdated"))) for _ in range(8)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == [{"up": 0, "down": 1}] * 8


def _dated(store: FeedbackStore, aid: str, day: str, **kw: object) -> None:
    store.record_answer(
        aid, lang="pl", reply_language="pl", abstained=False, pledge_ids=["p1"], report="r", question="mój mąż"
    )
    with store.engine.begin() as conn:
        conn.execute(sa.text("update kqa_answers set day = :day where answer_id = :aid"), {"day": day, "aid": aid})


def test_old_answers_without_votes_are_purged_and_still_counted(tmp_path: Path) -> None:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'fb.sqlite3'}", store_questions=True, retention_days=90)
    old = time.strftime("%Y-%m-%d", time.localtime(time.time() - 100 * 86400))
    for i in range(3):
        _dated(store, f"old{i}", old)
    _dated(store, "voted", old)
    store.vote("voted", "p1", "up")
    _dated(store, "new", time.strftime("%Y-%m-%d"))
    before = store.stats(days=365)
    assert store.purge() == 3 and store.purge() == 0
    assert store.stats(days=365) == before  # counts kept, now from the daily counts
    with store.engine.connect() as conn:
        left = conn.execute(sa.text("select answer_id from kqa_answers order by answer_id")).scalars().all()
        texts = conn.execute(sa.text("select count(*) from kqa_questions")).scalar()
    assert left == ["new", "voted"] and texts == 2  # an opted-in question goes with its answer


def test_the_first_versions_feedback_json_is_imported_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    legacy = tmp_path / "feedback.json"
    legacy.write_text(
        json.dumps(
            {
                "counts": {"p1": {"helpful": 2, "wrong_pledge": 1}, "(not in the report)": {"helpful": 1}},
                "questions": [{"question": "mój mąż"}],
            }
        )
    )
    os.utime(legacy, (time.time(), time.time()))

    def open_store() -> FeedbackStore:
        return FeedbackStore(f"sqlite:///{tmp_path / 'fb.sqlite3'}", legacy_json=legacy)

    first = open_store()
    assert first.counts("p1") == {"up": 2, "down": 1} and first.counts("-") == {"up": 1, "down": 0}
    assert first.stats()["feedback"]["p1"] == {"up": 2, "down:wrong_pledge": 1}
    assert "imported 4 votes" in caplog.text and "question texts" in caplog.text
    assert open_store().counts("p1") == {"up": 2, "down": 1} and legacy.exists()  # not twice; the file is left
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("fb."))
    assert "mąż".encode() not in raw
