"""Shared fixtures: the spec, and paths every test module may need."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi" / "up42-jobs.yaml"
# The client honours these as httpx does; the tests talk to 127.0.0.1 and set them themselves.
NETWORK_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


@pytest.fixture(autouse=True)
def _no_proxy_or_ca_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start from a network environment of their own, whatever the machine has set."""
    for name in NETWORK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    """The OpenAPI spec as plain data."""
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def pyplot() -> Iterator[Any]:
    """matplotlib's pyplot drawing into memory (no window, whatever the machine's setup)."""
    matplotlib = pytest.importorskip("matplotlib", reason="the viz extra is not installed")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")
