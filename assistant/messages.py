"""The one catalogue of the assistant's own words (answer labels, notices, interface, errors) in Polish, English
and Ukrainian; quotes stay in Polish. Keys starting ``ui_`` are the app's labels, ``err_`` its error messages."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "page": "p.", "changed": "status changed since {since}: {before} → {after}", "rule": "label by rule: {rule}",
        "ui_chat": "Questions", "ui_browse": "Browse",
        "ui_placeholder": "Ask about a pledge, e.g. free mammography",
        "ui_send": "Ask", "ui_language": "Language", "ui_status_filter": "Status", "ui_text_filter": "Search text",
        "ui_all": "all", "ui_open": "Open pledge", "ui_examples": "Examples",
        "ui_intro": "Answers quote Kraków's report *Kraków — miasto równych szans* with line citations.",
        "ui_col_title": "Pledge", "ui_col_status": "Status",
        "err_empty": "The question is empty. Type a question, e.g. “is there free mammography?”",
        "err_no_words": "The question has no words. Type a question in words, e.g. “is there free mammography?”",
        "err_store": "Sorry, your vote could not be saved right now.",
        "status": "Status", "source": "Source", "pledge": "Pledge", "pledge_text": "pledge",
        "progress": "Progress (Stopień realizacji zadania)",
        "score": "score", "lines": "lines", "report": "Report",
        "not_in_report": "This is not in the report. The report covers these pledges; the closest are:",
        "truncated": "Your question was long; only its first {n} characters were used.",
        "done": "done", "in_progress": "in progress", "planned": "planned", "unclear": "unclear",
        "partly_done": "partly done", "not_done": "not done",
        "empty": "Please type a question.", "title": "title", "status_text": "status",
        "more": "Other matching pledges",
        "no_more": "This is everything the report says about this pledge; the sentences closest to your question "
                   "are marked.",
        "continuing": "Continuing about:",
    },
    "pl": {
        "page": "s.", "changed": "status zmienił się od wydania {since}: {before} → {after}",
        "rule": "etykieta według reguły: {rule}",
        "ui_chat": "Pytania", "ui_browse": "Przeglądaj",
        "ui_placeholder": "Zapytaj o zobowiązanie, np. bezpłatna mammografia", "ui_send": "Zapytaj",
        "ui_language": "Język", "ui_status_filter": "Status", "ui_text_filter": "Szukaj w tekście",
        "ui_all": "wszystkie",
        "ui_open": "Otwórz zobowiązanie", "ui_examples": "Przykłady",
        "ui_intro": "Odpowiedzi cytują raport *Kraków — miasto równych szans* z numerami wierszy.",
        "ui_col_title": "Zobowiązanie", "ui_col_status": "Status",
        "err_empty": "Pytanie jest puste. Wpisz pytanie, np. „czy jest bezpłatna mammografia?”",
        "err_no_words": "Pytanie nie zawiera słów. Wpisz pytanie słowami, np. „czy jest bezpłatna mammografia?”",
        "err_store": "Przepraszamy, nie udało się teraz zapisać oceny.",
        "status": "Status", "source": "Źródło", "pledge": "Zobowiązanie", "pledge_text": "zobowiązanie",
        "progress": "Stopień realizacji zadania",
        "score": "trafność", "lines": "wiersze", "report": "Raport",
        "not_in_report": "Tego nie ma w raporcie. Najbliższe tematycznie zobowiązania to:",
        "truncated": "Pytanie było długie; użyto tylko pierwszych {n} znaków.",
        "done": "zrealizowane", "in_progress": "w trakcie realizacji", "planned": "zaplanowane",
        "partly_done": "zrealizowane częściowo", "not_done": "niezrealizowane",
        "unclear": "niejasny", "empty": "Proszę wpisać pytanie.", "title": "tytuł", "status_text": "stan realizacji",
        "more": "Inne pasujące zobowiązania",
        "no_more": "To wszystko, co raport mówi o tym zobowiązaniu; zaznaczono zdania najbliższe Twojemu pytaniu.",
        "continuing": "Kontynuacja tematu:",
    },
    "uk": {
        "page": "с.", "changed": "статус змінився від видання {since}: {before} → {after}",
        "rule": "мітка за правилом: {rule}",
        "ui_chat": "Запитання", "ui_browse": "Перегляд",
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
        "no_more": "Це все, що звіт каже про це зобов'язання; позначено речення, найближчі до вашого запитання.",
        "continuing": "Продовження теми:",
    },
}
# The app's own words (labels, buttons, notes); merged into MESSAGES so that there is one catalogue.
_UI: dict[str, dict[str, str]] = {
    "en": {
        "ui_st_since": "since {since}", "ui_st_day": "by day", "ui_st_lang": "by language",
        "ui_st_pledge": "by pledge (top answer)", "ui_st_feedback": "feedback", "ui_st_answers": "answers",
        "ui_h1": "{section}: what did the city promise, and how far has it got?",
        "ui_lead": "Ask about a pledge in any language. Answers quote the city's report word for word, with the "
                   "source.",
        "ui_asked": "You asked", "ui_as_of": "as of {edition}", "ui_earlier": "Earlier answers",
        "ui_editions": "Earlier editions of this pledge",
        "ui_unofficial": "Unofficial translation — the Polish quote below is the evidence",
        "ui_source_lines": "Show the quoted lines", "ui_vote_q": "Was this helpful?",
        "ui_up": "Helpful", "ui_down": "Not helpful", "ui_thanks": "Thank you — your vote is saved.",
        "ui_unvoted": "Vote removed.", "ui_what_wrong": "What was wrong? (optional)",
        "wrong_pledge": "wrong pledge", "outdated": "outdated", "hard_to_understand": "hard to understand",
        "ui_copy": "Copy", "ui_copy_link": "Copy link", "ui_copied": "Copied",
        "ui_contacts": "Need help now?", "ui_busy": "Still answering your previous question — your text is kept.",
        "ui_changed": "Changed since last edition", "ui_none": "No pledge matches. Try other words.",
        "ui_count": "{n} of {total} pledges", "ui_by_meaning": "similar meaning", "ui_literal": "contains the words",
        "ui_stats": "Stats", "ui_token": "Admin token", "ui_show_stats": "Show stats",
        "ui_stats_closed": "Stats are closed: no admin token is configured on this server.",
        "ui_stats_bad": "Wrong token.", "ui_long_q": "long question, {n} characters",
        "ui_answering": "Answering…", "ui_answers_region": "Answers",
        "err_top_k": "Please choose how many pledges to show.", "err_lang": "This language is not available.",
        "err_report": "This report is not available.",
        "err_history": "The conversation could not be continued; please start a new conversation.",
        "ui_new_conversation": "New conversation", "ui_forget": "Ask about something else",
    },
    "pl": {
        "ui_st_since": "od {since}", "ui_st_day": "według dnia", "ui_st_lang": "według języka",
        "ui_st_pledge": "według zobowiązania (pierwsza odpowiedź)", "ui_st_feedback": "oceny",
        "ui_st_answers": "odpowiedzi",
        "ui_h1": "{section}: co miasto obiecało i jak idzie realizacja?",
        "ui_lead": "Zapytaj o zobowiązanie w dowolnym języku. Odpowiedzi cytują raport miasta dosłownie, ze źródłem.",
        "ui_asked": "Pytanie", "ui_as_of": "stan na {edition}", "ui_earlier": "Wcześniejsze odpowiedzi",
        "ui_editions": "Wcześniejsze wydania tego zobowiązania",
        "ui_unofficial": "Tłumaczenie nieoficjalne — dowodem jest polski cytat poniżej",
        "ui_source_lines": "Pokaż cytowane wiersze", "ui_vote_q": "Czy to pomogło?",
        "ui_up": "Pomocne", "ui_down": "Niepomocne", "ui_thanks": "Dziękujemy — ocena zapisana.",
        "ui_unvoted": "Ocena usunięta.", "ui_what_wrong": "Co było nie tak? (opcjonalnie)",
        "wrong_pledge": "nie to zobowiązanie", "outdated": "nieaktualne", "hard_to_understand": "trudne do zrozumienia",
        "ui_copy": "Kopiuj", "ui_copy_link": "Kopiuj link", "ui_copied": "Skopiowano",
        "ui_contacts": "Potrzebujesz pomocy teraz?",
        "ui_busy": "Trwa odpowiadanie na poprzednie pytanie — Twój tekst zostaje.",
        "ui_changed": "Zmienione od poprzedniego wydania",
        "ui_none": "Brak pasujących zobowiązań. Spróbuj innych słów.",
        "ui_count": "{n} z {total} zobowiązań", "ui_by_meaning": "podobne znaczenie", "ui_literal": "zawiera słowa",
        "ui_stats": "Statystyki", "ui_token": "Token administratora", "ui_show_stats": "Pokaż statystyki",
        "ui_stats_closed": "Statystyki są zamknięte: na tym serwerze nie ustawiono tokenu administratora.",
        "ui_stats_bad": "Nieprawidłowy token.", "ui_long_q": "długie pytanie, {n} znaków",
        "ui_answering": "Odpowiadam…", "ui_answers_region": "Odpowiedzi",
        "err_top_k": "Wybierz, ile zobowiązań pokazać.", "err_lang": "Ten język jest niedostępny.",
        "err_report": "Ten raport jest niedostępny.",
        "err_history": "Nie udało się kontynuować rozmowy; zacznij nową rozmowę.",
        "ui_new_conversation": "Nowa rozmowa", "ui_forget": "Zapytaj o coś innego",
    },
    "uk": {
        "ui_st_since": "від {since}", "ui_st_day": "за днями", "ui_st_lang": "за мовою",
        "ui_st_pledge": "за зобов'язанням (перша відповідь)", "ui_st_feedback": "оцінки", "ui_st_answers": "відповіді",
        "ui_h1": "{section}: що обіцяло місто і як іде виконання?",
        "ui_lead": "Запитайте про зобов'язання будь-якою мовою. Відповіді дослівно цитують звіт міста, з джерелом.",
        "ui_asked": "Ваше запитання", "ui_as_of": "станом на {edition}", "ui_earlier": "Попередні відповіді",
        "ui_editions": "Попередні видання цього зобов'язання",
        "ui_unofficial": "Неофіційний переклад — доказом є польська цитата нижче",
        "ui_source_lines": "Показати цитовані рядки", "ui_vote_q": "Чи це допомогло?",
        "ui_up": "Корисно", "ui_down": "Некорисно", "ui_thanks": "Дякуємо — оцінку збережено.",
        "ui_unvoted": "Оцінку скасовано.", "ui_what_wrong": "Що було не так? (необов'язково)",
        "wrong_pledge": "не те зобов'язання", "outdated": "застаріло", "hard_to_understand": "важко зрозуміти",
        "ui_copy": "Копіювати", "ui_copy_link": "Копіювати посилання", "ui_copied": "Скопійовано",
        "ui_contacts": "Потрібна допомога зараз?",
        "ui_busy": "Ще відповідаю на попереднє запитання — ваш текст збережено.",
        "ui_changed": "Змінені від попереднього видання",
        "ui_none": "Немає відповідних зобов'язань. Спробуйте інші слова.",
        "ui_count": "{n} з {total} зобов'язань", "ui_by_meaning": "схоже за змістом", "ui_literal": "містить слова",
        "ui_stats": "Статистика", "ui_token": "Токен адміністратора", "ui_show_stats": "Показати статистику",
        "ui_stats_closed": "Статистика закрита: на цьому сервері не налаштовано токен адміністратора.",
        "ui_stats_bad": "Неправильний токен.", "ui_long_q": "довге запитання, {n} символів",
        "ui_answering": "Відповідаю…", "ui_answers_region": "Відповіді",
        "err_top_k": "Виберіть, скільки зобов'язань показати.", "err_lang": "Ця мова недоступна.",
        "err_report": "Цей звіт недоступний.",
        "err_history": "Не вдалося продовжити розмову; почніть нову розмову.",
        "ui_new_conversation": "Нова розмова", "ui_forget": "Запитати про інше",
    },
}
# What changed in a pledge since the edition before (corpus.diff.KINDS), as Browse and its cards note it.
_CHANGES: dict[str, dict[str, str]] = {
    "en": {"changed_kinds": "changed since {since}: {kinds}", "kind_label": "status", "kind_status_text": "status text",
           "kind_pledge_text": "pledge text", "kind_title": "title", "line": "line", "pages": "pp."},
    "pl": {"changed_kinds": "zmiany od wydania {since}: {kinds}", "kind_label": "status",
           "kind_status_text": "opis stanu realizacji", "kind_pledge_text": "treść zobowiązania", "kind_title": "tytuł",
           "line": "wiersz", "pages": "s."},
    "uk": {"changed_kinds": "зміни від видання {since}: {kinds}", "kind_label": "статус",
           "kind_status_text": "опис стану виконання", "kind_pledge_text": "текст зобов'язання", "kind_title": "назва",
           "line": "рядок", "pages": "с."},
}
# Safety and screen readers (quick exit, announcements, each control naming its pledge) and plain words.
_A11Y: dict[str, dict[str, str]] = {
    "en": {"ui_question": "Your question", "ui_exit": "Quick exit", "ui_exit_name": "Quick exit: leave this page now",
           "ui_contacts_general": "Other matters for the city", "ui_not_in_report": "Not in the report",
           "ui_announce": "{title}. Status: {status}.", "ui_original": "Original (Polish), the evidence:",
           "doubtful": "The report's wording is not clear-cut — read the quote.", "ui_named": "{action} — {title}"},
    "pl": {"ui_question": "Twoje pytanie", "ui_exit": "Szybkie wyjście",
           "ui_exit_name": "Szybkie wyjście: natychmiast opuść tę stronę",
           "ui_contacts_general": "Inne sprawy w mieście", "ui_not_in_report": "Tego nie ma w raporcie",
           "ui_announce": "{title}. Status: {status}.", "ui_original": "Oryginał:",
           "doubtful": "Sformułowanie raportu nie jest jednoznaczne — przeczytaj cytat.",
           "ui_named": "{action} — {title}"},
    "uk": {"ui_question": "Ваше запитання", "ui_exit": "Швидкий вихід",
           "ui_exit_name": "Швидкий вихід: негайно залишити цю сторінку",
           "ui_contacts_general": "Інші питання до міста", "ui_not_in_report": "Цього немає у звіті",
           "ui_announce": "{title}. Статус: {status}.", "ui_original": "Оригінал польською — це доказ:",
           "doubtful": "Формулювання звіту не однозначне — прочитайте цитату.", "ui_named": "{action} — {title}"},
}
for _lang, _extra in _UI.items():
    MESSAGES[_lang].update(_extra)
for _lang, _extra in _CHANGES.items():
    MESSAGES[_lang].update(_extra)
for _lang, _extra in _A11Y.items():
    MESSAGES[_lang].update(_extra)
DEFAULT_REPLY_LANGUAGE = "en"

# The status rules' names (corpus.status.RULES, English there) as the note under a doubtful label shows them.
RULE_NAMES: dict[str, dict[str, str]] = {
    "pl": {
        "not fully completed": "nie w pełni zrealizowane", "partial completion": "realizacja częściowa",
        "negated status": "zaprzeczony stan realizacji",
        "suspended, stopped or abandoned": "zawieszone, wstrzymane lub zaniechane",
        "postponed": "przesunięte na później",
        "past programme only": "tylko program z przeszłości", "completed": "zrealizowane",
        "set up and working": "powołane lub uruchomione i działa",
        "ongoing or continued work": "prace trwające lub kontynuowane", "amounts done so far": "dotychczasowe wyniki",
        "a step completed (weak cue)": "wykonany jeden krok (słaba wskazówka)",
        "future or scheduled work": "prace przyszłe lub zaplanowane",
        "future tense (weak cue)": "czas przyszły (słaba wskazówka)",
        "part of the total (weak cue)": "część całości (słaba wskazówka)",
        "done in part, not done in part": "zrealizowane w części, w części nie",
        "no rule matched": "żadna reguła nie pasuje", "similar labelled passages": "podobne opisane fragmenty",
    },
    "uk": {
        "not fully completed": "виконано не повністю", "partial completion": "часткове виконання",
        "negated status": "заперечений стан виконання",
        "suspended, stopped or abandoned": "призупинено, зупинено або скасовано", "postponed": "перенесено на пізніше",
        "past programme only": "лише програма в минулому", "completed": "виконано",
        "set up and working": "створено або запущено, працює",
        "ongoing or continued work": "триває або продовжується", "amounts done so far": "досягнуті дотепер результати",
        "a step completed (weak cue)": "виконано один крок (слабка ознака)",
        "future or scheduled work": "майбутні або заплановані роботи",
        "future tense (weak cue)": "майбутній час (слабка ознака)",
        "part of the total (weak cue)": "частина від загального (слабка ознака)",
        "done in part, not done in part": "частково виконано, частково ні",
        "no rule matched": "жодне правило не підійшло", "similar labelled passages": "подібні розмічені фрагменти",
    },
}
# Why a label is doubtful (corpus.status.DOUBTS), shown after the rule's name.
DOUBT_NOTES: dict[str, dict[str, str]] = {
    "en": {"contested": "the text also says things that point to another status",
           "weak": "only an indirect cue decided it", "disagree": "a second check read the text differently",
           "done_withheld": "the text may say it is done, but not clearly enough to show it as done",
           "model_only": "no rule matched; the label comes from similar passages only"},
    "pl": {"contested": "tekst zawiera też sformułowania wskazujące na inny stan",
           "weak": "zadecydowała tylko pośrednia wskazówka", "disagree": "druga metoda odczytała tekst inaczej",
           "done_withheld": "tekst może mówić o realizacji, ale nie dość jasno, by pokazać „zrealizowane”",
           "model_only": "żadna reguła nie pasuje; etykieta pochodzi tylko z podobnych fragmentów"},
    "uk": {"contested": "у тексті є й формулювання, що вказують на інший стан",
           "weak": "вирішила лише непряма ознака", "disagree": "друга перевірка прочитала текст інакше",
           "done_withheld": "текст може говорити про виконання, але недостатньо чітко, щоб показати «виконано»",
           "model_only": "жодне правило не підійшло; мітка лише за подібними фрагментами"},
}


def reply_language(lang: str) -> str:
    """The language the assistant answers in: the question's when supported, else English."""
    return lang if lang in MESSAGES else DEFAULT_REPLY_LANGUAGE


def t(lang: str, key: str, **kwargs: object) -> str:
    """Message ``key`` in ``lang`` (or English), formatted with ``kwargs``."""
    return MESSAGES[reply_language(lang)][key].format(**kwargs)


def rule_name(lang: str, rule: str) -> str:
    """A status rule's name in ``lang`` (English, as the rules name themselves, when there is none)."""
    return RULE_NAMES.get(reply_language(lang), {}).get(rule, rule)


def doubt_note(lang: str, doubt: str) -> str:
    """Why a status label is doubtful, in ``lang`` ('' for no reason given)."""
    return DOUBT_NOTES[reply_language(lang)].get(doubt, "") if doubt else ""
