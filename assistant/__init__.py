"""Stage 3: question → language → retrieval → extractive answer with citations, or "not in the report".

>>> from assistant import Assistant
>>> a = Assistant.load()                                     # doctest: +SKIP
>>> a.ask("is there free mammography?").answers[0].status_label   # doctest: +SKIP
'in_progress'
"""

from assistant.answer import Answer, Citation, PledgeAnswer, QuotedPassage, Suggestion
from assistant.core import Assistant, QuestionError, clean_question
from assistant.language import detect_language

__all__ = [
    "Answer",
    "Assistant",
    "Citation",
    "PledgeAnswer",
    "QuestionError",
    "QuotedPassage",
    "Suggestion",
    "clean_question",
    "detect_language",
]
