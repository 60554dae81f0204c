"""scripts/spec_diff.py as make runs it, on throwaway git repositories: output and exit codes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from .tool import spec_diff

ROOT = spec_diff.ROOT
CREDITS = "/projects/{project_id}/jobs/{job_id}/credits"
FACADE_INIT = """
    \"\"\"A stand-in for the facade: two public names.\"\"\"

    from ._impl import initialize_job, initialize_jobtask

    __all__ = ["initialize_job", "initialize_jobtask"]
"""
FACADE_IMPL = """
    def initialize_job(job_id):
        return job_id

    def initialize_jobtask(job_id, task_id):
        return task_id
"""


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "spec_diff.py"), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def set_version(repo: Path, version: str) -> None:
    (repo / "pyproject.toml").write_text(f'[project]\nname = "demo"\nversion = "{version}"\n')


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with this project's spec and generator config, and a small facade."""
    (tmp_path / "openapi").mkdir()
    for name in ("up42-jobs.yaml", "generator.yaml"):
        (tmp_path / "openapi" / name).write_bytes((ROOT / "openapi" / name).read_bytes())
    (tmp_path / "up42_facade").mkdir()
    (tmp_path / "up42_facade" / "__init__.py").write_text(textwrap.dedent(FACADE_INIT))
    (tmp_path / "up42_facade" / "_impl.py").write_text(textwrap.dedent(FACADE_IMPL))
    set_version(tmp_path, "0.1.0")
    git(tmp_path, "init", "--quiet")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "--quiet", "-m", "0.1.0")
    return tmp_path


def drop_from_all(repo: Path, name: str) -> None:
    init = repo / "up42_facade" / "__init__.py"
    init.write_text(init.read_text().replace(f', "{name}"', ""))


def test_an_unknown_base_is_one_line_of_error_and_exit_code_2() -> None:
    result = run("diff", "--base", "no-such-ref-anywhere")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"spec-diff: error: unknown git ref 'no-such-ref-anywhere': "
        f"give BASE as a tag, branch or commit of {ROOT}"
    ]


def test_a_breaking_change_without_a_minor_bump_exits_1_and_with_one_exits_0(repo: Path) -> None:
    git(repo, "tag", "v0.1.0")
    drop_from_all(repo, "initialize_jobtask")

    unbumped = run("diff", "--repo", repo)
    assert unbumped.returncode == 1, unbumped.stderr
    assert unbumped.stdout == (
        "### Removed\n\n"
        "- **Breaking:** up42_facade: `up42_facade.initialize_jobtask` is no longer public\n"
    )
    assert "openapi/up42-jobs.yaml at v0.1.0 -> working tree: 1 breaking" in unbumped.stderr
    assert "must be at least 0.2.0 (a minor bump before 1.0): set it in pyproject.toml" in (
        unbumped.stderr
    )

    set_version(repo, "0.2.0")
    bumped = run("diff", "--repo", repo)
    assert bumped.returncode == 0, bumped.stderr
    assert bumped.stdout == unbumped.stdout
    assert "version 0.1.0 -> 0.2.0: the breaking changes are covered" in bumped.stderr


def test_without_a_release_tag_the_base_is_the_previous_commit(repo: Path) -> None:
    (repo / "NOTES").write_text("nothing the API cares about\n")
    git(repo, "add", "NOTES")
    git(repo, "commit", "--quiet", "-m", "notes")

    result = run("diff", "--repo", repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("No change to the API")
    assert "openapi/up42-jobs.yaml at HEAD~1 -> working tree" in result.stderr
    assert "same spec and generator config: the generated client is unchanged" in result.stderr


@pytest.mark.slow
def test_check_compat_diffs_against_the_last_release_tag_and_names_generated_client_breakages(
    repo: Path,
) -> None:
    git(repo, "tag", "v0.1.0")
    spec_file = repo / "openapi" / "up42-jobs.yaml"
    spec = yaml.safe_load(spec_file.read_text())
    del spec["paths"][CREDITS]
    spec_file.write_text(yaml.safe_dump(spec, sort_keys=False))

    result = run("check-compat", "--repo", repo)
    assert result.returncode == 1, result.stderr
    assert "spec-diff: against the last release tag, v0.1.0" in result.stderr
    assert result.stdout.splitlines()[:4] == [
        "### Removed",
        "",
        f"- **Breaking:** API: removed operation GET {CREDITS}",
        "- **Breaking:** Python client: `up42_jobs_client.api.credits_`: public object was removed",
    ]


@pytest.mark.slow
def test_check_compat_without_a_tag_fails_when_a_fixture_case_is_misclassified(
    repo: Path, tmp_path: Path
) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "a description change claimed to break",
                    "patch": [{"op": "replace", "path": "/info/summary", "value": "Other words."}],
                    "expect": "breaking",
                    "expect_api": "breaking",
                }
            ]
        )
    )
    result = run("check-compat", "--repo", repo, "--cases", cases)
    assert result.returncode == 1, result.stderr
    assert "no release tag (v*) yet: checking the fixture cases of" in result.stderr
    assert (
        "FAIL  a description change claimed to break  expected breaking (API alone: breaking), "
        "got documentation-only (API alone: documentation-only)"
    ) in result.stderr
    assert "0 of 1 fixture cases classified as expected" in result.stderr
