"""Hypothesis strategies for the bodies the spec's component schemas allow.

hypothesis-jsonschema draws the documents from each component schema with every
``$ref`` inlined; every drawn body is also checked with ``jsonschema`` (formats
included) before use, so a strategy that strays from the spec fails loudly.
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

from tests.conftest import SPEC_PATH

__all__ = ["SCHEMAS", "bodies", "resolved", "validator"]

# Formats the spec uses that hypothesis-jsonschema does not draw by itself.
CUSTOM_FORMATS: dict[str, st.SearchStrategy[str]] = {"uuid": st.uuids().map(str)}

SCHEMAS: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))["components"][
    "schemas"
]


def resolved(name: str) -> dict[str, Any]:
    """The component schema ``name`` with every ``$ref`` replaced by what it points to."""

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(SCHEMAS[node["$ref"].rsplit("/", 1)[-1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    schema: dict[str, Any] = inline(SCHEMAS[name])
    return schema


def validator(name: str) -> Draft202012Validator:
    """A validator of the resolved schema that checks formats too."""
    return Draft202012Validator(resolved(name), format_checker=Draft202012Validator.FORMAT_CHECKER)


def bodies(name: str) -> st.SearchStrategy[Any]:
    """Documents the component schema ``name`` allows (each one validated against it)."""
    check = validator(name)

    def valid(document: Any) -> Any:
        errors = [error.message for error in check.iter_errors(document)]
        assert not errors, f"the strategy drew a {name} the spec refuses: {errors}"
        return document

    return from_schema(resolved(name), custom_formats=CUSTOM_FORMATS).map(valid)
