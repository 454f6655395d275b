"""The documentation's own checks: README.md stays a short front door, and every relative link, image and
#anchor in README.md and docs/*.md resolves (so moving a section cannot silently break a link to it).

Anchors follow GitHub's heading slugs: the heading's rendered text, lower-cased, with punctuation dropped
(letters, digits, `_`, `-` and spaces are kept; so are non-ASCII letters such as "ó"), each space turned into a
hyphen, and repeats numbered `-1`, `-2`, … in document order. Explicit `<a id=…>`/`<a name=…>` anchors count too.
Links to web addresses are not fetched: the tests never touch the network.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 150

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_REF_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_HTML_TARGET = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
_HTML_ANCHOR = re.compile(r"<a\b[^>]*?\b(?:id|name)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks: a link or heading inside a code block is not one."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading's text.

    >>> github_slug("Adding next year's report (for the city employee)")
    'adding-next-years-report-for-the-city-employee'
    >>> github_slug("Before → after, step by step")
    'before--after-step-by-step'
    >>> github_slug("The `KQA_*` settings and [links](x.md)")
    'the-kqa_-settings-and-links'
    >>> github_slug("Kraków — miasto równych szans")
    'kraków--miasto-równych-szans'
    """
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text stays, its target goes
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    kept = "".join(
        c for c in text.lower() if c in " -" or unicodedata.category(c)[0] in "LMN" or unicodedata.category(c) == "Pc"
    )
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every #anchor a page offers: its headings' slugs (repeats numbered) and explicit HTML anchors."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in _prose_lines(path.read_text(encoding="utf-8")):
        found.update(_HTML_ANCHOR.findall(line))
        match = _HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every link, image and reference definition outside code."""
    found = []
    for number, line in _prose_lines(path.read_text(encoding="utf-8")):
        prose = _CODE_SPAN.sub("", line)
        targets = _INLINE_LINK.findall(prose) + _HTML_TARGET.findall(prose)
        definition = _REF_DEFINITION.match(prose)
        if definition:
            targets.append(definition.group(1))
        found.extend((number, target) for target in targets)
    return found


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """What is wrong with each relative link of one page, as `file:line: target: problem; fix`."""
    problems = []
    for number, target in links(path):
        if _SCHEME.match(target):
            continue  # a web address (http:, https:, mailto:): not fetched
        where = f"{path.relative_to(root)}:{number}: {target!r}"
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.is_relative_to(root):
            problems.append(f"{where}: points outside the repository; link to a file inside it")
        elif not linked.exists():
            problems.append(f"{where}: no file {linked.relative_to(root)}; fix the path or restore the file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            offered = ", ".join(sorted(anchors(linked)))
            problems.append(
                f"{where}: no heading with anchor #{anchor} in {linked.relative_to(root)}; its anchors are: {offered}"
            )
    return problems


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(path: Path) -> None:
    problems = broken_links(path)
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_readme_is_a_short_front_door() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines (at most {README_MAX_LINES}); move the detail into docs/ and link to it"
    )


def test_docs_folder_is_linked_from_the_readme() -> None:
    """Every docs page is reachable: linked from README.md or from the docs index."""
    targets = {
        target.partition("#")[0]
        for page in (ROOT / "README.md", ROOT / "docs" / "README.md")
        for _, target in links(page)
    }
    reachable = {(ROOT / t).resolve() for t in targets} | {(ROOT / "docs" / t).resolve() for t in targets}
    missing = [str(p.relative_to(ROOT)) for p in doc_files()[1:] if p.resolve() not in reachable]
    assert not missing, f"docs pages linked from neither README.md nor docs/README.md: {missing}; add a link"


def test_the_checker_finds_broken_links_and_anchors(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# Title\n\n## Same\n\n## Same\n\n## It's (here)\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text(
        "# Top\n"
        "[ok](docs/a.md#same-1) [ok](docs/a.md#its-here) [ok](#top) [ok](https://example.org/#x)\n"
        "`[not a link](nowhere.md)`\n"
        "```\n[not a link](nowhere.md)\n```\n"
        "[bad anchor](docs/a.md#same-2) ![bad image](docs/missing.png)\n"
        "[bad self](#nope) [outside](../x.md)\n",
        encoding="utf-8",
    )
    problems = broken_links(page, root=tmp_path)
    assert [p.split(":")[1] for p in problems] == ["7", "7", "8", "8"], problems
    assert "#same-2" in problems[0] and "docs/missing.png" in problems[1]
    assert "#nope" in problems[2] and "outside the repository" in problems[3]
