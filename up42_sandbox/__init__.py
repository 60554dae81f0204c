"""A local, stateful stand-in of the UP42 job API, for tests, cassette recording and the demo.

It is a web server (Starlette on uvicorn) that a client of the API does not need, so its
dependencies come with the ``sandbox`` extra: ``pip install 'up42-facade[sandbox]'``.

Examples:
    >>> from up42_sandbox import Sandbox
    >>> with Sandbox(speed=20) as sb:
    ...     job_id = sb.create_job("succeeds", start_status="SUCCEEDED")
    ...     sb.job_status(job_id)
    'SUCCEEDED'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._extra import require_server

if TYPE_CHECKING:
    from ._faults import FAULT_KINDS, Fault
    from ._records import RequestLog, RequestRecord
    from ._sandbox import Sandbox

__all__ = ["FAULT_KINDS", "Fault", "RequestLog", "RequestRecord", "Sandbox"]

# Loaded on first use, after checking the extra: without it, the error says what to install
# instead of failing deep inside the server with a bare ModuleNotFoundError.
_LAZY = {
    "FAULT_KINDS": "._faults",
    "Fault": "._faults",
    "RequestLog": "._records",
    "RequestRecord": "._records",
    "Sandbox": "._sandbox",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        require_server()
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
