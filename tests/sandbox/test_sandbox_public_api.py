"""The package's public surface is exactly what other code is written against."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import up42_sandbox
from up42_sandbox import Sandbox


def test_the_package_exports_exactly_its_public_names() -> None:
    assert sorted(up42_sandbox.__all__) == [
        "FAULT_KINDS",
        "Fault",
        "RequestLog",
        "RequestRecord",
        "Sandbox",
    ]
    assert {
        "rate_limit",
        "error",
        "delay",
        "malformed_json",
        "wrong_content_type",
        "unknown_status",
        "body",
        "drop",
        "ignore_range",
        "expired_url",
        "corrupt",
    } == set(up42_sandbox.FAULT_KINDS)


def test_the_sandbox_keeps_the_signatures_other_code_relies_on() -> None:
    init = inspect.signature(Sandbox)
    assert {"speed", "token_ttl", "url_ttl", "host", "seed"} <= set(init.parameters)
    assert init.parameters["speed"].default == 1.0
    assert init.parameters["token_ttl"].default == 300.0
    assert init.parameters["url_ttl"].default == 3600.0
    assert init.parameters["host"].default == "127.0.0.1"
    create = inspect.signature(Sandbox.create_job).parameters
    assert create["outcome"].default == "succeeds"
    expected = {
        "name": "Demo job_py",
        "mode": "DEFAULT",
        "tasks": 2,
        "duration": 6.0,
        "features": 3,
        "padding": 0,
        "archive": "tgz",
        "archive_root": "output/",
        "hostile": None,
        "status": None,
        "credits": 100,
        "start_status": None,
    }
    assert {name: create[name].default for name in expected} == expected
    inject = inspect.signature(Sandbox.inject).parameters
    assert [inject[n].default for n in ("count", "job_id", "path", "method")] == [
        1,
        None,
        None,
        None,
    ]
    for member in ("job_status", "clear_faults", "expire_tokens", "archive_path", "task_ids"):
        assert callable(getattr(Sandbox, member))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"outcome": "explodes"}, "outcome must be one of"),
        ({"tasks": 0}, "at least one task"),
        ({"archive": "rar"}, "archive must be"),
        ({"hostile": "nasty"}, "hostile must be"),
        ({"start_status": "QUEUED"}, "start_status must be"),
        ({"archive": "zip", "hostile": "hardlink"}, "cannot hold hard links"),
    ],
)
def test_bad_job_settings_are_refused_with_a_clear_message(
    sandbox: Sandbox, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        sandbox.create_job(**kwargs)
