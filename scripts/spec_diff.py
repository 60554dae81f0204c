"""What an edit to the spec means for users: breaking, non-breaking or documentation only.

Compares ``openapi/up42-jobs.yaml`` at a git ref (BASE) with the working tree, three ways:

- the two OpenAPI documents, dereferenced, with api-smart-diff (pinned in tools/node): every
  change, classified breaking, non-breaking or documentation-only;
- the Python client each side generates (``scripts/generate.sh`` into temporary folders), with
  griffe: the ``up42_jobs_client`` names that break;
- ``up42_facade``'s public API (the names in its ``__all__``) at BASE and in the working tree,
  with griffe.

It prints a changelog entry (Keep a Changelog sections, breaking entries marked) on stdout and
the verdict on stderr. It exits 1 when something breaks and the version was not bumped
accordingly (before 1.0 a breaking change needs a minor bump, from 1.0 a major one) or when a
fixture case is misclassified, 2 on a problem to fix first (an unknown BASE, a spec that does
not parse, a client that does not generate), 0 otherwise.

Usage (docs/api-changes.md walks through it)::

    scripts/spec_diff.py diff [--base REF]   # REF defaults to the last v* tag, else HEAD~1
    scripts/spec_diff.py fixtures            # classify the cases of tests/compat/cases.yaml
    scripts/spec_diff.py check-compat        # diff against the last v* tag; with none, fixtures
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import griffe
import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = "openapi/up42-jobs.yaml"
GENERATOR_CONFIG = "openapi/generator.yaml"
# The working tree's generator script builds both sides: the diff shows what the spec (and the
# generator config) changed, never what a different generate.sh would have done.
GENERATE = ROOT / "scripts" / "generate.sh"
NODE_HELPER = ROOT / "scripts" / "spec_diff.cjs"
NODE_TOOLS = "tools/node"
CASES = ROOT / "tests" / "compat" / "cases.yaml"
CLIENT = "up42_jobs_client"
FACADE = "up42_facade"
RELEASE_TAGS = "v*"
# Generating a client keeps one core busy for about 2 s; this machine and CI have two.
DEFAULT_JOBS = min(2, os.cpu_count() or 1)

BREAKING = "breaking"
NON_BREAKING = "non-breaking"
DOCUMENTATION = "documentation-only"
NO_CHANGE = "no change"
SEVERITIES = (BREAKING, NON_BREAKING, DOCUMENTATION)  # the most severe first
SECTIONS = ("Added", "Changed", "Deprecated", "Removed")  # Keep a Changelog's order
MARKERS = {BREAKING: "**Breaking:** ", NON_BREAKING: "", DOCUMENTATION: "Documentation: "}

# api-smart-diff's classes. `unclassified` means it has no rule for the change: that counts as
# breaking until a person has looked, and the entry says so.
TOOL_CLASSES = {
    "breaking": BREAKING,
    "non-breaking": NON_BREAKING,
    "annotation": DOCUMENTATION,
    "deprecated": NON_BREAKING,
    "unclassified": BREAKING,
}
ACTION_SECTIONS = {"add": "Added", "remove": "Removed", "replace": "Changed", "rename": "Changed"}
ACTION_VERBS = {"add": "added", "remove": "removed", "replace": "changed", "rename": "renamed"}
# The verbs api-smart-diff writes at the start of its descriptions ("[Added] property ...").
TOOL_VERBS = {"Added": "added", "Removed": "removed", "Replaced": "changed", "Renamed": "renamed"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# An operation list longer than this is summed up as a count in a changelog entry.
MAX_LISTED_OPERATIONS = 3


class SpecDiffError(Exception):
    """A problem the user can fix; main() prints it without a traceback and exits 2."""


@dataclass(frozen=True)
class Change:
    """One line of the changelog: how severe, which section, which part of the product."""

    severity: str
    section: str
    scope: str
    text: str

    def markdown(self) -> str:
        return f"- {MARKERS[self.severity]}{self.scope}: {self.text}"


def verdict(changes: Iterable[Change]) -> str:
    """The most severe class among the changes, or NO_CHANGE."""
    found = {change.severity for change in changes}
    return next((severity for severity in SEVERITIES if severity in found), NO_CHANGE)


def changelog(changes: Sequence[Change]) -> str:
    """Keep a Changelog sections for the changes, breaking entries first in each section."""
    if not changes:
        return "No change to the API, the generated client or up42_facade's public API.\n"
    lines: list[str] = []
    for section in SECTIONS:
        entries = [change for change in changes if change.section == section]
        entries.sort(key=lambda change: SEVERITIES.index(change.severity))
        if entries:
            lines += [f"### {section}", "", *(entry.markdown() for entry in entries), ""]
    return "\n".join(lines)


# --- where the two sides come from -------------------------------------------------------------


def git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)


class WorkingTree:
    """Files as they are on disk."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.label = "working tree"

    def read(self, path: str) -> str | None:
        file = self.repo / path
        return file.read_text(encoding="utf-8") if file.is_file() else None

    def export(self, path: str, target: Path) -> bool:
        source = self.repo / path
        if not source.is_dir():
            return False
        shutil.copytree(source, target / path, ignore=shutil.ignore_patterns("__pycache__"))
        return True


class GitTree:
    """Files as a commit has them."""

    def __init__(self, repo: Path, ref: str) -> None:
        self.repo = repo
        self.label = ref
        found = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        if found.returncode != 0:
            raise SpecDiffError(
                f"unknown git ref {ref!r}: give BASE as a tag, branch or commit of {repo}"
            )
        self.commit = found.stdout.decode().strip()

    def read(self, path: str) -> str | None:
        shown = git(self.repo, "show", f"{self.commit}:{path}")
        return shown.stdout.decode("utf-8") if shown.returncode == 0 else None

    def export(self, path: str, target: Path) -> bool:
        archive = git(self.repo, "archive", "--format=tar", self.commit, "--", path)
        if archive.returncode != 0:
            return False
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(target, filter="data")
        return True


def last_release_tag(repo: Path) -> str | None:
    """The newest v* tag reachable from HEAD, if any."""
    described = git(repo, "describe", "--tags", "--abbrev=0", "--match", RELEASE_TAGS)
    if described.returncode != 0:
        return None
    return described.stdout.decode().strip() or None


def read_version(tree: WorkingTree | GitTree) -> tuple[str, str]:
    """The project's version and the file it lives in (pyproject.toml or its dynamic source)."""
    text = tree.read("pyproject.toml")
    if text is None:
        raise SpecDiffError(f"{tree.label} has no pyproject.toml to read the version from")
    try:
        pyproject = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecDiffError(f"pyproject.toml in {tree.label} does not parse: {error}") from None
    project = pyproject.get("project", {})
    if "version" in project:
        return str(project["version"]), "pyproject.toml"
    source = pyproject.get("tool", {}).get("hatch", {}).get("version", {}).get("path")
    if "version" not in project.get("dynamic", []) or not source:
        raise SpecDiffError(f"pyproject.toml in {tree.label} names no version, nor where it is")
    found = re.search(
        r"^__version__\s*=\s*[\"']([^\"']+)[\"']", tree.read(source) or "", re.MULTILINE
    )
    if not found:
        raise SpecDiffError(f"no __version__ = '...' in {source} in {tree.label}")
    return found[1], source


def release(version: str) -> tuple[int, int, int]:
    found = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    if not found:
        raise SpecDiffError(f"version {version!r} is not MAJOR.MINOR.PATCH")
    return int(found[1]), int(found[2]), int(found[3] or 0)


def version_verdict(base: str, head: str, severity: str) -> tuple[bool, str]:
    """Whether the version step from base to head fits the changes, and a sentence saying so."""
    major, minor, _ = release(base)
    needed = (0, minor + 1, 0) if major == 0 else (major + 1, 0, 0)
    needed_text = ".".join(map(str, needed))
    if severity != BREAKING:
        return True, f"version {base} -> {head}: no breaking change, no bump required"
    if release(head) >= needed:
        return True, f"version {base} -> {head}: the breaking changes are covered"
    rule = "a minor bump before 1.0" if major == 0 else "a major bump"
    return False, (
        f"version {base} -> {head}: something breaks, so the version must be at least "
        f"{needed_text} ({rule})"
    )


# --- the OpenAPI documents --------------------------------------------------------------------


def dereference(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with every local $ref replaced by what it points to.

    api-smart-diff classifies by where a change lands (a request or a response); it sees that
    only where the schema is written out. A cyclic $ref stays as it is.
    """

    def resolve(pointer: str) -> Any:
        node: Any = spec
        for part in pointer.removeprefix("#/").split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, list):
                node = node[int(key)]
            elif isinstance(node, dict) and key in node:
                node = node[key]
            else:
                raise SpecDiffError(f"the spec's $ref {pointer!r} points nowhere")
        return node

    def walk(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        pointer = node.get("$ref")
        if isinstance(pointer, str) and pointer.startswith("#/") and pointer not in seen:
            target = walk(resolve(pointer), (*seen, pointer))
            siblings = {key: walk(value, seen) for key, value in node.items() if key != "$ref"}
            return {**target, **siblings} if isinstance(target, dict) else target
        return {key: walk(value, seen) for key, value in node.items()}

    resolved: dict[str, Any] = walk(spec, ())
    return resolved


def for_diff(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as api-smart-diff should see it: dereferenced, each thing said once, plainly."""
    resolved = dereference(spec)
    # Everything in components now also sits where it is used; diffing both would list each
    # change twice, and the components copy without knowing whether it is a request or a
    # response. Security schemes are only referred to by name, so they stay.
    components = resolved.get("components", {})
    resolved["components"] = {k: v for k, v in components.items() if k == "securitySchemes"}
    for path_item in resolved.get("paths", {}).values():
        operations = [path_item, *(path_item.get(method, {}) for method in HTTP_METHODS)]
        for parameter in (p for op in operations for p in op.get("parameters", [])):
            # `required: false` is the default; api-smart-diff 1.0.6 words a parameter that
            # spells it out as "required" (the class it gives is right).
            if parameter.get("required") is False:
                del parameter["required"]
    return resolved


def run_api_smart_diff(pairs: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> list[list[dict]]:
    """api-smart-diff's findings for each (before, after) pair, in one Node process."""
    installed = subprocess.run(
        [str(ROOT / "tools" / "npm-ci.sh"), NODE_TOOLS], capture_output=True, text=True, check=False
    )
    if installed.returncode != 0:
        raise SpecDiffError(f"installing tools/node failed: {last_line(installed.stderr)}")
    payload = json.dumps([[for_diff(before), for_diff(after)] for before, after in pairs])
    found = subprocess.run(
        ["node", str(NODE_HELPER)], input=payload, capture_output=True, text=True, check=False
    )
    if found.returncode != 0:
        raise SpecDiffError(f"api-smart-diff failed: {last_line(found.stderr)}")
    results: list[list[dict]] = json.loads(found.stdout)
    return results


def api_changes(diffs: Iterable[dict[str, Any]]) -> list[Change]:
    """Changelog entries for api-smart-diff's findings; one entry per change and wording.

    The same change often lands in many operations (every error response carries the same
    envelope): those operations share one entry.
    """
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for diff in diffs:
        severity = TOOL_CLASSES.get(diff["type"], BREAKING)
        if diff["type"] == "deprecated":
            section = "Deprecated"
        elif severity == DOCUMENTATION:
            section = "Changed"
        else:
            section = ACTION_SECTIONS.get(diff["action"], "Changed")
        text, operation = describe_api_diff(diff)
        if diff["type"] == "unclassified":
            text += " (api-smart-diff has no rule for this change: review it)"
        operations = grouped.setdefault((severity, section, text), [])
        if operation and operation not in operations:
            operations.append(operation)
    changes = []
    for (severity, section, text), operations in grouped.items():
        if len(operations) == 1:
            text = f"`{operations[0]}`: {text}"
        elif len(operations) > MAX_LISTED_OPERATIONS:
            text = f"{text} ({len(operations)} operations)"
        elif operations:
            text = f"{text} ({', '.join(f'`{operation}`' for operation in operations)})"
        changes.append(Change(severity, section, "API", text))
    return changes


def describe_api_diff(diff: dict[str, Any]) -> tuple[str, str | None]:
    """The diff's wording, and the operation it lands in when the wording does not say."""
    path = [str(part) for part in diff["path"]]
    found = re.fullmatch(r"\[(\w+)\] (.+)", diff["description"], re.DOTALL)
    if found:
        text = f"{TOOL_VERBS.get(found[1], found[1].lower())} {found[2]}"
    else:
        pointer = "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in path)
        text = f"{ACTION_VERBS.get(diff['action'], diff['action'])} `{pointer}`"
    in_operation = len(path) > 3 and path[0] == "paths" and path[2] in HTTP_METHODS
    return text, f"{path[2].upper()} {path[1]}" if in_operation else None


# --- the Python APIs --------------------------------------------------------------------------


def generate_client(spec_text: str, config_text: str, workdir: Path) -> Path:
    """Generate the client of one spec under workdir; return the folder that holds the package."""
    (workdir / "openapi").mkdir(parents=True)
    (workdir / "scripts").mkdir()
    (workdir / SPEC).write_text(spec_text, encoding="utf-8")
    (workdir / GENERATOR_CONFIG).write_text(config_text, encoding="utf-8")
    shutil.copy2(GENERATE, workdir / "scripts" / "generate.sh")
    venv_bin = Path(sys.executable).parent
    # generate.sh puts $PWD/$VENV_BIN first on PATH, after a cd into workdir.
    env = {**os.environ, "VENV_BIN": os.path.relpath(venv_bin, workdir)}
    target = workdir / "client"
    generated = subprocess.run(
        ["bash", str(workdir / "scripts" / "generate.sh"), str(target / CLIENT)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if generated.returncode != 0:
        output = (generated.stdout + generated.stderr).strip()
        raise SpecDiffError(f"generating the Python client failed:\n{output}")
    return target


def load_package(package: str, folder: Path) -> griffe.Module:
    """griffe's static view of the package in folder, and nothing from sys.path."""
    loaded = griffe.load(
        package,
        search_paths=[folder],
        try_relative_path=False,  # not ./up42_facade when run from the repository
        allow_inspection=False,
        resolve_aliases=True,
        resolve_external=False,
        # Fresh collections: griffe would otherwise hand back the first side for the second.
        modules_collection=griffe.ModulesCollection(),
        lines_collection=griffe.LinesCollection(),
    )
    if not isinstance(loaded, griffe.Module) or folder.resolve() not in loaded.filepath.parents:
        raise SpecDiffError(f"package {package} not found in {folder}")
    return loaded


def python_changes(old: griffe.Module, new: griffe.Module, scope: str) -> list[Change]:
    """griffe's breakages between two versions of a package, named by their public paths.

    With an ``__all__``, only its names count (and what they lead to): a private module may
    change freely. A name leaving ``__all__`` is a breakage even while it can still be imported.
    """
    public = public_paths(old)
    old_names, new_names = exported(old), exported(new)
    gone = {f"{old.path}.{name}" for name in old_names - new_names}
    changes = [
        Change(BREAKING, "Removed", scope, f"`{path}` is no longer public") for path in sorted(gone)
    ]
    # A BASE without __all__ would make every name look new: additions count only beside one.
    if old_names:
        changes += [
            Change(NON_BREAKING, "Added", scope, f"`{new.path}.{name}`")
            for name in sorted(new_names - old_names)
        ]
    for breakage in griffe.find_breaking_changes(old, new):
        path = public_name(breakage.obj.path, public)
        if not any(path == name or path.startswith(f"{name}.") for name in gone):
            removed = breakage.kind is griffe.BreakageKind.OBJECT_REMOVED
            text = describe_breakage(breakage, path)
            changes.append(Change(BREAKING, "Removed" if removed else "Changed", scope, text))
    return changes


def exported(module: griffe.Module) -> set[str]:
    return {str(name) for name in module.exports or ()}


def public_paths(package: griffe.Module) -> dict[str, str]:
    """Where each exported name of the package's public modules is defined -> the name users import.

    ``up42_jobs_client.models.job_task.JobTask`` is known as ``up42_jobs_client.models.JobTask``.
    """
    paths: dict[str, str] = {}
    modules = [package]
    while modules:
        module = modules.pop(0)
        for name in sorted(exported(module)):
            member = module.members.get(name)
            if member is not None and member.is_alias:
                paths.setdefault(member.target_path, f"{module.path}.{name}")
        modules += [sub for name, sub in module.modules.items() if not name.startswith("_")]
    return paths


def public_name(path: str, public: dict[str, str]) -> str:
    """path, with the longest prefix that public knows replaced by the name users import."""
    defined = max(
        (key for key in public if path == key or path.startswith(f"{key}.")), key=len, default=None
    )
    return path if defined is None else public[defined] + path[len(defined) :]


def describe_breakage(breakage: griffe.Breakage, path: str) -> str:
    """One line for a griffe breakage of the object users know as path."""
    old, new = breakage.old_value, breakage.new_value
    kind = breakage.kind.value
    text = f"{kind[0].lower()}{kind[1:]}"
    parameter = old if isinstance(old, griffe.Parameter) else new
    if isinstance(parameter, griffe.Parameter):
        subject = f"`{path}({parameter.name})`"
        if breakage.kind is griffe.BreakageKind.PARAMETER_CHANGED_DEFAULT:
            text += f": {old.default} -> {new.default}"
        elif breakage.details:
            text += f" ({breakage.details})"
    else:
        subject = f"`{path}`"
        if old is not None and new is not None:
            text += f": {old} -> {new}"
    return f"{subject}: {text}"


# --- one comparison ---------------------------------------------------------------------------


@dataclass
class Comparison:
    """What changed from one side to the other, and how severe it is."""

    api: list[Change] = field(default_factory=list)
    client: list[Change] = field(default_factory=list)
    facade: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[Change]:
        return [*self.api, *self.client, *self.facade]

    @property
    def verdict(self) -> str:
        return verdict(self.changes)


def client_changes(old: Path, new: Path) -> list[Change]:
    """The generated client's breakages between the packages generated into old and new."""
    return python_changes(load_package(CLIENT, old), load_package(CLIENT, new), "Python client")


def compare_refs(repo: Path, base_ref: str, jobs: int = DEFAULT_JOBS) -> tuple[Comparison, str]:
    """Compare BASE with the working tree of repo; also return BASE's version."""
    base, head = GitTree(repo, base_ref), WorkingTree(repo)
    base_spec, base_config = base.read(SPEC), base.read(GENERATOR_CONFIG)
    if base_spec is None or base_config is None:
        raise SpecDiffError(f"{base_ref} has no {SPEC} and {GENERATOR_CONFIG} to compare with")
    head_spec, head_config = head.read(SPEC), head.read(GENERATOR_CONFIG)
    if head_spec is None or head_config is None:
        raise SpecDiffError(f"the working tree has no {SPEC} and {GENERATOR_CONFIG}")
    base_version, _ = read_version(base)
    result = Comparison()
    with tempfile.TemporaryDirectory(prefix="spec-diff-") as tmp, ThreadPoolExecutor(jobs) as pool:
        work = Path(tmp)
        pairs = [(load_spec(base_spec, base_ref), load_spec(head_spec, "the working tree"))]
        api = pool.submit(run_api_smart_diff, pairs)
        generated: list[Future[Path]] = []
        if (base_spec, base_config) == (head_spec, head_config):
            result.notes.append("same spec and generator config: the generated client is unchanged")
        else:
            generated = [
                pool.submit(generate_client, base_spec, base_config, work / "base"),
                pool.submit(generate_client, head_spec, head_config, work / "head"),
            ]
        result.facade = facade_changes(base, head, work / "facade", result.notes)
        result.api = api_changes(api.result()[0])
        if generated:
            result.client = client_changes(generated[0].result(), generated[1].result())
    return result, base_version


def facade_changes(base: GitTree, head: WorkingTree, work: Path, notes: list[str]) -> list[Change]:
    """up42_facade's public API at BASE (exported into work) against the working tree's."""
    if not base.export(FACADE, work):
        notes.append(f"{base.label} has no {FACADE}: its public API is not compared")
        return []
    if not (head.repo / FACADE).is_dir():
        notes.append(f"the working tree has no {FACADE}: its public API is not compared")
        return []
    return python_changes(load_package(FACADE, work), load_package(FACADE, head.repo), FACADE)


def load_spec(text: str, where: str) -> dict[str, Any]:
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SpecDiffError(
            f"{SPEC} in {where} is not valid YAML: {last_line(str(error))}"
        ) from None
    if not isinstance(spec, dict):
        raise SpecDiffError(f"{SPEC} in {where} is not an OpenAPI document")
    return spec


# --- fixture cases ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A small edit of the spec and the classification it must get."""

    name: str
    patch: list[dict[str, Any]]
    expect: str
    expect_api: str
    setup: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CaseResult:
    case: Case
    comparison: Comparison

    @property
    def ok(self) -> bool:
        api = verdict(self.comparison.api)
        return (self.comparison.verdict, api) == (self.case.expect, self.case.expect_api)


def load_cases(path: Path = CASES) -> list[Case]:
    """The fixture cases in path, each checked for a name, a patch and known classes."""
    try:
        cases = [Case(**entry) for entry in yaml.safe_load(path.read_text(encoding="utf-8"))]
    except (OSError, yaml.YAMLError, TypeError) as error:
        raise SpecDiffError(f"cannot read the fixture cases in {path}: {error}") from None
    classes = (*SEVERITIES, NO_CHANGE)
    for case in cases:
        if case.expect not in classes or case.expect_api not in classes:
            raise SpecDiffError(f"fixture case {case.name!r}: expect one of {', '.join(classes)}")
    if not cases:
        raise SpecDiffError(f"no fixture case in {path}")
    return cases


def apply_patch(document: Any, operations: Sequence[dict[str, Any]]) -> Any:
    """A copy of document with JSON Patch (RFC 6902) add, remove and replace operations applied.

    Stricter than RFC 6902: `add` never replaces a member that exists, so a fixture case whose
    edit the spec has meanwhile made fails instead of comparing the spec with itself.
    """
    document = copy.deepcopy(document)
    for operation in operations:
        op, pointer = operation.get("op"), str(operation.get("path", ""))
        if op not in ("add", "remove", "replace"):
            raise SpecDiffError(f"JSON Patch op {op!r} is not supported (add, remove, replace)")
        *keys, last = [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")]
        parent = document
        try:
            for key in keys[1:]:
                parent = parent[int(key)] if isinstance(parent, list) else parent[key]
        except (KeyError, IndexError, ValueError, TypeError):
            raise SpecDiffError(f"JSON Patch: nothing at {pointer!r}") from None
        value = copy.deepcopy(operation.get("value"))
        if isinstance(parent, list):
            size = len(parent) + (op == "add")  # add may insert after the last item
            index = len(parent) if op == "add" and last == "-" else int_or(last, size)
            if not 0 <= index < size:
                raise SpecDiffError(f"JSON Patch: nothing at {pointer!r}")
            if op == "add":
                parent.insert(index, value)
            elif op == "remove":
                del parent[index]
            else:
                parent[index] = value
        elif isinstance(parent, dict):
            if op == "add" and last in parent:
                raise SpecDiffError(f"JSON Patch: {pointer!r} exists already; add never overwrites")
            if op != "add" and last not in parent:
                raise SpecDiffError(f"JSON Patch: nothing at {pointer!r}")
            if op == "remove":
                del parent[last]
            else:
                parent[last] = value
        else:
            raise SpecDiffError(f"JSON Patch: nothing at {pointer!r}")
    return document


def int_or(text: str, default: int) -> int:
    return int(text) if text.isdigit() else default


def run_cases(
    cases: Sequence[Case], jobs: int = DEFAULT_JOBS, repo: Path = ROOT
) -> list[CaseResult]:
    """Classify every case: its patch on a copy of the spec in repo's working tree."""
    tree = WorkingTree(repo)
    spec = load_spec(tree.read(SPEC) or "", "the working tree")
    config = tree.read(GENERATOR_CONFIG) or ""
    sides = []
    for case in cases:
        try:
            before = apply_patch(spec, case.setup)
            after = apply_patch(before, case.patch)
        except SpecDiffError as error:
            raise SpecDiffError(f"fixture case {case.name!r}: {error}") from None
        sides.append((before, after))
    texts = [(dump(before), dump(after)) for before, after in sides]
    with tempfile.TemporaryDirectory(prefix="spec-diff-") as tmp, ThreadPoolExecutor(jobs) as pool:
        work = Path(tmp)
        api = pool.submit(run_api_smart_diff, sides)
        # Cases without a setup share one "before" client.
        clients: dict[str, Future[Path]] = {}
        for text in (text for pair in texts for text in pair):
            if text not in clients:
                folder = work / f"client-{len(clients)}"
                clients[text] = pool.submit(generate_client, text, config, folder)
        results = []
        for case, diffs, (before, after) in zip(cases, api.result(), texts, strict=True):
            comparison = Comparison(api=api_changes(diffs))
            comparison.client = client_changes(clients[before].result(), clients[after].result())
            results.append(CaseResult(case, comparison))
    return results


def dump(spec: dict[str, Any]) -> str:
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100)


# --- commands ---------------------------------------------------------------------------------


def command_diff(repo: Path, base: str | None, jobs: int) -> int:
    base = base or last_release_tag(repo) or "HEAD~1"
    started = time.monotonic()
    comparison, base_version = compare_refs(repo, base, jobs)
    head_version, source = read_version(WorkingTree(repo))
    ok, version_text = version_verdict(base_version, head_version, comparison.verdict)
    sys.stdout.write(changelog(comparison.changes))
    sys.stdout.flush()
    counts = ", ".join(
        f"{sum(change.severity == severity for change in comparison.changes)} {severity}"
        for severity in SEVERITIES
    )
    say(f"{SPEC} at {base} -> working tree: {counts} ({time.monotonic() - started:.1f} s)")
    for note in comparison.notes:
        say(note)
    say(version_text if ok else f"{version_text}: set it in {source}")
    return 0 if ok else 1


def command_fixtures(repo: Path, cases_path: Path, jobs: int, show: Callable[[str], None]) -> int:
    started = time.monotonic()
    cases = load_cases(cases_path)
    results = run_cases(cases, jobs, repo)
    width = max(len(case.name) for case in cases)
    for result in results:
        got = f"{result.comparison.verdict} (API alone: {verdict(result.comparison.api)})"
        if result.ok:
            show(f"  ok    {result.case.name:<{width}}  {got}")
        else:
            want = f"{result.case.expect} (API alone: {result.case.expect_api})"
            show(f"  FAIL  {result.case.name:<{width}}  expected {want}, got {got}")
            for change in result.comparison.changes:
                show(f"          {change.markdown()}")
    passed = sum(result.ok for result in results)
    say(
        f"{passed} of {len(results)} fixture cases classified as expected "
        f"({time.monotonic() - started:.1f} s)"
    )
    return 0 if passed == len(results) else 1


def command_check_compat(repo: Path, cases_path: Path, jobs: int) -> int:
    tag = last_release_tag(repo)
    if tag:
        say(f"against the last release tag, {tag}")
        return command_diff(repo, tag, jobs)
    say(f"no release tag ({RELEASE_TAGS}) yet: checking the fixture cases of {rel(cases_path)}")
    return command_fixtures(repo, cases_path, jobs, say)


def say(message: str) -> None:
    sys.stdout.flush()  # what was printed before comes before
    print(f"spec-diff: {message}", file=sys.stderr)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def main(argv: Sequence[str] | None = None) -> int:
    repo = argparse.ArgumentParser(add_help=False)
    repo.add_argument("--repo", type=Path, default=ROOT, help="the git repository (default: this)")
    cases = argparse.ArgumentParser(add_help=False)
    cases.add_argument("--cases", type=Path, default=CASES, help="the fixture cases (YAML)")
    parser = argparse.ArgumentParser(prog="spec_diff.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help="generations at once")
    commands = parser.add_subparsers(dest="command", required=True)
    diff = commands.add_parser("diff", parents=[repo], help="compare BASE with the working tree")
    diff.add_argument("--base", help="a git ref (default: the last v* tag, else HEAD~1)")
    commands.add_parser("fixtures", parents=[repo, cases], help="classify the fixture cases")
    commands.add_parser(
        "check-compat", parents=[repo, cases], help="diff against the last tag, else fixtures"
    )
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be 1 or more")
    # griffe warns about every base class it cannot see (Exception, StrEnum...): noise here.
    logging.getLogger("griffe").setLevel(logging.ERROR)
    try:
        if args.command == "diff":
            return command_diff(args.repo, args.base, args.jobs)
        if args.command == "fixtures":
            return command_fixtures(args.repo, args.cases, args.jobs, print)
        return command_check_compat(args.repo, args.cases, args.jobs)
    except SpecDiffError as error:
        say(f"error: {error}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
