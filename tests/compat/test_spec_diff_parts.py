"""The parts of spec-diff that need no generated client: version rule, patches, wording, griffe."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from .tool import spec_diff

BREAKING, NON_BREAKING = spec_diff.BREAKING, spec_diff.NON_BREAKING


@pytest.mark.parametrize(
    ("base", "head", "severity", "ok"),
    [
        ("0.1.0", "0.1.0", BREAKING, False),
        ("0.1.0", "0.1.1", BREAKING, False),
        ("0.1.0", "0.2.0", BREAKING, True),
        ("0.1.0", "1.0.0", BREAKING, True),
        ("1.2.3", "1.3.0", BREAKING, False),
        ("1.2.3", "2.0.0", BREAKING, True),
        ("0.1.0", "0.1.0", NON_BREAKING, True),
        ("0.1.0", "0.1.0", spec_diff.DOCUMENTATION, True),
        ("0.1.0", "0.1.0", spec_diff.NO_CHANGE, True),
    ],
)
def test_a_breaking_change_needs_a_minor_bump_before_1_0_and_a_major_one_after(
    base: str, head: str, severity: str, ok: bool
) -> None:
    assert spec_diff.version_verdict(base, head, severity)[0] is ok


def test_the_version_verdict_names_the_least_version_that_would_do() -> None:
    ok, message = spec_diff.version_verdict("0.3.1", "0.3.2", BREAKING)
    assert not ok
    assert "at least 0.4.0 (a minor bump before 1.0)" in message


def test_the_version_comes_from_the_file_pyproject_names(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndynamic = ["version"]\n\n'
        '[tool.hatch.version]\npath = "pkg/_version.py"\n'
    )
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "_version.py").write_text('"""v"""\n\n__version__ = "0.4.2"\n')
    assert spec_diff.read_version(spec_diff.WorkingTree(tmp_path)) == ("0.4.2", "pkg/_version.py")


def test_this_project_keeps_its_version_in_one_place() -> None:
    version, source = spec_diff.read_version(spec_diff.WorkingTree(spec_diff.ROOT))
    assert source == "up42_facade/_version.py"
    assert f'__version__ = "{version}"' in (spec_diff.ROOT / source).read_text()
    assert "\nversion =" not in (spec_diff.ROOT / "pyproject.toml").read_text()


def test_a_json_patch_adds_removes_and_replaces_without_touching_the_original() -> None:
    original = {"a": {"b/c": [1, 2]}, "d": "x"}
    patched = spec_diff.apply_patch(
        original,
        [
            {"op": "add", "path": "/a/b~1c/-", "value": 3},
            {"op": "add", "path": "/a/b~1c/0", "value": 0},
            {"op": "remove", "path": "/d"},
            {"op": "replace", "path": "/a/b~1c/1", "value": 10},
            {"op": "add", "path": "/e", "value": {"f": True}},
        ],
    )
    assert patched == {"a": {"b/c": [0, 10, 2, 3]}, "e": {"f": True}}
    assert original == {"a": {"b/c": [1, 2]}, "d": "x"}


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        ({"op": "remove", "path": "/a/missing"}, "nothing at '/a/missing'"),
        ({"op": "replace", "path": "/list/5", "value": 1}, "nothing at '/list/5'"),
        ({"op": "add", "path": "/a/b", "value": 1}, "'/a/b' exists already"),
        ({"op": "move", "path": "/a", "from": "/b"}, "'move' is not supported"),
    ],
)
def test_a_patch_that_does_not_fit_the_spec_fails_with_what_it_missed(
    operation: dict[str, object], message: str
) -> None:
    with pytest.raises(spec_diff.SpecDiffError, match=message):
        spec_diff.apply_patch({"a": {"b": 0}, "list": [1]}, [operation])


def test_dereferencing_writes_every_ref_out_and_leaves_a_cycle_alone() -> None:
    node = {"properties": {"next": {"$ref": "#/components/schemas/Node"}}}
    ok = {
        "description": "fine",
        "content": {"a": {"schema": {"$ref": "#/components/schemas/Node"}}},
    }
    spec = {
        "paths": {"/x": {"get": {"responses": {"200": {"$ref": "#/components/responses/Ok"}}}}},
        "components": {
            "responses": {"Ok": ok},
            "schemas": {"Node": node},
            "securitySchemes": {"bearer": {"type": "http"}},
        },
    }
    prepared = spec_diff.for_diff(spec)
    schema = prepared["paths"]["/x"]["get"]["responses"]["200"]["content"]["a"]["schema"]
    assert schema == {"properties": {"next": {"$ref": "#/components/schemas/Node"}}}
    assert prepared["components"] == {"securitySchemes": {"bearer": {"type": "http"}}}


def test_one_change_in_many_operations_is_one_entry_that_counts_them() -> None:
    def diff(operation: str, code: str) -> dict[str, object]:
        method, path = operation.split(" ")
        return {
            "type": "breaking",
            "action": "add",
            "path": ["paths", path, method.lower(), "responses", code, "content"],
            "description": f"[Added] property `x` in Response {code} content (application/json)",
        }

    operations = [f"GET /{name}" for name in "abcd"]
    changes = spec_diff.api_changes(
        [diff(operation, "500") for operation in operations] + [diff("POST /a", "400")]
    )
    content = "in Response {} content (application/json)"
    assert [(change.severity, change.section, change.text) for change in changes] == [
        ("breaking", "Added", f"added property `x` {content.format(500)} (4 operations)"),
        ("breaking", "Added", f"`POST /a`: added property `x` {content.format(400)}"),
    ]


def test_a_change_the_tool_cannot_classify_counts_as_breaking_and_asks_for_review() -> None:
    (change,) = spec_diff.api_changes(
        [{"type": "unclassified", "action": "replace", "path": ["x-extension"], "description": ""}]
    )
    assert change.severity == BREAKING
    assert (
        change.text
        == "changed `/x-extension` (api-smart-diff has no rule for this change: review it)"
    )


def test_no_change_says_so_instead_of_printing_empty_sections() -> None:
    assert spec_diff.changelog([]).startswith("No change to the API")


def write_package(folder: Path, init: str, impl: str) -> Path:
    package = folder / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(init))
    (package / "_impl.py").write_text(textwrap.dedent(impl))
    return folder


BASE_INIT = """
    from ._impl import Job, helper, start

    __all__ = ["Job", "helper", "start"]
"""
BASE_IMPL = """
    def start(job_id, report_time=30):
        return job_id

    def helper():
        return 1

    def _private(a):
        return a

    class Job:
        def track_status(self, report_time=30, *, poll_interval=5.0):
            return "SUCCEEDED"
"""


def test_griffe_reports_public_breakages_by_their_public_names_and_ignores_private_ones(
    tmp_path: Path,
) -> None:
    old = write_package(tmp_path / "old", BASE_INIT, BASE_IMPL)
    new = write_package(
        tmp_path / "new",
        """
            from ._impl import Job, helper, start, stop

            __all__ = ["Job", "start", "stop"]
        """,
        """
            def start(job_id, *, report_time=30):
                return job_id

            def stop(job_id):
                return job_id

            def helper():
                return 1

            def _private_renamed(a, b):
                return a

            class Job:
                def track_status(self, *, poll_interval=5.0):
                    return "SUCCEEDED"
        """,
    )
    changes = spec_diff.python_changes(
        spec_diff.load_package("pkg", old), spec_diff.load_package("pkg", new), "pkg"
    )
    assert sorted((change.severity, change.section, change.text) for change in changes) == [
        ("breaking", "Changed", "`pkg.Job.track_status(report_time)`: parameter was removed"),
        ("breaking", "Changed", "`pkg.start(report_time)`: parameter kind was changed"),
        ("breaking", "Removed", "`pkg.helper` is no longer public"),
        ("non-breaking", "Added", "`pkg.stop`"),
    ]


def test_an_unchanged_package_has_no_breakage(tmp_path: Path) -> None:
    old = write_package(tmp_path / "old", BASE_INIT, BASE_IMPL)
    new = write_package(
        tmp_path / "new", BASE_INIT, textwrap.dedent(BASE_IMPL) + "\ndef _more():\n    pass\n"
    )
    old_package = spec_diff.load_package("pkg", old)
    assert spec_diff.python_changes(old_package, spec_diff.load_package("pkg", new), "pkg") == []
