"""Feedback on answers, kept locally as counts per pledge and outcome; question text only if the operator opts in.

    >>> store = FeedbackStore(Path("data/feedback.json"))            # doctest: +SKIP
    >>> store.record("wesprzemy-mniejszosci-narodowe", "helpful")    # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path

OUTCOMES = ("helpful", "wrong_pledge")
NO_PLEDGE = "(not in the report)"


class FeedbackError(ValueError):
    """Feedback with an unknown outcome; the message lists the known ones."""


class FeedbackStore:
    """A JSON file of ``{"counts": {pledge_id: {outcome: n}}, "questions": [...]}`` written atomically."""

    def __init__(self, path: Path, store_questions: bool = False) -> None:
        self.path = Path(path)
        self.store_questions = store_questions
        self._lock = threading.Lock()

    def load(self) -> dict:
        """The stored feedback (empty when the file does not exist yet)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"counts": {}, "questions": []}
        except ValueError as exc:
            raise FeedbackError(f"{self.path} is not valid JSON ({exc}); move it aside to start afresh") from None
        data.setdefault("counts", {})
        data.setdefault("questions", [])
        return data

    def record(self, pledge_id: str | None, outcome: str, question: str | None = None) -> dict:
        """Add one piece of feedback; the question is kept only when ``store_questions`` is on."""
        if outcome not in OUTCOMES:
            raise FeedbackError(f"outcome {outcome!r} is unknown; use one of {', '.join(OUTCOMES)}")
        key = pledge_id or NO_PLEDGE
        with self._lock:
            data = self.load()
            counts = data["counts"].setdefault(key, {})
            counts[outcome] = counts.get(outcome, 0) + 1
            if self.store_questions and question:
                data["questions"].append({"pledge_id": key, "outcome": outcome, "question": question,
                                          "at": time.strftime("%Y-%m-%dT%H:%M:%S")})
            self._write(data)
        return data

    def _write(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".feedback-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False, indent=1)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
