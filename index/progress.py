"""Progress of a long build step: a tqdm bar (elapsed time, ETA) on a terminal, plain step lines in CI logs.

    >>> lines = []
    >>> for _ in progress(range(4), "demo", log=lines.append, tty=False):
    ...     pass
    >>> lines[-1].startswith("demo: 4/4 steps, done in ")
    True

A carriage-return bar in a log file is one unreadable line; so without a terminal the same step is written
as lines: the first and the last step, and one at least every ``every_s`` seconds in between, each with the
elapsed time and the estimated time left. ``log=None`` shows nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Self, TypeVar

T = TypeVar("T")
Log = Callable[[str], None] | None


def stderr(message: str) -> None:
    """A ``Log`` that prints to standard error (where the bar goes too), keeping standard output for results."""
    print(message, file=sys.stderr, flush=True)


def _clock(seconds: float) -> str:
    """``75.2`` → ``'1:15'``."""
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


class Progress:
    """Counts steps of one job and shows them (see the module docstring); ``note`` adds e.g. the loss."""

    def __init__(
        self,
        total: int,
        desc: str,
        *,
        unit: str = "steps",
        log: Log = print,
        tty: bool | None = None,
        every_s: float = 10.0,
    ) -> None:
        self.total, self.desc, self.unit, self.log, self.every_s = total, desc, unit, log, every_s
        self.done, self.note = 0, ""
        self.start = self.last_line = time.monotonic()
        use_bar = log is not None and (sys.stderr.isatty() if tty is None else tty)
        self.bar = None
        if use_bar:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit=unit.rstrip("s") or "it", file=sys.stderr, dynamic_ncols=True)

    def update(self, n: int = 1, note: str = "") -> None:
        """``n`` more steps done; ``note`` is shown beside the count until the next one."""
        self.done += n
        self.note = note or self.note
        if self.bar is not None:
            self.bar.update(n)
            if note:
                self.bar.set_postfix_str(note, refresh=False)
            return
        now = time.monotonic()
        if self.log is not None and (self.done in (1, self.total) or now - self.last_line >= self.every_s):
            self.last_line = now
            self.log(self.line(now))

    def line(self, now: float | None = None) -> str:
        """The plain-text form: ``desc: 12/231 steps, 0:05 elapsed, ~1:30 left (loss 0.41)``."""
        elapsed = (time.monotonic() if now is None else now) - self.start
        note = f" ({self.note})" if self.note else ""
        if self.done >= self.total:
            return f"{self.desc}: {self.done}/{self.total} {self.unit}, done in {_clock(elapsed)}{note}"
        left = elapsed / max(self.done, 1) * (self.total - self.done)
        counted = f"{self.desc}: {self.done}/{self.total} {self.unit}"
        return f"{counted}, {_clock(elapsed)} elapsed, ~{_clock(left)} left{note}"

    def close(self) -> None:
        """End the bar (a terminal keeps its last state on screen)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(
    items: Iterable[T],
    desc: str,
    *,
    total: int | None = None,
    unit: str = "steps",
    log: Log = print,
    tty: bool | None = None,
) -> Iterator[T]:
    """``items``, counted as they are consumed (``Progress``)."""
    if total is None:
        listed = list(items)
        items, total = listed, len(listed)
    with Progress(total, desc, unit=unit, log=log, tty=tty) as bar:
        for item in items:
            yield item
            bar.update()
