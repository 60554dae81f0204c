"""spec-diff classifies every fixture case of tests/compat/cases.yaml as the case expects."""

from __future__ import annotations

from typing import Any

import pytest

from .tool import spec_diff

CASES = spec_diff.load_cases()
# The cases issue 18 asks for; cases.yaml may hold more.
REQUIRED = {
    "remove an endpoint": "breaking",
    "remove a required response property": "breaking",
    "add a required parameter": "breaking",
    "narrow a request enum": "breaking",
    "add an optional response property": "non-breaking",
    "add an endpoint": "non-breaking",
    "add a status value": "breaking",
    "change only a description": "documentation-only",
}


def test_the_cases_cover_every_kind_of_change_the_issue_lists() -> None:
    expected = {case.name: case.expect for case in CASES}
    assert len(CASES) >= 8
    assert {name: expected.get(name) for name in REQUIRED} == REQUIRED


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_case_gets_the_class_it_expects(case: Any, classified: dict[str, Any]) -> None:
    comparison = classified[case.name].comparison
    assert comparison.changes, "the patch changed nothing spec-diff could see"
    assert spec_diff.verdict(comparison.api) == case.expect_api
    assert comparison.verdict == case.expect


@pytest.mark.slow
def test_a_removed_endpoint_is_listed_as_breaking_under_removed_for_the_api_and_the_client(
    classified: dict[str, Any],
) -> None:
    markdown = spec_diff.changelog(classified["remove an endpoint"].comparison.changes)
    assert markdown.startswith("### Removed\n\n")
    assert (
        "- **Breaking:** API: removed operation GET /projects/{project_id}/jobs/{job_id}/credits"
        in markdown.splitlines()
    )
    assert "- **Breaking:** Python client: `up42_jobs_client.api.credits_`" in markdown


@pytest.mark.slow
def test_a_lost_model_attribute_is_named_by_the_path_users_import(
    classified: dict[str, Any],
) -> None:
    client = classified["remove an optional response property"].comparison.client
    assert [change.text for change in client] == [
        "`up42_jobs_client.models.JobTask.block_version`: public object was removed"
    ]


@pytest.mark.slow
def test_a_new_required_parameter_names_each_generated_function_that_now_needs_it(
    classified: dict[str, Any],
) -> None:
    client = classified["add a required parameter"].comparison.client
    functions = {"sync", "sync_detailed", "asyncio", "asyncio_detailed"}
    assert {change.text for change in client} == {
        f"`up42_jobs_client.api.tasks.list_job_tasks.{name}(status)`: "
        "parameter was added as required"
        for name in functions
    }


@pytest.mark.slow
def test_an_optional_parameter_is_not_worded_as_required(classified: dict[str, Any]) -> None:
    (change,) = classified["add an optional parameter"].comparison.changes
    assert change.text.endswith("added query parameter `page`")


@pytest.mark.slow
def test_documentation_and_deprecation_get_their_own_markers_and_section(
    classified: dict[str, Any],
) -> None:
    documentation = spec_diff.changelog(classified["change only a description"].comparison.changes)
    deprecation = spec_diff.changelog(classified["deprecate an endpoint"].comparison.changes)
    assert documentation.startswith("### Changed\n\n- Documentation: API: ")
    assert deprecation.startswith("### Deprecated\n\n- API: ")
