"""The feedback database's tables and how a database gets to them: versioned, idempotent migrations, each run in
one transaction under a lock, and what is done with a SQLite file SQLite itself calls damaged.

Several replicas may start at once on one fresh database. The migration therefore takes the database's lock
before it reads the schema version: ``BEGIN IMMEDIATE`` on SQLite (the write lock, waited for up to the busy
timeout), a transaction-scoped advisory lock on PostgreSQL (whose DDL is transactional). The first replica
creates the schema, the others then find it current and do nothing; none of them sees a half-made schema.

A SQLite file is moved aside only when SQLite says it is not a database or it fails ``PRAGMA integrity_check``;
a locked database, a missing table or a clash is an error to report, never a reason to move data. The file's
``-wal`` and ``-shm`` go with it (the WAL holds committed votes not yet copied into the file), and the log says
where.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

log = logging.getLogger("assistant.feedback")

SCHEMA_VERSION = 2
NO_PLEDGE = "-"  # a vote on, or the top pledge of, a "not in the report" answer

# The tables as the latest version has them. A later version that changes one of them adds a step with the
# ALTER, and gives the earlier step a frozen copy of the table as that step created it.
META = sa.MetaData()
meta_table = sa.Table(
    "kqa_meta",
    META,
    sa.Column("key", sa.String(40), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)
answers = sa.Table(
    "kqa_answers",
    META,
    sa.Column("answer_id", sa.String(40), primary_key=True),
    sa.Column("day", sa.String(10), nullable=False, index=True),
    sa.Column("lang", sa.String(8), nullable=False),
    sa.Column("reply_language", sa.String(8), nullable=False),
    sa.Column("abstained", sa.Boolean, nullable=False),
    sa.Column("top_pledge", sa.String(300), nullable=False),
    sa.Column("pledges", sa.Text, nullable=False),  # pledge ids shown, "\n"-joined
    sa.Column("report", sa.String(300), nullable=False),
)
votes = sa.Table(
    "kqa_votes",
    META,
    sa.Column("answer_id", sa.String(40), primary_key=True),
    sa.Column("pledge_id", sa.String(300), primary_key=True),
    sa.Column("vote", sa.String(8), nullable=False),
    sa.Column("reason", sa.String(40)),
    sa.Column("day", sa.String(10), nullable=False),
)
questions = sa.Table(  # only written when the operator opts in
    "kqa_questions",
    META,
    sa.Column("answer_id", sa.String(40), primary_key=True),
    sa.Column("question", sa.Text, nullable=False),
)
# Version 2: what the stats count of answers purged after the retention period (no text, no answer ids).
answer_counts = sa.Table(
    "kqa_answer_counts",
    META,
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("lang", sa.String(8), primary_key=True),
    sa.Column("top_pledge", sa.String(300), primary_key=True),
    sa.Column("abstained", sa.Boolean, primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
)

MIGRATIONS: dict[int, Callable[[sa.Connection], None]] = {
    1: lambda conn: META.create_all(conn, tables=[meta_table, answers, votes, questions]),
    2: lambda conn: META.create_all(conn, tables=[answer_counts]),
}
# PostgreSQL advisory lock key for migrations and purges (any fixed 64-bit number, the same in every replica)
LOCK_KEY = zlib.crc32(b"kqa-feedback-schema")
DAMAGED = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB: SQLite's own word that the file is not a sound database


class StoreUnavailable(RuntimeError):
    """The database cannot be written or read; residents get a generic message, the log says why."""


@contextmanager
def write_transaction(engine: sa.Engine, exclusive: bool = False) -> Iterator[sa.Connection]:
    """A transaction that holds the write lock from its first statement, committed at the end.

    SQLite: ``BEGIN IMMEDIATE`` (a deferred transaction that reads first and then writes fails at once with
    SQLITE_BUSY when another process wrote in between; an immediate one waits its turn). PostgreSQL: row locks
    as usual, and with ``exclusive`` a transaction-scoped advisory lock that one replica holds at a time."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif exclusive and conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def upsert(
    conn: sa.Connection,
    table: sa.Table,
    values: dict[str, Any],
    keys: list[str],
    update: Callable[[Any], dict[str, Any]],
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET update(excluded): one atomic statement, so two identical writes
    at the same moment give one row, never a unique-key error."""
    insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    stmt = insert(table).values(**values)
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=update(stmt.excluded)))


def schema_version(conn: sa.Connection) -> int:
    """The version recorded in the database; 0 for a database without the meta table."""
    if not sa.inspect(conn).has_table(meta_table.name):
        return 0
    found = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")).scalar()
    return int(found) if found is not None else 0


def migrate(engine: sa.Engine, target: int = SCHEMA_VERSION) -> int:
    """Bring the schema to ``target`` in one locked transaction (idempotent); return the version found."""
    with write_transaction(engine, exclusive=True) as conn:
        found = schema_version(conn)
        if found > SCHEMA_VERSION:
            raise StoreUnavailable(
                f"feedback database has schema {found}, newer than this code's {SCHEMA_VERSION}; upgrade the app"
            )
        for version in range(found + 1, target + 1):
            MIGRATIONS[version](conn)
        if target > found:
            upsert(
                conn,
                meta_table,
                {"key": "schema_version", "value": str(target)},
                ["key"],
                lambda new: {"value": new.value},
            )
            if found:  # an upgrade changes the operator's file: say so (a new database says nothing)
                log.warning("feedback database upgraded from schema %d to %d", found, target)
    return found


# --- a damaged SQLite file ------------------------------------------------------------------------------------


def sqlite_damage(path: Path, timeout: float = 10) -> str | None:
    """What SQLite says is wrong with the file at ``path``; None when it is sound, empty or missing.
    Other errors (locked, unreadable) are raised: they are no reason to move the file.

    The check's connection is read-only: SQLite deletes a file's ``-wal`` when its last read-write connection
    closes, and for a file it cannot read that throws the WAL away unread."""
    if not path.exists():
        return None
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", timeout=timeout, uri=True)) as db:
            rows = db.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF in DAMAGED:
            return str(exc)
        raise
    return None if rows == [("ok",)] else "integrity_check: " + "; ".join(str(r[0]) for r in rows[:3])


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive flock on the database's folder: replicas checking one file take turns, so the second finds
    the fresh file the first made, never moves that one too. (Not on the database file: closing another
    descriptor of it would drop the POSIX locks SQLite holds on it in this process.)"""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def set_aside_if_damaged(path: Path, timeout: float = 10) -> Path | None:
    """Move a damaged SQLite file, with its ``-wal`` and ``-shm``, to ``<name>.damaged-<time>``; return where.
    ``timeout``: seconds to wait for another process's lock (the busy timeout)."""
    with _folder_lock(path.parent):
        try:
            problem = sqlite_damage(path, timeout)
        except sqlite3.Error as exc:
            raise StoreUnavailable(
                f"feedback database {path} cannot be checked ({exc}); fix its permissions "
                "or stop the process that holds it locked"
            ) from exc
        if problem is None:
            return None
        aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{path}{suffix}").exists():
                os.replace(f"{path}{suffix}", f"{aside}{suffix}")
    log.warning(
        "feedback database %s is damaged (%s); moved aside to %s (with its -wal/-shm, if any) and "
        "started a fresh one; nothing was deleted",
        path,
        problem,
        aside,
    )
    return aside


# --- the feedback file of the first version ---------------------------------------------------------------

LEGACY_VOTES = {"helpful": ("up", None), "wrong_pledge": ("down", "wrong_pledge")}


def import_legacy_json(engine: sa.Engine, path: Path) -> int:
    """Import the counts of the first version's ``feedback.json`` (``{"counts": {pledge: {outcome: n}}}``) as
    votes, once (its SHA-256 is recorded), dated by the file's time; return how many votes were added.

    Each count becomes that many votes on the pledge under ids ``json-<hash>-<i>`` (the file never had answer
    ids), so stats and ``counts`` include them. Its question texts (kept only when the operator had opted in)
    are not copied: they were tied to no answer, and the file stays where it is for the operator to keep or
    delete."""
    if not path.is_file():
        return 0
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    try:
        counts = json.loads(raw).get("counts", {})
        rows = [
            (pid, *LEGACY_VOTES[outcome])
            for pid, by in counts.items()
            for outcome, n in by.items()
            for _ in range(int(n))
        ]
    except (ValueError, AttributeError, KeyError, TypeError) as exc:
        log.warning(
            "%s is not the first version's feedback file (%s: %s); left as it is, not imported",
            path,
            type(exc).__name__,
            exc,
        )
        return 0
    day = time.strftime("%Y-%m-%d", time.localtime(path.stat().st_mtime))
    with write_transaction(engine, exclusive=True) as conn:
        key = f"json:{digest[:32]}"
        if conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == key)).scalar() is not None:
            return 0
        for i, (pid, vote, reason) in enumerate(rows):
            conn.execute(
                votes.insert().values(
                    answer_id=f"json-{digest[:8]}-{i}",
                    day=day,
                    vote=vote,
                    reason=reason,
                    pledge_id=NO_PLEDGE if pid == "(not in the report)" else pid,
                )
            )
        conn.execute(meta_table.insert().values(key=key, value=f"{len(rows)} votes from {path.name}"[:200]))
    log.warning(
        "imported %d votes from the first version's %s into the feedback database; its question texts "
        "(if any) were not copied: delete the file when you no longer need it",
        len(rows),
        path,
    )
    return len(rows)
