"""A folder of reports: each ``NAME.txt`` or ``NAME.pdf`` with a manifest ``NAME.json`` beside it.

The manifest says which report and which edition the file is::

    {"title": "Sprawozdanie ...", "section": "Kraków — miasto równych szans", "edition": "2025-06",
     "publisher": "Urząd Miasta Krakowa", "url": null, "pledges": 9, "closing_paragraphs": 1}

Files with the same title and section are editions of one report, ordered by ``edition`` (a year
"2025", a month "2025-06" or a day "2025-06-30"; a bare year sorts before the dated editions of that
year). ``pledges`` (the number of pledges, checked) and ``closing_paragraphs`` (paragraphs after the last
status that close the section; without it only one paragraph may follow the last status) are optional and
passed to the parser (corpus/parser.py ParseOptions).

Pledge ids are slugs of their titles, so two reports with a pledge of the same title would share an id;
such ids are qualified as ``{report_key}.{pledge_id}`` in every edition of both reports, keeping the ids
of one report's pledges the same from edition to edition.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, NoReturn

from corpus.diff import PledgeChange, diff_reports, match_pledges
from corpus.errors import ReportFormatError
from corpus.model import Pledge, Report, Span
from corpus.parser import OPTION_HINTS, ParseOptions, parse_report, relative_source, slugify

REPORTS_DIR = Path(__file__).resolve().parent / "reports"
DEFAULT_REPORT = REPORTS_DIR / "krakow-miasto-rownych-szans.txt"
REPORT_SUFFIXES = (".txt", ".pdf")
REQUIRED = ("title", "section", "edition", "publisher", "url")
OPTIONAL = ("pledges", "closing_paragraphs", "note", "language", "examples")
_EDITION = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_EXAMPLE = '{"title": "...", "section": "...", "edition": "2025", "publisher": "...", "url": null}'


class ReportSetError(ValueError):
    """The reports folder is not as expected; the message names the file and the fix."""


@dataclass(frozen=True)
class ReportInfo:
    """A report file's manifest: which report (title, section) and which edition it is."""

    title: str
    section: str
    edition: str
    publisher: str
    url: str | None
    file: str  # the report file, relative to the repository when inside it
    # example questions the app offers, per interface language ({"pl": [...], "en": [...]}); optional
    examples: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadedReport:
    """One edition of a report: its key (shared by all its editions), manifest and parsed text."""

    key: str
    info: ReportInfo
    report: Report


@dataclass(frozen=True)
class StatusChange:
    """A pledge whose status label moved since the previous edition of its report."""

    since: str  # the previous edition
    before: str
    after: str


@dataclass(frozen=True)
class EditionChange:
    """What changed in a pledge since the previous edition of its report: ``kinds`` of corpus.diff.KINDS."""

    since: str
    kinds: tuple[str, ...]
    before: str  # the status label then
    after: str  # and now


@dataclass(frozen=True)
class ReportSet:
    """All reports of a folder; ``editions[key]`` holds one report's editions, oldest first.

    Questions are answered from the latest edition of each report (``pledges``, ``by_id``); older editions
    stay for browsing (``earlier``) and for what changed (``changes``, ``status_changes``).
    """

    folder: Path
    editions: dict[str, tuple[LoadedReport, ...]]

    def keys(self) -> list[str]:
        return list(self.editions)

    def latest(self) -> tuple[LoadedReport, ...]:
        """The newest edition of each report, in key order."""
        return tuple(eds[-1] for eds in self.editions.values())

    def __iter__(self) -> Iterator[LoadedReport]:
        return (ed for eds in self.editions.values() for ed in eds)

    @cached_property
    def _latest_by_id(self) -> dict[str, tuple[LoadedReport, Pledge]]:
        return {p.id: (ed, p) for ed in self.latest() for p in ed.report.pledges}

    @property
    def pledges(self) -> tuple[Pledge, ...]:
        """The pledges of the latest editions, report by report, in report order."""
        return tuple(p for ed in self.latest() for p in ed.report.pledges)

    def by_id(self, pledge_id: str) -> Pledge:
        """A pledge of a latest edition, or KeyError naming the ids there are."""
        try:
            return self._latest_by_id[pledge_id][1]
        except KeyError:
            raise KeyError(f"no pledge {pledge_id!r}; known ids: {', '.join(self._latest_by_id)}") from None

    def edition_of(self, pledge_id: str) -> LoadedReport:
        """The (latest) edition a pledge is answered from."""
        self.by_id(pledge_id)
        return self._latest_by_id[pledge_id][0]

    def source_text(self, span: Span) -> str:
        """The exact lines of the edition whose source ``span`` names."""
        return self._edition_of_source(span).source_text(span)

    def printed_at(self, span: Span) -> tuple[tuple[int, int] | None, ...] | None:
        """Where each line of ``span`` is printed — (page, line on that page), None for a blank line — when the
        edition was read from a PDF; None for a text file."""
        return self._edition_of_source(span).printed_at(span)

    def _edition_of_source(self, span: Span) -> Report:
        for ed in self:
            if ed.report.source == span.source:
                return ed.report
        raise KeyError(f"no edition has source {span.source!r}")

    def earlier(self, pledge_id: str) -> list[tuple[LoadedReport, Pledge]]:
        """The same pledge in the older editions of its report, newest first, followed through renamings (pledges
        are paired by content between each edition and the one before: corpus.diff)."""
        key = self.edition_of(pledge_id).key
        eds = self.editions[key]
        out: list[tuple[LoadedReport, Pledge]] = []
        index = next(i for i, p in enumerate(eds[-1].report.pledges) if p.id == pledge_id)
        for k in range(len(eds) - 1, 0, -1):
            before = self._pairs[key][k - 1].get(index)
            if before is None:
                break
            index = before
            out.append((eds[k - 1], eds[k - 1].report.pledges[index]))
        return out

    @cached_property
    def _pairs(self) -> dict[str, list[dict[int, int]]]:
        """Per report, per pair of consecutive editions: new pledge index → old pledge index."""
        return {
            key: [{j: i for i, j, _ in match_pledges(a.report, b.report)} for a, b in itertools.pairwise(eds)]
            for key, eds in self.editions.items()
        }

    @cached_property
    def _diffs(self) -> dict[str, tuple[str, PledgeChange]]:
        """Latest pledge id → (previous edition, its change), for pledges paired with the edition before."""
        out: dict[str, tuple[str, PledgeChange]] = {}
        for eds in self.editions.values():
            if len(eds) > 1:
                for c in diff_reports(eds[-2].report, eds[-1].report).matched:
                    out[c.pledge_id] = (eds[-2].info.edition, c)
        return out

    @cached_property
    def changes(self) -> dict[str, EditionChange]:
        """Latest pledges that changed in any way (label, status text, pledge text, title) since the edition
        before: what Browse's "changed since the last edition" lists."""
        return {
            pid: EditionChange(since, c.kinds, c.label_before, c.label_after)
            for pid, (since, c) in self._diffs.items()
            if c.changed
        }

    @cached_property
    def status_changes(self) -> dict[str, StatusChange]:
        """Latest pledges whose status label moved since the edition before (paired by content)."""
        return {
            pid: StatusChange(since, c.label_before, c.label_after)
            for pid, (since, c) in self._diffs.items()
            if c.label_before != c.label_after
        }

    def to_json(self) -> dict[str, Any]:
        """Everything serving needs, for a saved index: every edition's manifest and parsed report."""
        return {"editions": [{"key": ed.key, "info": asdict(ed.info), "report": ed.report.to_json()} for ed in self]}

    @staticmethod
    def from_json(d: dict[str, Any], folder: Path) -> ReportSet:
        """Inverse of ``to_json`` (``folder``: where the copies live)."""
        editions: dict[str, list[LoadedReport]] = {}
        for e in d["editions"]:
            editions.setdefault(e["key"], []).append(
                LoadedReport(e["key"], ReportInfo(**e["info"]), Report.from_json(e["report"]))
            )
        return ReportSet(folder, {k: tuple(v) for k, v in editions.items()})


def edition_order(edition: str) -> tuple[int, int, int]:
    """Sort key of an edition string: "2025" < "2025-01" < "2025-06-30" < "2026"."""
    m = _EDITION.match(edition)
    if not m:
        raise ValueError(f"edition {edition!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = (int(g) if g else 0 for g in m.groups())
    dt.date(year, month or 1, day or 1)  # raises ValueError for month 13 or 30 February
    return year, month, day


def load_report_set(folder: Path | str = REPORTS_DIR) -> ReportSet:
    """Find, check and parse every report in ``folder``; ReportSetError/ReportFormatError say what to fix."""
    folder = Path(folder)
    pairs = _pair_files(folder)
    loaded: list[tuple[ReportInfo, Report]] = []
    for report_file, manifest_file in pairs:
        info, options = read_manifest(manifest_file, report_file)
        loaded.append(
            (info, parse_report(report_file, closing_paragraphs=options.closing_paragraphs, pledges=options.pledges))
        )
    groups: dict[tuple[str, str], list[tuple[ReportInfo, Report]]] = {}
    for info, report in loaded:
        groups.setdefault((info.title, info.section), []).append((info, report))
    keys = _report_keys(list(groups))
    editions: dict[str, tuple[LoadedReport, ...]] = {}
    for ident, members in groups.items():
        _check_editions(members)
        members.sort(key=lambda m: edition_order(m[0].edition))
        editions[keys[ident]] = tuple(LoadedReport(keys[ident], info, report) for info, report in members)
    return ReportSet(folder, _qualify_shared_ids(dict(sorted(editions.items()))))


def _pair_files(folder: Path) -> list[tuple[Path, Path]]:
    """(report file, manifest) pairs; refuses orphans on either side and an empty folder."""
    if not folder.is_dir():
        raise ReportSetError(
            f"{folder}: reports folder not found; expected a folder with NAME.txt or NAME.pdf "
            "files, each with a NAME.json manifest"
        )
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    reports = [p for p in files if p.suffix.lower() in REPORT_SUFFIXES]
    manifests = {p.stem: p for p in files if p.suffix.lower() == ".json"}
    if not reports and not manifests:
        raise ReportSetError(
            f"{folder}: no reports in the folder; expected NAME.txt or NAME.pdf with a "
            f"NAME.json manifest beside it: {_EXAMPLE}"
        )
    stems: dict[str, Path] = {}
    for path in reports:
        if path.stem in stems:
            raise ReportSetError(
                f"{path}: {stems[path.stem].name} has the same name; expected one report file "
                f"per manifest (rename one, with its own {path.stem}-2.json)"
            )
        stems[path.stem] = path
        if path.stem not in manifests:
            raise ReportSetError(
                f"{path}: no manifest {path.stem}.json beside it; expected {folder / path.stem}.json with {_EXAMPLE}"
            )
    for stem, manifest in manifests.items():
        if stem not in stems:
            raise ReportSetError(
                f"{manifest}: no report file {stem}.txt or {stem}.pdf beside it; expected the "
                "report file next to its manifest (or remove the manifest)"
            )
    return [(path, manifests[path.stem]) for path in reports]


def read_manifest(manifest: Path, report_file: Path) -> tuple[ReportInfo, ParseOptions]:
    """The manifest's ReportInfo and what it tells the parser (``pledges``, ``closing_paragraphs``); errors name
    the field."""
    data = _manifest_fields(manifest)
    for name in ("title", "section", "publisher"):
        if not isinstance(data[name], str) or not data[name].strip():
            _bad(manifest, name, data[name])
    if data["url"] is not None and not isinstance(data["url"], str):
        _bad(manifest, "url", data["url"])
    edition = _edition(manifest, data["edition"])
    try:
        options = ParseOptions.from_manifest(data, str(manifest))
    except ReportFormatError as exc:
        raise ReportSetError(str(exc)) from None
    examples = data.get("examples", {})
    if not isinstance(examples, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(q, str) and q.strip() for q in v)
        for k, v in examples.items()
    ):
        _bad(manifest, "examples", examples)
    info = ReportInfo(
        title=" ".join(data["title"].split()),
        section=" ".join(data["section"].split()),
        edition=edition,
        publisher=data["publisher"].strip(),
        url=data["url"],
        file=relative_source(report_file),
        examples=examples,
    )
    return info, options


def _manifest_fields(manifest: Path) -> dict[str, Any]:
    """The manifest's JSON object, with every required field and no unknown one (its values not yet checked)."""
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportSetError(f"{manifest}: not valid UTF-8 JSON ({exc}); expected an object like {_EXAMPLE}") from None
    if not isinstance(data, dict):
        raise ReportSetError(f"{manifest}: holds a {type(data).__name__}; expected an object like {_EXAMPLE}")
    for name in REQUIRED:
        if name not in data:
            raise ReportSetError(f"{manifest}: field {name!r} is missing; expected it with {_hint(name)}")
    unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise ReportSetError(
            f"{manifest}: unknown field {unknown[0]!r}; expected only "
            f"{', '.join(REQUIRED + OPTIONAL)} (check the spelling)"
        )
    return data


def _edition(manifest: Path, value: object) -> str:
    """The manifest's ``edition`` as text (a whole number is accepted as a year); anything else names the field."""
    edition = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        if not isinstance(edition, str):
            raise ValueError
        edition_order(edition)
    except ValueError:
        _bad(manifest, "edition", value)
    return edition


def _hint(name: str) -> str:
    return {
        "title": "the report's title (a non-empty string)",
        "section": "the section's name (a non-empty string)",
        "edition": 'the edition as "YYYY", "YYYY-MM" or "YYYY-MM-DD"',
        "publisher": "who published it (a non-empty string)",
        "url": "the report's web address, or null",
        **OPTION_HINTS,
        "examples": 'example questions per language, e.g. {"pl": ["Czy jest bezpłatna mammografia?"]}',
    }[name]


def _bad(manifest: Path, name: str, value: object) -> NoReturn:
    raise ReportSetError(f"{manifest}: field {name!r} is {value!r}; expected {_hint(name)}")


def _check_editions(members: list[tuple[ReportInfo, Report]]) -> None:
    seen: dict[str, str] = {}
    for info, _ in members:
        if info.edition in seen:
            raise ReportSetError(
                f"{info.file}: edition {info.edition!r} of {info.title!r} / {info.section!r} "
                f"is also the edition of {seen[info.edition]}; expected each edition of a report "
                "once (fix the 'edition' in one manifest)"
            )
        seen[info.edition] = info.file


def _report_keys(idents: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Slug of the section; of title and section for reports whose sections share a slug."""
    by_section: dict[str, int] = {}
    for _, section in idents:
        by_section[slugify(section)] = by_section.get(slugify(section), 0) + 1
    keys = {
        (title, section): slugify(section) if by_section[slugify(section)] == 1 else slugify(f"{title} {section}")
        for title, section in idents
    }
    if len(set(keys.values())) < len(keys):
        clash = sorted(k for k in keys.values() if list(keys.values()).count(k) > 1)[0]
        raise ReportSetError(
            f"two reports get the key {clash!r} from their title and section; expected titles "
            "and sections that differ in more than accents, case or punctuation"
        )
    return keys


def _qualify_shared_ids(editions: dict[str, tuple[LoadedReport, ...]]) -> dict[str, tuple[LoadedReport, ...]]:
    """Prefix a pledge id with its report key in every edition of each report sharing it (latest editions)."""
    owners: dict[str, set[str]] = {}
    for key, eds in editions.items():
        for pledge in eds[-1].report.pledges:
            owners.setdefault(pledge.id, set()).add(key)
    shared = {pid for pid, keys in owners.items() if len(keys) > 1}
    if not shared:
        return editions
    out: dict[str, tuple[LoadedReport, ...]] = {}
    for key, eds in editions.items():
        out[key] = tuple(
            replace(
                ed,
                report=replace(
                    ed.report,
                    pledges=tuple(replace(p, id=f"{key}.{p.id}") if p.id in shared else p for p in ed.report.pledges),
                ),
            )
            for ed in eds
        )
    return out
