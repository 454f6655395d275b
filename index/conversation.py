"""The text a later turn of a conversation is embedded in: the earlier questions in front of it.

One definition for serving (``assistant.conversation``) and fine-tuning (``index.finetune``, which trains on
that same form), as ``index.romanized`` is for questions typed in Latin letters.

    >>> expand(["Czy jest darmowa mammografia?", "a od jakiego wieku?"], "is it free?", 1)
    'a od jakiego wieku? is it free?'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any


def expand(earlier: list[str], question: str, k: int) -> str:
    """``question`` with the last ``k`` earlier questions in front of it (history expansion, TREC CAsT)."""
    return " ".join([*(earlier[-k:] if k > 0 else []), question])


def in_context(turns: Iterable[Mapping[str, Any]], k: int) -> Iterator[tuple[int, Mapping[str, Any], str]]:
    """Each turn of a conversation file's ``turns`` (``{"q": …, "kind": …}``) with its index and the text it is
    embedded in as a later turn: the last ``k`` earlier questions in front of it, skipping requests for another
    language (kind "language"), which add nothing (as served: ``assistant.conversation.context_text``).

    >>> turns = [{"q": "mammografia?", "kind": "first"}, {"q": "po polsku", "kind": "language"},
    ...          {"q": "is it free?", "kind": "detail"}]
    >>> [text for _, _, text in in_context(turns, 1)]
    ['mammografia?', 'mammografia? po polsku', 'mammografia? is it free?']
    """
    earlier: list[str] = []
    for i, turn in enumerate(turns):
        yield i, turn, expand(earlier, turn["q"], k)
        if turn["kind"] != "language":
            earlier.append(turn["q"])
