"""A local, stateful stand-in of the UP42 job API, for tests, cassette recording and the demo.

It is a web server (Starlette on uvicorn) that a client of the API does not need, so its
dependencies come with the ``sandbox`` extra: ``pip install 'up42-facade[sandbox]'``.

Example:
    >>> from up42_sandbox import Sandbox
    >>> with Sandbox(speed=20) as sb:
    ...     job_id = sb.create_job("succeeds", start_status="SUCCEEDED")
    ...     sb.job_status(job_id)
    'SUCCEEDED'
"""

from __future__ import annotations

import importlib.util

# Checked before anything imports them: without the extra, say what to install instead of
# failing deep inside the server with a bare ModuleNotFoundError.
_SERVER_MODULES = ("starlette", "uvicorn", "PIL")
_missing = [name for name in _SERVER_MODULES if importlib.util.find_spec(name) is None]
if _missing:
    raise ModuleNotFoundError(
        f"the UP42 sandbox needs {', '.join(_missing)}, which come with the sandbox extra: "
        "pip install 'up42-facade[sandbox]'",
        name=_missing[0],
    )

from ._faults import FAULT_KINDS, Fault  # noqa: E402
from ._records import RequestLog, RequestRecord  # noqa: E402
from ._sandbox import Sandbox  # noqa: E402

__all__ = ["FAULT_KINDS", "Fault", "RequestLog", "RequestRecord", "Sandbox"]
