"""docs/api-changes.md shows what the tools do: its worked example runs here, its table holds the
cases."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from .tool import spec_diff

GUIDE = spec_diff.ROOT / "docs" / "api-changes.md"
WORKED_EXAMPLE = "add an optional response property"


def fenced_block_after(marker: str) -> tuple[str, str]:
    """The argument of an HTML comment marker in the guide, and the fenced block right after it."""
    found = re.search(
        rf"<!-- {marker}:? ?(\S*) -->\n```\w+\n(.*?)```", GUIDE.read_text(), re.DOTALL
    )
    assert found, f"no <!-- {marker} --> before a fenced block in {GUIDE}"
    return found[1], found[2]


def test_the_worked_example_edits_the_spec_as_its_fixture_case_does() -> None:
    where, block = fenced_block_after("worked-example-edit")
    ((name, value),) = yaml.safe_load(block).items()
    (case,) = [case for case in spec_diff.load_cases() if case.name == WORKED_EXAMPLE]
    assert case.setup == []
    assert case.patch == [{"op": "add", "path": f"{where}/{name}", "value": value}]


@pytest.mark.slow
def test_the_worked_example_prints_the_markdown_the_guide_shows(
    classified: dict[str, Any],
) -> None:
    _, shown = fenced_block_after("worked-example-output")
    comparison = classified[WORKED_EXAMPLE].comparison
    assert comparison.verdict == spec_diff.NON_BREAKING
    assert spec_diff.changelog(comparison.changes) == shown


def test_the_guide_has_a_row_with_the_class_of_every_fixture_case() -> None:
    guide = GUIDE.read_text()
    for case in spec_diff.load_cases():
        assert f"| {case.name} | {case.expect} | {case.expect_api} |" in guide, case.name
