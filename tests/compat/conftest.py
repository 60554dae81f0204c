"""The fixture cases, classified once for every test that asks about them."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from .tool import spec_diff


@pytest.fixture(scope="session")
def classified() -> dict[str, Any]:
    """Every case of tests/compat/cases.yaml run through spec-diff, by case name.

    About 30 s on two cores (13 clients generated): the tests that use it are marked slow.
    """
    logging.getLogger("griffe").setLevel(logging.ERROR)
    results = spec_diff.run_cases(spec_diff.load_cases())
    return {result.case.name: result for result in results}
