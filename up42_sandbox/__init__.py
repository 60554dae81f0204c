"""A local, stateful stand-in of the UP42 job API, for tests, cassette recording and the demo.

Example:
    >>> from up42_sandbox import Sandbox
    >>> with Sandbox(speed=20) as sb:  # doctest: +SKIP
    ...     job_id = sb.create_job("succeeds")
"""

from __future__ import annotations

from ._faults import FAULT_KINDS, Fault
from ._records import RequestLog, RequestRecord
from ._sandbox import Sandbox

__all__ = ["FAULT_KINDS", "Fault", "RequestLog", "RequestRecord", "Sandbox"]
