"""Hypothesis strategies for the bodies the spec's component schemas allow.

hypothesis-jsonschema would be the tool, but its 0.23.1 (the latest) cannot draw objects
with the installed hypothesis 6.170 (``AttributeError: 'many' object has no attribute
'more'``: it uses a private helper hypothesis has since changed). This module covers the
subset of JSON Schema the spec uses, and every drawn body is checked against the schema
with ``jsonschema`` before use, so a gap here fails loudly instead of testing less.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import yaml
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tests.conftest import SPEC_PATH

__all__ = ["SCHEMAS", "bodies", "resolved", "validator"]

# Keeps drawn documents small: the properties are about shapes, not sizes.
MAX_ITEMS = 4
MAX_EXTRA_PROPERTIES = 3

SCHEMAS: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))["components"][
    "schemas"
]

ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
FORMATS: dict[str, st.SearchStrategy[str]] = {
    "uuid": st.uuids().map(str),
    # RFC 3339 offsets are whole minutes (some historical zones have seconds too).
    "date-time": st.datetimes(
        timezones=st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
            lambda minutes: timezone(timedelta(minutes=minutes))
        )
    ).map(datetime.isoformat)
    | st.datetimes().map(lambda moment: moment.isoformat() + "Z"),
    "uri": st.from_regex(
        r"https://[a-z]{1,10}\.test/[a-z0-9/]{0,20}(\?[a-z]=[a-z0-9]{1,8})?", fullmatch=True
    ),
}
SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "integer": st.integers(),
    "number": st.integers() | st.floats(allow_nan=False, allow_infinity=False),
    "string": st.text(),
}


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


def _strategy(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return st.one_of([_strategy(branch) for branch in schema[combinator]])
    kinds = schema.get("type")
    if kinds is None:
        return ANY_JSON
    if isinstance(kinds, list):
        return st.one_of([_strategy({**schema, "type": kind}) for kind in kinds])
    if kinds == "object":
        return _object(schema)
    if kinds == "array":
        return st.lists(
            _strategy(schema.get("items", {})),
            min_size=schema.get("minItems", 0),
            max_size=schema.get("maxItems", max(MAX_ITEMS, schema.get("minItems", 0))),
        )
    if kinds == "string" and schema.get("format") in FORMATS:
        return FORMATS[schema["format"]]
    return SCALARS[kinds]


def _object(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", ()))
    known = st.fixed_dictionaries(
        {name: _strategy(sub) for name, sub in properties.items() if name in required},
        optional={name: _strategy(sub) for name, sub in properties.items() if name not in required},
    )
    if schema.get("additionalProperties", True) is False:
        return known
    extra = st.dictionaries(
        st.text(max_size=12).filter(lambda key: key not in properties),
        ANY_JSON,
        max_size=MAX_EXTRA_PROPERTIES,
    )
    return st.tuples(known, extra).map(lambda parts: {**parts[1], **parts[0]})


def bodies(name: str) -> st.SearchStrategy[Any]:
    """Documents the component schema ``name`` allows (each one validated against it)."""
    check = validator(name)

    def valid(document: Any) -> Any:
        errors = [error.message for error in check.iter_errors(document)]
        assert not errors, f"the strategy drew a {name} the spec refuses: {errors}"
        return document

    return _strategy(resolved(name)).map(valid)
