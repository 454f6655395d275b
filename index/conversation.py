"""The text a later turn of a conversation is embedded in: the earlier questions in front of it.

One definition for serving (``assistant.conversation``) and fine-tuning (``index.finetune``, which trains on
that same form), as ``index.romanized`` is for questions typed in Latin letters.

    >>> expand(["Czy jest darmowa mammografia?", "a od jakiego wieku?"], "is it free?", 1)
    'a od jakiego wieku? is it free?'
"""

from __future__ import annotations


def expand(earlier: list[str], question: str, k: int) -> str:
    """``question`` with the last ``k`` earlier questions in front of it (history expansion, TREC CAsT)."""
    return " ".join([*(earlier[-k:] if k > 0 else []), question])
