"""Query files: JSONL, one ``{"id", "query", "lang", "expected": [pledge titles]}`` per line; ``[]`` = not covered.

Optional fields: ``kind`` (one of ``KINDS``; absent → ``"unknown"``) and ``split`` (``"tune"`` or ``"test"``).
A file either gives every line a split or none: a file without splits is one set (``Query.split`` is None)
and can only be evaluated whole (``--split all``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# The first dev set's kinds: oos_near/oos_far are the off-topic questions, two_pledges those with two answers.
BASE_KINDS = ("named", "keyword", "situation", "short", "typo", "two_pledges", "oos_near", "oos_far")
# Shapes of real people's questions (issue 29), in scope or not: a long forum/helpline post (a story and its
# question(s)), a general question whose asker does not name the group a pledge serves, a FAQ or article heading.
# Unlike the kinds above, these say nothing about scope: about a third of each are off-topic near misses.
SHAPE_KINDS = ("long_post", "general", "faq_heading")
KINDS = BASE_KINDS + SHAPE_KINDS
UNKNOWN_KIND = "unknown"  # lines without a kind field (other query files)
SPLITS = ("tune", "test")


class QueryFileError(ValueError):
    """A query file is broken; the message names the file, the line and the fix."""


@dataclass(frozen=True)
class Query:
    """One evaluation question; ``expected`` holds pledge ids (mapped from titles)."""

    id: str
    query: str
    lang: str
    expected: tuple[str, ...]
    line: int
    kind: str = UNKNOWN_KIND
    split: str | None = None  # None: the file has no splits

    @property
    def in_scope(self) -> bool:
        """True when the report answers it."""
        return bool(self.expected)


def load_queries(path: Path | str, title_to_id: dict[str, str]) -> list[Query]:
    """Read and check a query file; titles are matched with whitespace collapsed."""
    path = Path(path)
    raw_lines = _read_lines(path)
    titles = {" ".join(t.split()): pid for t, pid in title_to_id.items()}
    queries: list[Query] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(raw_lines, start=1):
        if not line.strip():
            continue
        where = f"{path}, line {n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QueryFileError(f"{where}: bad JSON ({exc.msg} at column {exc.colno}); fix the line") from None
        if not isinstance(row, dict):
            raise QueryFileError(f"{where}: expected a JSON object with id, query, lang, expected")
        missing = [k for k in ("id", "query", "lang", "expected") if k not in row]
        if missing:
            raise QueryFileError(f"{where}: missing {', '.join(missing)}; every line needs id, query, lang, expected")
        qid, text, lang, expected = row["id"], row["query"], row["lang"], row["expected"]
        if not isinstance(qid, str) or not qid:
            raise QueryFileError(f"{where}: id {qid!r} must be a non-empty string")
        if qid in seen:
            raise QueryFileError(f"{where}: id {qid!r} already used on line {seen[qid]}; give each question its own id")
        if not isinstance(text, str) or not text.strip():
            raise QueryFileError(f"{where}: query {text!r} must be a non-empty string")
        if not isinstance(lang, str) or not lang:
            raise QueryFileError(f'{where}: lang {lang!r} must be a language code such as "pl"')
        if not isinstance(expected, list) or not all(isinstance(t, str) for t in expected):
            raise QueryFileError(f"{where}: expected must be a list of pledge titles ([] if not covered)")
        ids = _pledge_ids(where, expected, titles)
        kind = row.get("kind", UNKNOWN_KIND)
        if kind not in KINDS and not (kind == UNKNOWN_KIND and "kind" not in row):
            raise QueryFileError(
                f"{where}: kind {kind!r} is unknown; use one of {', '.join(KINDS)} (or leave the field out)"
            )
        split = row.get("split")
        if "split" in row and split not in SPLITS:
            raise QueryFileError(f"{where}: split {split!r} is unknown; use one of {', '.join(SPLITS)}")
        if queries and (split is None) != (queries[0].split is None):
            raise QueryFileError(
                f"{where}: {'no' if split is None else 'a'} split field, but line "
                f"{queries[0].line} {'has one' if split is None else 'has none'}; "
                "give every line a split (tune or test) or none"
            )
        seen[qid] = n
        queries.append(Query(qid, text, lang, ids, n, kind, split))
    if not queries:
        raise QueryFileError(f"{path}: no questions found; add one JSON object per line")
    return queries


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise QueryFileError(f"{path}: file not found; pass --queries with a JSONL file") from None
    except UnicodeDecodeError as exc:
        raise QueryFileError(f"{path}: not UTF-8 ({exc.reason}); save the file as UTF-8") from None


def _pledge_ids(where: str, expected: list[str], titles: dict[str, str]) -> tuple[str, ...]:
    """The pledge ids of the expected titles (whitespace collapsed); an unknown title names the known ones."""
    ids = []
    for title in expected:
        key = " ".join(title.split())
        if key not in titles:
            raise QueryFileError(
                f"{where}: unknown pledge title {title!r}; use a report heading exactly "
                f"(known: {'; '.join(sorted(titles))})"
            )
        ids.append(titles[key])
    return tuple(ids)


def select_split(queries: list[Query], split: str) -> list[Query]:
    """The questions of ``split`` (``tune``, ``test`` or ``all``); a file without splits only has ``all``."""
    if split == "all":
        return list(queries)
    if split not in SPLITS:
        raise QueryFileError(f"split {split!r} is unknown; pass one of {', '.join(SPLITS)} or all")
    if queries and queries[0].split is None:
        raise QueryFileError(
            f"line {queries[0].line}: this query file has no split field, so it is one set; pass --split all"
        )
    chosen = [q for q in queries if q.split == split]
    if not chosen:
        raise QueryFileError(f"no questions in split {split!r}; pass --split all or another split")
    return chosen
