"""The spec is valid, its examples obey its schemas, and the generated models read them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import up42_jobs_client.models as models
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.conftest import SPEC_PATH

JSON_TYPES = ("application/json", "application/problem+json", "text/plain", "text/html")


def response_examples(spec: dict[str, Any]) -> Iterator[tuple[str, str, Any, Any]]:
    """(where, media type, schema, example) for every example of every response."""
    responses = dict(spec["components"]["responses"])
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for status, response in operation["responses"].items():
                if "$ref" in response:
                    continue  # component responses are walked once below
                responses[f"{method.upper()} {path} {status}"] = response
    for where, response in responses.items():
        for media_type, media in response.get("content", {}).items():
            if "example" in media:
                yield where, media_type, media["schema"], media["example"]
            for name, example in media.get("examples", {}).items():
                yield f"{where} ({name})", media_type, media["schema"], example["value"]


def validator_for(spec: dict[str, Any], schema: dict[str, Any]) -> OAS31Validator:
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:spec", resource)
    rooted = (
        {**schema, "$ref": schema["$ref"].replace("#", "urn:spec#")} if "$ref" in schema else schema
    )
    return OAS31Validator(rooted, registry=registry)


def test_the_spec_is_valid_openapi_3_1() -> None:
    validate(__import__("yaml").safe_load(SPEC_PATH.read_text(encoding="utf-8")))


def test_every_response_has_an_example_except_binary_images(spec: dict[str, Any]) -> None:
    missing = []
    for name, response in spec["components"]["responses"].items():
        for media_type, media in response["content"].items():
            binary = media["schema"].get("format") == "binary"
            if not binary and "example" not in media and "examples" not in media:
                missing.append(f"{name} {media_type}")
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for status, response in operation["responses"].items():
                for media_type, media in response.get("content", {}).items():
                    if media_type.startswith("image/"):
                        continue
                    if "example" not in media and "examples" not in media:
                        missing.append(f"{method} {path} {status} {media_type}")
    assert missing == []


def test_every_example_validates_against_its_own_schema(spec: dict[str, Any]) -> None:
    checked = 0
    for where, media_type, schema, example in response_examples(spec):
        assert media_type in JSON_TYPES, where
        try:
            validator_for(spec, schema).validate(example)
        except ValidationError as exc:
            pytest.fail(f"{where}: {exc.message} at {list(exc.absolute_path)}")
        checked += 1
    assert checked >= 20


def test_a_wrong_example_would_be_caught(spec: dict[str, Any]) -> None:
    """The validator really resolves the schemas: a Polygon typed as Point fails."""
    schema = {"$ref": "#/components/schemas/Feature"}
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [[[13.3, 52.4], [13.4, 52.4]]]},
        "properties": {},
    }
    with pytest.raises(ValidationError):
        validator_for(spec, schema).validate(feature)


def schema_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref else None


def test_every_json_example_parses_through_the_generated_models_and_round_trips(
    spec: dict[str, Any],
) -> None:
    parsed = 0
    for where, media_type, schema, example in response_examples(spec):
        name = schema_name(schema)
        if media_type != "application/json" or name is None:
            continue
        model = getattr(models, name)
        instance = model.from_dict(example)
        again = model.from_dict(instance.to_dict())
        assert again == instance, where
        parsed += 1
    assert parsed >= 15


def test_a_job_with_an_unknown_status_and_extra_fields_parses(spec: dict[str, Any]) -> None:
    job_examples = spec["paths"]["/projects/{project_id}/jobs/{job_id}"]["get"]["responses"]["200"]
    example = job_examples["content"]["application/json"]["examples"]["future_status"]["value"]
    envelope = models.JobEnvelope.from_dict(example)
    assert envelope.data.status == "QUEUED_FOR_REVIEW"
    assert envelope.data.additional_properties == {"priority": "high"}
    assert envelope.data.finished_at is None
    assert envelope.to_dict()["data"]["priority"] == "high"


def test_known_statuses_parse_to_the_generated_enum(spec: dict[str, Any]) -> None:
    statuses = spec["components"]["schemas"]["KnownJobStatus"]["enum"]
    assert statuses == [
        "NOT STARTED", "PENDING", "RUNNING", "SUCCEEDED",
        "FAILED", "ERROR", "CANCELLED", "CANCELLING",
    ]  # fmt: skip
    for status in statuses:
        job = models.Job.from_dict({"id": "d62c27c0-24e9-433d-b509-ae080504d5c6", "status": status})
        assert job.status == status


def test_a_polygon_never_parses_as_a_point() -> None:
    feature = models.Feature.from_dict(
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
            "properties": {"uid": "x"},
        }
    )
    assert isinstance(feature.geometry, models.Polygon)


def test_error_envelopes_take_an_object_or_a_string() -> None:
    as_object = models.ErrorEnvelope.from_dict(
        {"data": None, "error": {"code": 404, "message": "gone"}}
    )
    assert isinstance(as_object.error, models.ErrorDetail)
    as_string = models.ErrorEnvelope.from_dict({"data": {}, "error": "Access denied"})
    assert as_string.error == "Access denied"
