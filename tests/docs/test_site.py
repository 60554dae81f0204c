"""The docs site: its API reference covers exactly the public names, and its link checker
finds what is dead. (`make docs` builds the site strict and runs the checker on it.)"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import yaml

import up42_facade

ROOT = Path(__file__).resolve().parents[2]


def _load_checker() -> ModuleType:
    """scripts/check_links.py, loaded from its file (scripts/ is no package)."""
    spec = importlib.util.spec_from_file_location(
        "check_links", ROOT / "scripts" / "check_links.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dead_links = _load_checker().dead_links

REFERENCE = ROOT / "docs" / "reference" / "python-api.md"


def test_the_python_reference_documents_exactly_the_public_names() -> None:
    documented = re.findall(r"^::: up42_facade\.(\w+)$", REFERENCE.read_text(), re.MULTILINE)
    assert len(documented) == len(set(documented))
    # __version__ is a string: the page says what it is in words.
    assert set(documented) == set(up42_facade.__all__) - {"__version__"}
    assert "__version__" in REFERENCE.read_text()


def test_the_nav_holds_every_page_and_the_guides_the_site_promises() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def pages(nav: object) -> list[str]:
        if isinstance(nav, str):
            return [nav]
        if isinstance(nav, list):
            return [page for item in nav for page in pages(item)]
        if isinstance(nav, dict):
            return [page for value in nav.values() for page in pages(value)]
        return []

    in_nav = set(pages(config["nav"]))
    on_disk = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    generated = {"notebooks/quickstart.ipynb"}  # added by scripts/mkdocs_hooks.py
    assert in_nav == on_disk | generated
    for guide in ("tracking-and-downloading", "many-jobs", "async", "cli", "sandbox", "cassettes"):
        assert f"guides/{guide}.md" in in_nav


def _site(tmp_path: Path, pages: dict[str, str]) -> Path:
    for name, body in pages.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")
    return tmp_path


def test_the_link_checker_passes_a_site_whose_links_resolve(tmp_path: Path) -> None:
    site = _site(
        tmp_path,
        {
            "index.html": '<a href="guides/a.html#part">a</a> <a href="https://example.org/x">'
            '</a> <img src="img/p.png"> <a href="#top">top</a><h1 id="top">t</h1>'
            '<a href="mailto:x@example.org">m</a> <a href="/guides/a.html">root</a>',
            "guides/a.html": '<h2 id="part">p</h2><a href="../index.html">home</a>',
            "img/p.png": "",
            # Redoc makes its anchors in the browser: its own links are not read.
            "reference/api.html": '<a href="#tag/jobs">jobs</a>',
        },
    )
    assert dead_links(site) == []


def test_the_link_checker_names_missing_pages_anchors_and_escapes(tmp_path: Path) -> None:
    site = _site(
        tmp_path,
        {
            "index.html": '<a href="gone.html">x</a> <a href="a.html#nowhere">y</a> '
            '<a href="../../etc/passwd">z</a> <script src="js/missing.js"></script>',
            "a.html": '<h2 id="here">h</h2>',
        },
    )
    assert sorted(dead_links(site)) == [
        "index.html: ../../etc/passwd (outside the site)",
        "index.html: a.html#nowhere (no anchor #nowhere in a.html)",
        "index.html: gone.html (no such file)",
        "index.html: js/missing.js (no such file)",
    ]


def test_the_link_checker_fails_the_build_on_a_dead_link(tmp_path: Path) -> None:
    site = _site(tmp_path, {"index.html": '<a href="gone.html">x</a>'})
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_links.py"), str(site)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "gone.html (no such file)" in done.stderr
