"""Run one benchmark client in its own process and report its time and peak memory.

``measure`` starts a command, waits for it with ``os.wait4`` (which gives that child's
own resource usage, so peak RSS is per client, not per benchmark run), and reads the
child's JSON report from stdout when it measured itself.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

__all__ = ["Measurement", "measure", "python_child", "report"]


@dataclass(frozen=True)
class Measurement:
    """Median seconds and peak RSS (MB) over several runs of one client."""

    seconds: float
    rss_mb: float
    runs: list[float]


def _run_once(command: list[str], env: dict[str, str] | None) -> tuple[float, float, str]:
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=env)
        assert process.stdout is not None
        output = process.stdout.read().decode()
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            tail = errors.read().decode(errors="replace")[-2000:]
            raise RuntimeError(
                f"benchmark client failed ({process.returncode}): {' '.join(command)}\n{tail}"
            )
    # Linux reports ru_maxrss in KiB.
    return elapsed, usage.ru_maxrss / 1024, output


def measure(command: list[str], runs: int, *, env: dict[str, str] | None = None) -> Measurement:
    """Run ``command`` ``runs`` times; time is the child's own report when it gives one.

    A Python client reports the seconds of the operation itself (``report``), so
    interpreter start-up is not charged to it; other commands (curl, tar) are
    timed from outside, start-up included, which only favours the baseline.
    """
    times, peaks = [], []
    for _ in range(runs):
        elapsed, rss, output = _run_once(command, env)
        reported = output.strip().splitlines()[-1] if output.strip() else ""
        if reported.startswith("{"):
            elapsed = float(json.loads(reported)["seconds"])
        times.append(elapsed)
        peaks.append(rss)
    return Measurement(seconds=statistics.median(times), rss_mb=max(peaks), runs=times)


def python_child(module: str, *args: str) -> list[str]:
    """The command that runs ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def report(seconds: float) -> None:
    """Print the child's own measurement as the last stdout line (read by ``measure``)."""
    print(json.dumps({"seconds": seconds}), flush=True)
