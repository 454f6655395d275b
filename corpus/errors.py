"""The error every reader of a report file raises: it names the file, the line and what was expected."""

from __future__ import annotations


class ReportFormatError(ValueError):
    """The report does not follow the expected format; the message reads ``file, line N: problem; expected …``."""

    def __init__(self, source: str, line: int | None, problem: str, expected: str) -> None:
        where = f"{source}, line {line}" if line else source
        super().__init__(f"{where}: {problem}; expected {expected}")
        self.source, self.line = source, line
