"""Answers asked, votes on them and operator stats, in a database: SQLite by default, PostgreSQL when configured.

No question text is stored unless the operator opts in (``KQA_FEEDBACK_QUESTIONS=true``). What is kept per
answer is what the stats need: day, language, whether it was "not in the report", the pledges shown. A vote is
one per answer and pledge and can be changed or taken back; counts are computed from the votes, so a change of
mind is never counted twice, and sending the same vote again changes nothing.

Answers nobody voted on are purged after ``retention_days`` (their counts move to a table of daily counts, so
stats keep them); answers with votes stay, since their votes are what the stats are for.

SQLite runs in WAL mode with ``synchronous=FULL`` and a busy timeout, so several processes can share one file
and an acknowledged vote survives a crash. PostgreSQL (``KQA_DATABASE_URL=postgresql+psycopg://…``) serves
several machines. The schema is created or upgraded at start (assistant/feedback_schema.py).

    >>> store = FeedbackStore("sqlite://")
    >>> store.record_answer("a1", lang="pl", reply_language="pl", abstained=False, pledge_ids=["p1"], report="r")
    >>> store.vote("a1", "p1", "up")
    {'up': 1, 'down': 0}
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import DBAPIConnection

from assistant.answer import Answer
from assistant.feedback_schema import (
    NO_PLEDGE,
    StoreUnavailable,
    answer_counts,
    answers,
    import_legacy_json,
    meta_table,
    migrate,
    questions,
    set_aside_if_damaged,
    upsert,
    votes,
    write_transaction,
)
from settings import Settings

log = logging.getLogger("assistant.feedback")

__all__ = ["NO_PLEDGE", "FeedbackError", "FeedbackStore", "StoreUnavailable"]
VOTES = ("up", "down")
REASONS = ("wrong_pledge", "outdated", "hard_to_understand")
PURGE_EVERY_S = 3600  # a running replica purges at most this often (and at start)
START_WAIT_S = 120.0  # how long a starting replica waits for the others' start-up (migration) to finish
PURGE_BATCH = 500  # answers per purge transaction: short write locks, and under SQLite's bound-parameter limit


class FeedbackError(ValueError):
    """A vote that cannot be taken; ``unknown`` is True when it names an answer or pledge that was never shown."""

    def __init__(self, message: str, *, unknown: bool = False) -> None:
        super().__init__(message)
        self.unknown = unknown


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: object) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA busy_timeout=10000")  # first: switching to WAL waits for other starting replicas
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


def _sqlite_path(url: str) -> Path | None:
    """The SQLite file a URL names (None for other databases); a ``file:`` URI (``?uri=true``) names the path
    after ``file:``, not a folder called "file:" in the working directory."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    database = parsed.database
    if str(parsed.query.get("uri", "")).lower() == "true" and database.startswith("file:"):
        database = database[len("file:") :]
    return Path(database)


def _migrate_waiting(engine: sa.Engine, wait_s: float = START_WAIT_S) -> None:
    """``migrate``, waiting for replicas that start at the same moment: on a slow or busy disk one replica's
    start-up can hold SQLite's write lock for longer than the busy timeout, and the others must wait their turn,
    not exit (a lock held for longer than ``wait_s`` is an error, as before)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            migrate(engine)
            return
        except sa.exc.OperationalError as exc:
            if "locked" not in str(exc.orig).lower() or time.monotonic() > deadline:
                raise
            log.warning("feedback database is locked by another starting replica; waiting")
            time.sleep(0.5)


def _day(seconds_ago: float = 0) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(time.time() - seconds_ago))


class FeedbackStore:
    """Answers, votes and stats over one SQLAlchemy engine (thread- and process-safe)."""

    def __init__(
        self, url: str, store_questions: bool = False, *, retention_days: int = 90, legacy_json: Path | None = None
    ) -> None:
        self.url, self.store_questions, self.retention_days = url, store_questions, retention_days
        path = _sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            set_aside_if_damaged(path, float(str(sa.engine.make_url(url).query.get("timeout", 10))))
        self.engine = sa.create_engine(url, pool_pre_ping=path is None)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            _migrate_waiting(self.engine)
            if legacy_json is not None:
                import_legacy_json(self.engine, legacy_json)
        except sa.exc.SQLAlchemyError as exc:
            where, why = self.engine.url.render_as_string(hide_password=True), getattr(exc, "orig", None) or exc
            raise StoreUnavailable(
                f"feedback database {where} cannot be opened or migrated: {type(exc).__name__}: {why}"
            ) from exc
        self._purging = threading.Lock()
        self._next_purge = 0.0
        self.purge_if_due()

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedbackStore:
        """The store the settings name, importing the first version's ``feedback.json`` beside the SQLite file."""
        return cls(
            settings.db_url,
            settings.feedback_questions,
            retention_days=settings.retention_days,
            legacy_json=settings.feedback_db.with_name("feedback.json"),
        )

    def _write(self, work: Callable[[sa.Connection], object]) -> None:
        try:
            with write_transaction(self.engine) as conn:
                work(conn)
        except sa.exc.SQLAlchemyError as exc:
            log.error("feedback database write failed: %s", type(exc).__name__)
            raise StoreUnavailable("feedback could not be saved") from exc

    def record_answer(
        self,
        answer_id: str,
        *,
        lang: str,
        reply_language: str,
        abstained: bool,
        pledge_ids: list[str],
        report: str,
        question: str | None = None,
    ) -> None:
        """Keep what stats need about one answer (no question text unless ``store_questions``)."""

        def work(conn: sa.Connection) -> None:
            conn.execute(
                answers.insert().values(
                    answer_id=answer_id,
                    day=_day(),
                    lang=lang[:8],
                    reply_language=reply_language[:8],
                    abstained=abstained,
                    top_pledge=(pledge_ids[0] if pledge_ids and not abstained else NO_PLEDGE),
                    pledges="\n".join(pledge_ids),
                    report=report[:300],
                )
            )
            if self.store_questions and question:
                conn.execute(questions.insert().values(answer_id=answer_id, question=question))

        self._write(work)
        self.purge_if_due()

    def record(self, ans: Answer, report: str = "") -> None:
        """Record an answer as the API and the app show it (its pledges, or the suggestions of a refusal);
        a store that is down is skipped: answering matters more than counting, and ``_write`` logged why."""
        shown = [a.pledge_id for a in ans.answers] or [s.pledge_id for s in ans.suggestions]
        try:
            self.record_answer(
                ans.answer_id,
                lang=ans.language,
                reply_language=ans.reply_language,
                abstained=ans.abstained,
                pledge_ids=shown,
                report=report,
                question=ans.question,
            )
        except StoreUnavailable:
            pass

    def vote(self, answer_id: str, pledge_id: str, vote: str | None, reason: str | None = None) -> dict[str, int]:
        """Set (or with ``vote=None`` take back) the vote on one pledge of one answer; return its counts.
        The same vote sent twice, even at the same moment from two replicas, leaves one vote."""
        if vote is not None and vote not in VOTES:
            raise FeedbackError(f"vote {vote!r} is unknown; use one of {', '.join(VOTES)} or null to take it back")
        if reason is not None and (vote != "down" or reason not in REASONS):
            raise FeedbackError(f"reason {reason!r} is only for a 'down' vote and must be one of {', '.join(REASONS)}")
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(answers.c.pledges).where(answers.c.answer_id == answer_id)).first()
        if row is None:
            raise FeedbackError(f"answer {answer_id!r} is unknown; vote on an answer the assistant gave", unknown=True)
        shown = set(row.pledges.split("\n")) if row.pledges else set()
        if pledge_id != NO_PLEDGE and pledge_id not in shown:
            raise FeedbackError(
                f"pledge {pledge_id!r} was not shown in answer {answer_id!r}; "
                f"use one of {', '.join(sorted(shown)) or NO_PLEDGE}",
                unknown=True,
            )

        def work(conn: sa.Connection) -> None:
            if vote is None:
                conn.execute(votes.delete().where((votes.c.answer_id == answer_id) & (votes.c.pledge_id == pledge_id)))
                return
            upsert(
                conn,
                votes,
                {"answer_id": answer_id, "pledge_id": pledge_id, "vote": vote, "reason": reason, "day": _day()},
                ["answer_id", "pledge_id"],
                lambda new: {"vote": new.vote, "reason": new.reason, "day": new.day},
            )

        self._write(work)
        return self.counts(pledge_id)

    def counts(self, pledge_id: str) -> dict[str, int]:
        """Current up/down votes on one pledge, over all answers."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(votes.c.vote, sa.func.count()).where(votes.c.pledge_id == pledge_id).group_by(votes.c.vote)
            ).all()
        found = {v: n for v, n in rows}
        return {v: int(found.get(v, 0)) for v in VOTES}

    def purge_if_due(self) -> int:
        """``purge`` when this process has not purged for ``PURGE_EVERY_S``; one thread at a time."""
        if time.time() < self._next_purge or not self._purging.acquire(blocking=False):
            return 0
        try:
            self._next_purge = time.time() + PURGE_EVERY_S
            return self.purge()
        except StoreUnavailable:
            return 0  # logged by _write; the next one tries again
        finally:
            self._purging.release()

    def purge(self, before: str | None = None) -> int:
        """Delete answers from before ``before`` (default: ``retention_days`` ago) that have no vote, adding
        them to the daily counts in the same transaction; return how many were purged."""
        cutoff = before or _day(self.retention_days * 86400)
        voted = sa.select(votes.c.answer_id).where(votes.c.answer_id == answers.c.answer_id).exists()

        def batch(conn: sa.Connection) -> int:
            ids = (
                conn.execute(sa.select(answers.c.answer_id).where((answers.c.day < cutoff) & ~voted).limit(PURGE_BATCH))
                .scalars()
                .all()
            )
            keys = (answers.c.day, answers.c.lang, answers.c.top_pledge, answers.c.abstained)
            for day, lang, top, abstained, n in conn.execute(
                sa.select(*keys, sa.func.count()).where(answers.c.answer_id.in_(ids)).group_by(*keys)
            ).all():
                upsert(
                    conn,
                    answer_counts,
                    {"day": day, "lang": lang, "top_pledge": top, "abstained": abstained, "n": n},
                    ["day", "lang", "top_pledge", "abstained"],
                    lambda new: {"n": answer_counts.c.n + new.n},
                )
            conn.execute(questions.delete().where(questions.c.answer_id.in_(ids)))
            conn.execute(answers.delete().where(answers.c.answer_id.in_(ids)))
            return len(ids)

        total, n = 0, PURGE_BATCH
        while n == PURGE_BATCH:
            try:
                with write_transaction(self.engine, exclusive=True) as conn:
                    n = batch(conn)
            except sa.exc.SQLAlchemyError as exc:
                log.error("purging old answers failed: %s", type(exc).__name__)
                raise StoreUnavailable("old answers could not be purged") from exc
            total += n
        if total:
            log.info("purged %d answers from before %s without a vote (their counts are kept)", total, cutoff)
        return total

    def stats(self, days: int = 30) -> dict[str, Any]:
        """Counts for the operator: by day, language, pledge, "not in the report", and vote outcome (answers
        past the retention period counted from the daily counts)."""
        since = _day(days * 86400)
        with self.engine.connect() as conn:

            def grouped(name: str, where: Callable[[sa.Table], sa.ColumnElement[bool]] | None = None) -> dict[str, int]:
                out: dict[str, int] = {}
                for table, n in ((answers, sa.func.count()), (answer_counts, sa.func.sum(answer_counts.c.n))):
                    col, cond = table.c[name], table.c.day >= since
                    cond = cond & where(table) if where is not None else cond
                    for k, count in conn.execute(sa.select(col, n).where(cond).group_by(col)).all():
                        out[str(k)] = out.get(str(k), 0) + int(count or 0)
                return dict(sorted(out.items()))

            by_day = grouped("day")
            refused = grouped("day", lambda table: table.c.abstained)
            by_vote = conn.execute(
                sa.select(votes.c.pledge_id, votes.c.vote, votes.c.reason, sa.func.count())
                .where(votes.c.day >= since)
                .group_by(votes.c.pledge_id, votes.c.vote, votes.c.reason)
            ).all()
            result = {
                "since": since,
                "answers": sum(by_day.values()),
                "not_in_report": sum(refused.values()),
                "by_day": by_day,
                "by_language": grouped("lang"),
                "by_pledge": grouped("top_pledge"),
            }
        feedback: dict[str, dict[str, int]] = {}
        for pid, vote, reason, n in by_vote:
            key = vote if vote == "up" else f"down:{reason or 'unspecified'}"
            feedback.setdefault(pid, {})[key] = int(n)
        return result | {"feedback": feedback}

    def health(self) -> bool:
        """True when the database answers a query."""
        try:
            with self.engine.connect() as conn:
                return conn.execute(sa.select(sa.func.count()).select_from(meta_table)).scalar() is not None
        except sa.exc.SQLAlchemyError:
            return False
