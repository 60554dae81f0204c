"""What the distribution declares matches what its code imports: a client install brings no
web server, every third-party import is declared where it is used, nothing declared goes
unused, ``requires-python`` admits only Pythons the code runs on, and the version has one
source."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

import up42_facade

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
SOURCES = {
    "up42_facade": ROOT / "up42_facade",
    "up42_sandbox": ROOT / "up42_sandbox",
    "up42_jobs_client": ROOT / "generated" / "up42_jobs_client",
}
# Which extra a module's imports may come from, beyond the core dependencies.
EXTRA_OF_MODULE = {
    "up42_facade/_viz.py": "viz",
    "up42_facade/_upload.py": "gcs",
}
EXTRA_OF_PACKAGE = {"up42_sandbox": "sandbox"}
# Import names whose distribution is named otherwise.
DISTRIBUTION_OF = {
    "PIL": "pillow",
    "google_crc32c": "google-crc32c",
    "google.cloud": "google-cloud-storage",
    "yaml": "pyyaml",
}
# Declared, never imported by the code, and needed all the same.
UNIMPORTED_ON_PURPOSE = {
    "sniffio": "httpcore imports it for every lock; without it each async request fails an "
    "import (encode/httpcore#1102)",
}
WEB_SERVERS = {"starlette", "uvicorn", "fastapi", "flask", "aiohttp", "hypercorn", "werkzeug"}


def _name(requirement: str) -> str:
    return Requirement(requirement).name.lower()


CORE = {_name(r) for r in PROJECT["dependencies"]}
EXTRAS = {
    extra: {_name(r) for r in requirements}
    for extra, requirements in PROJECT["optional-dependencies"].items()
}


def _third_party_imports(path: Path, own: set[str]) -> set[str]:
    """The distributions a file imports (inside functions too), by their import names."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    found = set()
    for name in names:
        top = name.split(".")[0]
        if top in sys.stdlib_module_names or top in own or top == "__future__":
            continue
        two = ".".join(name.split(".")[:2])
        found.add(DISTRIBUTION_OF.get(two) or DISTRIBUTION_OF.get(top) or top.lower())
    return found


def _imports_by_file() -> dict[str, set[str]]:
    own = set(SOURCES)
    return {
        str(path.relative_to(folder.parent)).replace("generated/", ""): _third_party_imports(
            path, own
        )
        for folder in SOURCES.values()
        for path in sorted(folder.rglob("*.py"))
    }


def test_every_third_party_import_is_declared_where_it_is_used() -> None:
    undeclared = {}
    for file, distributions in _imports_by_file().items():
        package = file.split("/")[0]
        extra = EXTRA_OF_MODULE.get(file) or EXTRA_OF_PACKAGE.get(package)
        allowed = CORE | (EXTRAS[extra] if extra else set())
        missing = {d.replace("_", "-") for d in distributions} - allowed
        if missing:
            undeclared[file] = sorted(missing)
    assert undeclared == {}


def test_every_core_dependency_is_imported_or_says_why_not() -> None:
    imported = {d.replace("_", "-") for ds in _imports_by_file().values() for d in ds}
    assert CORE - imported == set(UNIMPORTED_ON_PURPOSE)


def test_a_client_install_brings_no_web_server_and_the_sandbox_extra_does() -> None:
    assert not CORE & WEB_SERVERS
    assert {"starlette", "uvicorn", "pillow"} <= EXTRAS["sandbox"]


@pytest.mark.parametrize(
    ("python", "admitted"), [("3.11.3", False), ("3.11.4", True), ("3.12.0", True)]
)
def test_requires_python_admits_only_pythons_with_the_tarfile_data_filter(
    python: str, admitted: bool
) -> None:
    unpacking = (ROOT / "up42_facade" / "_unpack.py").read_text(encoding="utf-8")
    assert "tarfile.data_filter" in unpacking  # what needs 3.11.4
    assert SpecifierSet(PROJECT["requires-python"]).contains(python) is admitted


def test_the_version_has_one_source() -> None:
    assert "version" not in PROJECT
    assert PROJECT["dynamic"] == ["version"]
    source = PYPROJECT["tool"]["hatch"]["version"]["path"]
    text = (ROOT / source).read_text(encoding="utf-8")
    assert re.findall(r'^__version__ = "([^"]+)"$', text, re.MULTILINE) == [up42_facade.__version__]
    assert importlib.metadata.version("up42-facade") == up42_facade.__version__
