"""The assistant's own words (labels, notices) in Polish, English and Ukrainian; quotes stay in Polish."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "status": "Status", "source": "Source", "pledge": "Pledge", "pledge_text": "pledge", "progress": "Progress (Stopień realizacji zadania)",
        "score": "score", "lines": "lines", "report": "Report",
        "not_in_report": "This is not in the report. The report covers these pledges; the closest are:",
        "truncated": "Your question was long; only its first {n} characters were used.",
        "done": "done", "in_progress": "in progress", "planned": "planned", "unclear": "unclear",
        "partly_done": "partly done", "not_done": "not done",
        "empty": "Please type a question.", "title": "title", "status_text": "status",
        "more": "Other matching pledges",
    },
    "pl": {
        "status": "Status", "source": "Źródło", "pledge": "Zobowiązanie", "pledge_text": "zobowiązanie", "progress": "Stopień realizacji zadania",
        "score": "trafność", "lines": "wiersze", "report": "Raport",
        "not_in_report": "Tego nie ma w raporcie. Najbliższe tematycznie zobowiązania to:",
        "truncated": "Pytanie było długie; użyto tylko pierwszych {n} znaków.",
        "done": "zrealizowane", "in_progress": "w trakcie realizacji", "planned": "zaplanowane",
        "partly_done": "zrealizowane częściowo", "not_done": "niezrealizowane",
        "unclear": "niejasny", "empty": "Proszę wpisać pytanie.", "title": "tytuł", "status_text": "stan realizacji",
        "more": "Inne pasujące zobowiązania",
    },
    "uk": {
        "status": "Статус", "source": "Джерело", "pledge": "Зобов'язання", "pledge_text": "зобов'язання",
        "progress": "Стан виконання (Stopień realizacji zadania)", "score": "релевантність", "lines": "рядки",
        "report": "Звіт",
        "not_in_report": "Цього немає у звіті. Найближчі за темою зобов'язання:",
        "truncated": "Запитання було задовгим; використано лише перші {n} символів.",
        "done": "виконано", "in_progress": "виконується", "planned": "заплановано", "unclear": "незрозуміло",
        "partly_done": "виконано частково", "not_done": "не виконано",
        "empty": "Будь ласка, введіть запитання.", "title": "назва", "status_text": "стан виконання",
        "more": "Інші відповідні зобов'язання",
    },
}
DEFAULT_REPLY_LANGUAGE = "en"


def reply_language(lang: str) -> str:
    """The language the assistant answers in: the question's when supported, else English."""
    return lang if lang in MESSAGES else DEFAULT_REPLY_LANGUAGE


def cite_line(lang: str, source: str, spans: list[tuple[str, int, int]]) -> str:
    """'corpus/x.txt, lines 7 (title), 9–14 (pledge)' in the reply language."""
    kinds = {"title": "title", "pledge": "pledge_text", "status": "status_text"}
    parts = [f"{a}{'' if a == b else f'–{b}'} ({t(lang, kinds.get(kind, kind))})" for kind, a, b in spans]
    return f"{source}, {t(lang, 'lines')} " + ", ".join(parts)


def t(lang: str, key: str, **kwargs: object) -> str:
    """Message ``key`` in ``lang`` (or English), formatted with ``kwargs``."""
    return MESSAGES[reply_language(lang)][key].format(**kwargs)
