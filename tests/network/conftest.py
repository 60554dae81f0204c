"""A sandbox whose storage speaks TLS with a throwaway CA, and a forward proxy."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from up42_sandbox import Sandbox

from .proxy import _Server, forward_proxy


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A certificate authority nobody trusts unless told to."""
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="module")
def tls_sandbox(ca: trustme.CA) -> Iterator[Sandbox]:
    """A sandbox whose signed URLs are https, with a certificate from ``ca``."""
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    with Sandbox(speed=40.0, storage_tls=server) as sandbox:
        yield sandbox


@pytest.fixture
def proxy() -> Iterator[_Server]:
    with forward_proxy() as server:
        yield server
