"""The one catalogue of the assistant's own words (answer labels, notices, interface, errors) in Polish, English
and Ukrainian; quotes stay in Polish. Keys starting ``ui_`` are the app's labels, ``err_`` its error messages."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "page": "p.", "changed": "status changed since {since}: {before} → {after}", "rule": "label by rule: {rule}",
        "ui_chat": "Ask", "ui_browse": "Browse pledges", "ui_placeholder": "Ask about a pledge, e.g. free mammography",
        "ui_send": "Ask", "ui_language": "Language", "ui_status_filter": "Status", "ui_text_filter": "Search text",
        "ui_all": "all", "ui_open": "Open pledge", "ui_examples": "Examples",
        "ui_intro": "Answers quote Kraków's report *Kraków — miasto równych szans* with line citations.",
        "ui_col_title": "Pledge", "ui_col_status": "Status",
        "err_empty": "The question is empty. Type a question, e.g. “is there free mammography?”",
        "err_no_words": "The question has no words. Type a question in words, e.g. “is there free mammography?”",
        "err_store": "Sorry, your vote could not be saved right now.",
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
        "page": "s.", "changed": "status zmienił się od wydania {since}: {before} → {after}", "rule": "etykieta według reguły: {rule}",
        "ui_chat": "Zapytaj", "ui_browse": "Przeglądaj zobowiązania",
        "ui_placeholder": "Zapytaj o zobowiązanie, np. bezpłatna mammografia", "ui_send": "Zapytaj",
        "ui_language": "Język", "ui_status_filter": "Status", "ui_text_filter": "Szukaj w tekście", "ui_all": "wszystkie",
        "ui_open": "Otwórz zobowiązanie", "ui_examples": "Przykłady",
        "ui_intro": "Odpowiedzi cytują raport *Kraków — miasto równych szans* z numerami wierszy.",
        "ui_col_title": "Zobowiązanie", "ui_col_status": "Status",
        "err_empty": "Pytanie jest puste. Wpisz pytanie, np. „czy jest bezpłatna mammografia?”",
        "err_no_words": "Pytanie nie zawiera słów. Wpisz pytanie słowami, np. „czy jest bezpłatna mammografia?”",
        "err_store": "Przepraszamy, nie udało się teraz zapisać oceny.",
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
        "page": "с.", "changed": "статус змінився від видання {since}: {before} → {after}", "rule": "мітка за правилом: {rule}",
        "ui_chat": "Запитати", "ui_browse": "Перегляд зобов'язань",
        "ui_placeholder": "Запитайте про зобов'язання, напр. безкоштовна мамографія", "ui_send": "Запитати",
        "ui_language": "Мова", "ui_status_filter": "Статус", "ui_text_filter": "Пошук у тексті", "ui_all": "усі",
        "ui_open": "Відкрити зобов'язання", "ui_examples": "Приклади",
        "ui_intro": "Відповіді цитують звіт *Kraków — miasto równych szans* із номерами рядків.",
        "ui_col_title": "Зобов'язання", "ui_col_status": "Статус",
        "err_empty": "Запитання порожнє. Введіть запитання, напр. «чи є безкоштовна мамографія?»",
        "err_no_words": "У запитанні немає слів. Напишіть запитання словами, напр. «чи є безкоштовна мамографія?»",
        "err_store": "На жаль, зараз не вдалося зберегти оцінку.",
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


def t(lang: str, key: str, **kwargs: object) -> str:
    """Message ``key`` in ``lang`` (or English), formatted with ``kwargs``."""
    return MESSAGES[reply_language(lang)][key].format(**kwargs)
