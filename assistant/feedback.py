"""Answers asked, votes on them and operator stats, in a database: SQLite by default, PostgreSQL when configured.

No question text is stored unless the operator opts in (``KQA_FEEDBACK_QUESTIONS=true``). What is kept per
answer is what the stats need: day, language, whether it was "not in the report", the pledges shown. A vote is
one per answer and pledge and can be changed or taken back; counts are computed from the votes, so a change of
mind is never counted twice.

SQLite runs in WAL mode with ``synchronous=FULL`` and a busy timeout, so several processes can share one file
and an acknowledged vote survives a crash. PostgreSQL (``KQA_DATABASE_URL=postgresql+psycopg://…``) serves
several machines. The schema is created or upgraded at start (``migrate``).

    >>> store = FeedbackStore("sqlite://")
    >>> store.record_answer("a1", lang="pl", reply_language="pl", abstained=False, pledge_ids=["p1"], report="r")
    >>> store.vote("a1", "p1", "up")
    {'up': 1, 'down': 0}
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import sqlalchemy as sa

from assistant.answer import Answer

log = logging.getLogger("assistant.feedback")

SCHEMA_VERSION = 1
VOTES = ("up", "down")
REASONS = ("wrong_pledge", "outdated", "hard_to_understand")
NO_PLEDGE = "-"  # a vote on a "not in the report" answer

META = sa.MetaData()
meta_table = sa.Table("kqa_meta", META, sa.Column("key", sa.String(40), primary_key=True),
                      sa.Column("value", sa.String(200), nullable=False))
answers = sa.Table(
    "kqa_answers", META,
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
    "kqa_votes", META,
    sa.Column("answer_id", sa.String(40), primary_key=True),
    sa.Column("pledge_id", sa.String(300), primary_key=True),
    sa.Column("vote", sa.String(8), nullable=False),
    sa.Column("reason", sa.String(40)),
    sa.Column("day", sa.String(10), nullable=False),
)
questions = sa.Table(  # only written when the operator opts in
    "kqa_questions", META,
    sa.Column("answer_id", sa.String(40), primary_key=True),
    sa.Column("question", sa.Text, nullable=False),
)


class FeedbackError(ValueError):
    """A vote that cannot be taken; ``unknown`` is True when it names an answer or pledge that was never shown."""

    def __init__(self, message: str, *, unknown: bool = False) -> None:
        super().__init__(message)
        self.unknown = unknown


class StoreUnavailable(RuntimeError):
    """The database cannot be written or read; residents get a generic message, the log says why."""


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cur = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _sqlite_path(url: str) -> Path | None:
    """The SQLite file a URL names (None for other databases); a ``file:`` URI (``?uri=true``) names the path
    after ``file:``, not a folder called "file:" in the working directory."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    database = parsed.database
    if str(parsed.query.get("uri", "")).lower() == "true" and database.startswith("file:"):
        database = database[len("file:"):]
    return Path(database)


class FeedbackStore:
    """Answers, votes and stats over one SQLAlchemy engine (thread- and process-safe)."""

    def __init__(self, url: str, store_questions: bool = False) -> None:
        self.url = url
        self.store_questions = store_questions
        path = _sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(url, pool_pre_ping=path is None)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self.migrate()

    def migrate(self) -> None:
        """Create missing tables and record the schema version; a damaged SQLite file is moved aside."""
        try:
            self._migrate()
        except sa.exc.DatabaseError as exc:
            path = _sqlite_path(self.url)
            if path is None or not path.exists():
                raise StoreUnavailable(f"feedback database unavailable ({type(exc).__name__})") from exc
            aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            self.engine.dispose()
            os.replace(path, aside)
            for suffix in ("-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            log.warning("feedback database %s was damaged (%s); moved aside to %s, starting afresh",
                        path, type(exc).__name__, aside)
            self._migrate()

    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            META.create_all(conn)
            found = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")).scalar()
            if found is None:
                conn.execute(meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(found) > SCHEMA_VERSION:
                raise StoreUnavailable(f"feedback database has schema {found}, newer than this code's "
                                       f"{SCHEMA_VERSION}; upgrade the app")

    def _write(self, statements: list) -> None:
        try:
            with self.engine.begin() as conn:
                for stmt in statements:
                    conn.execute(stmt)
        except sa.exc.SQLAlchemyError as exc:
            log.error("feedback database write failed: %s", type(exc).__name__)
            raise StoreUnavailable("feedback could not be saved") from exc

    def record_answer(self, answer_id: str, *, lang: str, reply_language: str, abstained: bool,
                      pledge_ids: list[str], report: str, question: str | None = None) -> None:
        """Keep what stats need about one answer (no question text unless ``store_questions``)."""
        stmts = [answers.insert().values(
            answer_id=answer_id, day=time.strftime("%Y-%m-%d"), lang=lang[:8], reply_language=reply_language[:8],
            abstained=abstained, top_pledge=(pledge_ids[0] if pledge_ids and not abstained else NO_PLEDGE),
            pledges="\n".join(pledge_ids), report=report[:300])]
        if self.store_questions and question:
            stmts.append(questions.insert().values(answer_id=answer_id, question=question))
        self._write(stmts)

    def record(self, ans: Answer, report: str = "") -> None:
        """Record an answer as the API and the app show it (its pledges, or the suggestions of a refusal);
        a store that is down is skipped: answering matters more than counting, and ``_write`` logged why."""
        shown = [a.pledge_id for a in ans.answers] or [s.pledge_id for s in ans.suggestions]
        try:
            self.record_answer(ans.answer_id, lang=ans.language, reply_language=ans.reply_language,
                               abstained=ans.abstained, pledge_ids=shown, report=report, question=ans.question)
        except StoreUnavailable:
            pass

    def vote(self, answer_id: str, pledge_id: str, vote: str | None, reason: str | None = None) -> dict:
        """Set (or with ``vote=None`` take back) the vote on one pledge of one answer; return its counts."""
        if vote is not None and vote not in VOTES:
            raise FeedbackError(f"vote {vote!r} is unknown; use one of {', '.join(VOTES)} or null to take it back")
        if reason is not None and (vote != "down" or reason not in REASONS):
            raise FeedbackError(f"reason {reason!r} is only for a 'down' vote and must be one of {', '.join(REASONS)}")
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(answers.c.pledges, answers.c.abstained)
                               .where(answers.c.answer_id == answer_id)).first()
        if row is None:
            raise FeedbackError(f"answer {answer_id!r} is unknown; vote on an answer the assistant gave",
                                unknown=True)
        shown = set(row.pledges.split("\n")) if row.pledges else set()
        if pledge_id != NO_PLEDGE and pledge_id not in shown:
            raise FeedbackError(f"pledge {pledge_id!r} was not shown in answer {answer_id!r}; "
                                f"use one of {', '.join(sorted(shown)) or NO_PLEDGE}", unknown=True)
        key = (votes.c.answer_id == answer_id) & (votes.c.pledge_id == pledge_id)
        stmts: list = [votes.delete().where(key)]
        if vote is not None:
            stmts.append(votes.insert().values(answer_id=answer_id, pledge_id=pledge_id, vote=vote, reason=reason,
                                               day=time.strftime("%Y-%m-%d")))
        self._write(stmts)
        return self.counts(pledge_id)

    def counts(self, pledge_id: str) -> dict:
        """Current up/down votes on one pledge, over all answers."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(votes.c.vote, sa.func.count()).where(votes.c.pledge_id == pledge_id)
                                .group_by(votes.c.vote)).all()
        found = {v: n for v, n in rows}
        return {v: int(found.get(v, 0)) for v in VOTES}

    def stats(self, days: int = 30) -> dict:
        """Counts for the operator: by day, language, pledge, "not in the report", and vote outcome."""
        since = time.strftime("%Y-%m-%d", time.localtime(time.time() - days * 86400))
        recent = answers.c.day >= since
        with self.engine.connect() as conn:
            def grouped(col: sa.Column) -> dict:
                rows = conn.execute(sa.select(col, sa.func.count()).where(recent).group_by(col).order_by(col)).all()
                return {str(k): int(n) for k, n in rows}

            total = conn.execute(sa.select(sa.func.count()).select_from(answers).where(recent)).scalar() or 0
            refused = conn.execute(sa.select(sa.func.count()).select_from(answers)
                                   .where(recent & answers.c.abstained)).scalar() or 0
            by_vote = conn.execute(sa.select(votes.c.pledge_id, votes.c.vote, votes.c.reason, sa.func.count())
                                   .where(votes.c.day >= since)
                                   .group_by(votes.c.pledge_id, votes.c.vote, votes.c.reason)).all()
            result = {"since": since, "answers": int(total), "not_in_report": int(refused),
                      "by_day": grouped(answers.c.day), "by_language": grouped(answers.c.lang),
                      "by_pledge": grouped(answers.c.top_pledge)}
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
