"""Status cues: how far a task has got, read clause by clause from general Polish phrasings of municipal reports.

A sentence is cut into clauses at , ; : ( ) and dashes (not a range like 2019–2023), then at the conjunctions a,
ale, lecz, jednak, natomiast, zaś, i, oraz, ani. A clause is *negated* when "nie" (not "nie tylko") stands at most
four words before a status verb of that clause (realising, completing, setting up, starting, continuing, running,
funding, planning, being available or working, in any form: "nie powołano", "nie będzie kontynuowany", "nie
przyjmuje dzieci"), before a perfective auxiliary ("nie zostało zlecone") or before "jeszcze" ("nie jest jeszcze
dostępna"). So in "Gabinet został otwarty. Nie jest wymagane skierowanie." nothing is negated, and a "nie" never
reaches past a comma or "ale". A clause whose part between punctuation starts with "który"/"co" is *relative*: it
describes something just named ("Zespół, który prowadzi konsultacje").

Each clause gives at most one cue (``clause_cue``), the first of these that matches; a percentage of realisation
is read per sentence (100 % → task_done, less → partial):

  kind        label        rule name                          e.g.
  not_fully   partly_done  "not fully completed"              "nie w pełni", "nie został w całości zrealizowany"
  negated     not_done     "negated status"                   "nie został zrealizowany", "nie powołano"
  partial     partly_done  "partial completion"               "częściowo", "w części", "w 60%", "w ograniczonym
                                                              zakresie", "I etap zrealizowano"
  stopped     not_done     "suspended, stopped or abandoned"  "zawieszona", "wstrzymano", "odstąpiono od",
                                                              "zrezygnowano z", "niezrealizowane", "brak realizacji"
  postponed   planned      "postponed"                        "przesunięta na 2026 r.", "odłożono do czasu"
  past        unclear      "past programme only"              "był realizowany w latach 2019–2023"
  scheduled   planned      "future or scheduled work"         "zostanie zrealizowane w 2026 r.", "będzie realizowane"
  task_done   done         "completed"                        "Postulat został zrealizowany", "Postulat zrealizowano",
                                                              "Zrealizowano w całości", "Stopień realizacji: 100%"
  done        done         "completed"                        "budowa została zakończona", "zakończono budowę"
  set_up      done         "set up and working"               "powołany został Zespół", "uruchomiono", "działa od"
  ongoing     in_progress  "ongoing or continued work"        "trwają", "w trakcie", "realizowane na bieżąco",
                                                              "kontynuacja", "rozpoczęto", "odbywa się", "wspiera"
  plan        planned      "future or scheduled work"         "planowane jest", "przewidziano", "ma zostać", "nastąpi"
  so_far      in_progress  "amounts done so far"              "zrealizowano 30 525 godzin", "przeszkolono 320",
                                                              "pozyskano środki", "objęto wsparciem 18 rodzin"
  step_done   in_progress  "a step completed (weak cue)"      "dokumentacja została opracowana", "została wyremontowana"
                                                              (counts only beside something not done)
  future      planned      "future tense (weak cue)"          "zostanie podpisana", "będzie prowadzona"
  of_total    partly_done  "part of the total (weak cue)"     "3 z 5 zaplanowanych"

How the cues of a passage give one label is ``corpus.status.combine``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from corpus.sentences import split_sentences

_AUX = r"(?:został|została|zostało|zostały|zostali)"
_COMPLETE = r"(?:zrealizowan|wykonan|zakończon|ukończon|spełnion|osiągnięt|sfinalizowan|zamknięt)(?:y|a|e|i|ych)\b"
_SET_UP = (
    r"(?:powołan|utworzon|uruchomion|otwart|wdrożon|wprowadzon|przyjęt|udostępnion|zatrudnion|zmienion|"
    r"wybudowan|zapewnion|zainstalowan|zamontowan)"
    r"(?:y|a|e|i|ych)\b|zatrudnieni\b|oddan\w* do użytku|przekazan\w* do użytk\w*"
)
_SET_UP_IMPERSONAL = (
    r"(?:powołano|utworzono|uruchomiono|otwarto|wdrożono|wprowadzono|przyjęto|udostępniono|"
    r"zatrudniono|wybudowano|zapewniono|zainstalowano|zamontowano)"
)
_YEARS = r"(?:w \d{4}\s*r(?:oku|\.)?)"
_THE_TASK = r"(?:zadani\w*|postulat\w*|zobowiązani\w*|cel zadania|całość zadania|realizacj\w* zadania)"
_TASK = (
    r"(?:zadani\w*|postulat\w*|zobowiązani\w*|cel(?: zadania)?|całość zadania|przedsięwzięci\w*|inwestycj\w*|"
    r"realizacj\w*|program\w*|projekt\w*|budow\w*)"
)
# What may follow "Zrealizowano"/"Wykonano" in a clause that reports the task done, not an amount of work.
_HOW = (
    rf"(?:{_TASK}|w całości|w pełni|w pełnym zakresie|w terminie|{_YEARS}|z sukcesem|zgodnie z \S+|prawidłowo|"
    r"terminowo|planowo)"
)
# "do końca 2025 r." is a deadline, not "fully": only a bare "do końca" means "to the end".
_FULLY = (
    r"(?:w pełni|w całości|całkowicie|w pełnym zakresie|do końca(?!\s+(?:\d|r\.|roku|miesiąca|kwartału|"
    r"stycznia|lutego|marca|kwietnia|maja|czerwca|lipca|sierpnia|września|października|listopada|grudnia)))"
)
# Verbs (and participles) whose negation negates the status; auxiliaries count only before one of them.
_STATUS_VERB = (
    r"(?:\w*realiz\w*|wykon\w*|zakończ\w*|ukończ\w*|rozpocz\w*|podj\w*|uruchom\w*|powoła\w*|powołan\w*|"
    r"utworz\w*|otw\w*|wdroż\w*|wprowadz\w*|przyjęt\w*|kontynu\w*|prowadz\w*|prowadzi\w*|finansuj\w*|"
    r"finansowan\w*|wspiera\w*|wspier\w*|planuj\w*|planowan\w*|przewid\w*|osiągnię\w*|spełni\w*|"
    r"nastąpi\w*|odby\w*|podpisa\w*|zatrudni\w*|udostępni\w*|przystąpi\w*|przeprowadz\w*|zorganizow\w*|"
    r"ogłosz\w*|ogłoszono|przygotow\w*|udał\w*|powsta\w*|rusz\w*|doszł\w*|dosz\w*|zlec\w*|wydatkow\w*)"
)
_NEGATION = re.compile(
    rf"\bnie\s+(?!tylko\b)(?:\S+\s+){{0,3}}?(?:{_STATUS_VERB}|dostępn\w*|czynn\w*|działa\w*|"
    r"funkcjonuj\w*|przyjmuj\w*|obowiązuj\w*)\b|\bnie\s+(?!tylko\b)(?:\S+\s+){0,2}?jeszcze\b|"
    rf"\bjeszcze nie\b|\bnie\s+(?!tylko\b)(?:\S+\s+)?(?:{_AUX}|zostanie|zostaną)\b"
)
# A dash between digits ("2019–2023") is a range, not a clause break.
_PUNCT_BREAK = re.compile(r"[,;:()]|\s[-–—]\s|(?<!\d)[–—](?!\d)")
_CONJ_BREAK = re.compile(r"\s(?:a|ale|lecz|jednak|natomiast|zaś|i|oraz|ani)\s")
_NUMBER_SOON = r"(?:\s+\S+){0,2}?\s+(?:ok\.\s+|około\s+|ponad\s+)?\d"
_PERCENT = re.compile(r"(\d{1,3}(?:[.,]\d+)?)\s*(?:%|proc\b|proc\.|procent\w*)")
_RELATIVE = re.compile(r"(?:któr\w+|co)\b", re.I)
_OF_TOTAL = re.compile(r"\b(\d+)\s+z\s+(\d+)\b")

_PATTERNS: dict[str, re.Pattern[str]] = {
    k: re.compile(v)
    for k, v in {
        "not_fully": rf"\bnie\s+(?:\S+\s+){{0,3}}?{_FULLY}|\bniepełn(?!osprawn)\w*|\bniezrealizowan\w* {_FULLY}",
        "partial": (
            r"\bczęściow\w*|\bw części\b(?!\s+(?:[ivx]+\b|\d|sprawozdani|raport|dokument|opisow|pierwsz|drugi))|"
            r"\bpołowiczn\w*|\bw (?:ograniczonym|niepełnym) zakresie|"
            r"\bw znacznej części|\b(?:większość|część|części) zadania|\btylko w zakresie|\bjedynie\b|"
            r"\b(?:i|pierwszy|1\.)\s+etap\w*\b.*\b(?:zrealizowan|wykonan|zakończon|zrealizowano|wykonano|zakończono)"
            r"|\b(?:zrealizowano|wykonano|zakończono)\s+(?:i|pierwszy)\s+etap"
        ),
        "stopped": (
            r"\bzawiesz\w*|\bzawieszon\w*|\bwstrzyma\w*|\bodstąpi\w*|\bzrezygnowan\w*|\brezygnacj\w*|"
            r"\bzaniecha\w*|\banulowan\w*|\bunieważni\w*|\bwycofan\w*|\bwycofano\b|\bwykreśl\w*|\bskreśl\w*|"
            r"\bwypowiedzian\w* umow|\bwypowiedziano umow|\busunięt\w*|\busunięto\b|\bbrak postęp\w*|"
            r"\bumow\w* [^,;]*rozwiązan\w*|\bniecelow\w*|"
            r"\bbez osiągnięcia celu|\bprzedwcześnie\b|\bnie(?:zrealizowan|wykonan|rozpoczęt|uruchomion|wdrożon|"
            r"podjęt)\w*|\bbrak realizacji\b|\bnie przewiduje się\b"
        ),
        "postponed": (
            r"\b(?:przesunięt|przesunięto|przeniesion|przeniesiono|odłożon|odłożono|przełożon|przełożono)\w*\s+"
            r"(?:\S+\s+){0,3}?(?:na|do)\s+(?:\d{4}|rok|przyszł|kolejn|następn|wiosn|jesie|lato|zim|realizacji w|"
            r"czasu)"
        ),
        "past": (
            r"\b(?:był|była|było|były)\s+(?:\S+\s+)?(?:realizowan|prowadzon)\w*|\brealizowano w latach|"
            r"\bfunkcjonował\w*\s+do\b|\bdo \d{4}\s*r\w*\.?\s+(?:\S+\s+){0,3}?(?:realizował|prowadził)\w*|"
            r"\bw latach \d{4}\s*[–-]\s*\d{4}\s+(?:\S+\s+){0,2}?(?:prowadził\w*|przeprowadzono|realizował\w*)|"
            r"\bw poprzedniej kadencji\b|\bw przeszłości\b|\b(?:był|była|było)\s+prowadzon\w*\s+w\s+\d{4}"
        ),
        "scheduled": (
            r"\b(?:zostanie|zostaną|będzie|będą|ma(?:ją)? zostać)\s+(?:\S+\s+){0,2}?"
            rf"(?:{_COMPLETE}|{_SET_UP}|realizowan\w*|prowadzon\w*|wprowadzon\w*|uruchomion\w*|otwart\w*|"
            r"podpisan\w*|ogłoszon\w*|zlecon\w*|organizowan\w*|oferowan\w*|dostępn\w*)"
        ),
        # The task itself reported complete: later sentences about its activities do not contest it.
        "task_done": (
            rf"\b{_THE_TASK}\s+(?:\S+\s+){{0,3}}?{_COMPLETE}|^{_COMPLETE}|\buznano za zrealizowan\w*|"
            rf"^(?:{_TASK}\s+)?(?:zrealizowano|wykonano|zakończono)(?:\s+{_HOW})*\s*[.!]?$|"
            rf"\b(?:zrealizowano|wykonano)\s+{_THE_TASK}|\b(?:zrealizowan|wykonan)\w* {_FULLY}|"
            r"\b(?:zamyka|kończy|wyczerpuje)\s+(?:\S+\s+)?(?:zadanie|zakres zadania)|"
            r"\bwszystkie (?:zaplanowane )?działania zostały wykonane"
        ),
        "done": (
            rf"\b{_AUX}\s+(?:\S+\s+){{0,2}}?{_COMPLETE}|\b{_COMPLETE}\s+{_AUX}\b|"
            rf"\b{_TASK}\s+(?:\S+\s+){{0,3}}?{_COMPLETE}|\bsfinalizowano\b|"
            r"\bzakończono\s+(?:budowę|realizację|prace|remont)"
        ),
        "set_up": (
            rf"\b{_AUX}\s+(?:\S+\s+){{0,2}}?(?:{_SET_UP})|\b(?:{_SET_UP})\s+{_AUX}\b|"
            rf"\b{_SET_UP_IMPERSONAL}\b(?!{_NUMBER_SOON})|\brozpoczęł\w* działalność|\brozpoczął działalność|"
            r"\b(?:działa|funkcjonuje|czynn\w*|przyjmuje \w+|obowiązuje)\s+od\b|\bpełni\s+(?:swoją |swoja )?funkcj|"
            r"\bpowstał[aoy]?\b|\bruszył[aoy]?\b|\boddano do użytku|\bprzekazano do użytk\w*|\bzaczął działać|"
            r"\bzaczęł\w* działać|\bdziała\b|"
            r"\bw(?:eszł\w*|szedł) w życie"
        ),
        "ongoing": (
            r"\btrwa(?:ją)?\b|\bw trakcie\b|\bw toku\b|\bw realizacji\b|\bw fazie realizacji|"
            r"\brealizowan[eyaio]\b|\brealizuje\b|\brealizuje się|\bprowadzon\w*|\bprowadzi\b|\bprowadzą\b|"
            r"\bkontynu\w*|\bna bieżąco|\bciągł\w*|\bcharakter stały|\bodbywa(?:ją)? się|\bjest przedmiotem|"
            r"\bprzygotowywan\w*|\bw przygotowaniu|\brozpoczęt\w*|\brozpoczęto\b|\brozpoczęł\w* się|"
            r"\bprzystąpiono\b|\bpodjęto działania|\bsukcesywnie|\betapami\b|\bzaawansowan\w*|\bprzebiega\b|"
            r"\bcorocznie\b|\bco roku\b|\bkażdego roku\b|\bfunkcjonuje\b|\bwspiera(?:ją)?\b|\brozwijan[yaeio]\b|"
            r"\bwdrażan[yaeio]\b|\bdo wyczerpania|\bwykonywan\w*|\bpodejmowan\w*|\bsystematyczn\w*|"
            r"\bw miarę potrzeb|\bw fazie\b|\b(?:przygotowuje|opracowuje|realizuje|wdraża|analizuje|"
            r"pracuje nad|pracują nad)\b"
        ),
        "plan": (
            r"\bplanowan\w*|\bzaplanowan\w*|\bzaplanowano\b|\bplanuje\b|\bplanuje się|\bprzewidzian\w*|"
            r"\bprzewidziano\b|\bprzewiduje się|\bprzewidywan\w*|\bzamierza\w*|\bzapowiedzia\w*|\bma(?:ją)? zostać|"
            r"\bnastąpi\b|\brozpocznie się|\bruszy\b|\bdo realizacji w\b|\btermin realizacji\b|"
            r"\buwzględnion\w* (?:do realizacji|w budżecie|w planie)|\bwpisan\w* do|\bujęt\w* w|\bujęto w|"
            r"\bzarezerwowano\b|\bprzeznaczon\w* na \d{4}|\boczekuj\w* na\b|\bruszą\b|\brozpoczną się|"
            r"\bw (?:przyszłym|kolejnym|następnym) roku\b"
        ),
        "so_far": (
            r"\b(?:zrealizowano|wykonano|przeprowadzono|zorganizowano|udzielono|wydano|wypłacono|przeszkolono|"
            r"objęto|pozyskano|pozyskał\w*|zakupiono|dofinansowano|zawarto|wybrano|opracowano|przygotowano|"
            r"ogłoszono|podpisano|wyremontowano|zmodernizowano|dostosowano|utworzono|zatrudniono|wyłoniono|"
            r"przekazano|zrealizował\w*|odbył\w*|wzięło udział|udział wzięło|skorzystał\w*|dotychczas|"
            r"wydatkowano|przeznaczono|poniesiono|wykorzystano|łącznie|"
            r"do tej pory|od początku)\b"
        ),
        "step_done": rf"\b{_AUX}\s+(?:\S+\s+){{0,2}}?\w+(?:an|on|ęt|t)(?:y|a|e|o|i)\b",
        "future": (r"\b(?:zostanie|zostaną|będzie|będą)\b"),
    }.items()
}
KIND_LABELS = {
    "not_fully": "partly_done",
    "negated": "not_done",
    "partial": "partly_done",
    "stopped": "not_done",
    "postponed": "planned",
    "past": "unclear",
    "scheduled": "planned",
    "task_done": "done",
    "done": "done",
    "set_up": "done",
    "ongoing": "in_progress",
    "plan": "planned",
    "so_far": "in_progress",
    "step_done": "in_progress",
    "future": "planned",
    "of_total": "partly_done",
}
KIND_RULES = {
    "not_fully": "not fully completed",
    "negated": "negated status",
    "partial": "partial completion",
    "stopped": "suspended, stopped or abandoned",
    "postponed": "postponed",
    "past": "past programme only",
    "scheduled": "future or scheduled work",
    "task_done": "completed",
    "done": "completed",
    "set_up": "set up and working",
    "ongoing": "ongoing or continued work",
    "plan": "future or scheduled work",
    "so_far": "amounts done so far",
    "step_done": "a step completed (weak cue)",
    "future": "future tense (weak cue)",
    "of_total": "part of the total (weak cue)",
}
WEAK = frozenset({"step_done", "future", "of_total"})  # alone, a label doubtful when the classifier differs
QUIET = WEAK | {"so_far"}  # cues that never contest another label (amounts done fit any status)


@dataclass(frozen=True)
class Cue:
    """What one clause says about the status (``kind``, see the module docstring) and the sentence it is in;
    ``relative``: the clause is a relative one ("…, który prowadzi konsultacje"), about something just named."""

    kind: str
    sentence: str
    relative: bool = False

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


def clauses(sentence: str) -> list[str]:
    """The clauses of a sentence: negation is read per clause so it cannot reach across a comma or "ale"."""
    return [c for c, _ in _clauses(sentence)]


def _clauses(sentence: str) -> list[tuple[str, bool]]:
    """(clause, relative) pairs: a clause is relative when its part between punctuation starts with "który"/"co"
    (so "…, który prowadzi konsultacje i przygotowuje raport" is relative in both its clauses)."""
    out = []
    for part in _PUNCT_BREAK.split(sentence):
        relative = bool(_RELATIVE.match(part.strip()))
        out += [(c.strip(), relative) for c in _CONJ_BREAK.split(part) if c and c.strip()]
    return out


def _percent_kind(text: str) -> str | None:
    """'done' for 100 %, 'partial' for less, in a sentence about realisation (None when there is no percent)."""
    values = [float(m.group(1).replace(",", ".")) for m in _PERCENT.finditer(text)]
    if not values or not re.search(r"realiz|wykon|stopień|zaawansowani|poziom", text):
        return None
    return "done" if max(values) >= 100 else "partial"


def clause_cue(clause: str) -> str | None:
    """The kind of the first cue this clause matches (see the module docstring), or None."""
    text = clause.lower().strip()
    if _PATTERNS["not_fully"].search(text):
        return "not_fully"
    if _NEGATION.search(text):
        return "negated"
    for kind in (
        "partial",
        "stopped",
        "postponed",
        "past",
        "scheduled",
        "task_done",
        "done",
        "set_up",
        "ongoing",
        "plan",
        "so_far",
        "step_done",
        "future",
    ):
        if _PATTERNS[kind].search(text):
            return kind
    m = _OF_TOTAL.search(text)
    return "of_total" if m and int(m.group(1)) < int(m.group(2)) else None


def cues(text: str) -> list[Cue]:
    """Every cue of a status text, in reading order (percentages are read per sentence: "w 50%" ends a clause)."""
    found: list[Cue] = []
    for a, b in split_sentences(text):
        sentence = text[a:b]
        percent = _percent_kind(sentence.lower())
        if percent:
            found.append(Cue(percent, sentence))
        found += [
            Cue(kind, sentence, relative) for clause, relative in _clauses(sentence) if (kind := clause_cue(clause))
        ]
    return found
