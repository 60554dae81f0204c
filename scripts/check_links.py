"""Check every internal link of a built site: the file must exist, and so must its #anchor.

    python scripts/check_links.py build/site

Reads each HTML page's ``href`` and ``src`` (links, images, scripts, frames) and ignores
what leaves the site (``https:``, ``mailto:``, ``data:``, ...). Pages in ``OPAQUE`` are
checked as targets but not read: their links are made by their own scripts at run time.
Exit 1 with one line per dead link; 0 when every link resolves.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

# The Redoc page builds its anchors (#tag/..., #operation/...) in the browser.
OPAQUE = {"reference/api.html"}
LINK_ATTRIBUTES = {"href", "src"}


class _Page(HTMLParser):
    """The links and the anchors (``id``, ``<a name>``) of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.anchors: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in LINK_ATTRIBUTES:
                self.links.append(value)
            elif name == "id" or (tag == "a" and name == "name"):
                self.anchors.add(value)


def _read(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def dead_links(site: Path) -> list[str]:
    """Every internal link of the site that does not resolve, as ``page: link (why)``."""
    site = site.resolve()
    pages: dict[Path, _Page] = {}

    def page_at(path: Path) -> _Page:
        if path not in pages:
            pages[path] = _read(path)
        return pages[path]

    problems = []
    for path in sorted(site.rglob("*.html")):
        relative = path.relative_to(site).as_posix()
        if relative in OPAQUE:
            continue
        for link in page_at(path).links:
            problem = _problem(site, path, link, page_at)
            if problem:
                problems.append(f"{relative}: {link} ({problem})")
    return problems


def _problem(site: Path, page: Path, link: str, page_at: Callable[[Path], _Page]) -> str | None:
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or link.startswith("//"):
        return None  # leaves the site (https:, mailto:, data:, javascript:, ...)
    if parts.path:
        # A root-relative link ("/assets/...", as in 404.html) means the site's root.
        base = site if parts.path.startswith("/") else page.parent
        target = (base / unquote(parts.path).lstrip("/")).resolve()
        if not target.is_relative_to(site):
            return "outside the site"
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return "no such file"
    else:
        target = page
    fragment = unquote(parts.fragment)
    if not fragment or target.suffix != ".html":
        return None
    if target.relative_to(site).as_posix() in OPAQUE:
        return None
    if fragment not in page_at(target).anchors:
        return f"no anchor #{fragment} in {PurePosixPath(target.relative_to(site))}"
    return None


def main(argv: Iterable[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="the built site's folder")
    options = parser.parse_args(list(argv))
    site: Path = options.site
    if not (site / "index.html").is_file():
        print(f"{site} holds no built site (no index.html)", file=sys.stderr)
        return 1
    problems = dead_links(site)
    for problem in problems:
        print(problem, file=sys.stderr)
    pages = sum(1 for _ in site.rglob("*.html"))
    if problems:
        print(f"{len(problems)} dead internal link(s) in {site}", file=sys.stderr)
        return 1
    print(f"every internal link of {pages} pages in {site} resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
