"""Run one benchmark client in its own process and report its time and peak memory.

``measure`` starts a command (under GNU time, for a per-client peak RSS), waits for it,
and reads the child's JSON report from stdout when it measured itself.
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
from pathlib import Path

__all__ = ["Measurement", "gnu_time", "measure", "python_child", "report", "run_once"]


@dataclass(frozen=True)
class Measurement:
    """Median seconds and peak RSS (MB) over several runs of one client."""

    seconds: float
    rss_mb: float
    runs: list[float]


GNU_TIME = "/usr/bin/time"


def gnu_time() -> str | None:
    """``/usr/bin/time`` if it is GNU time (``-f %M -o FILE``), else None."""
    if not Path(GNU_TIME).exists():
        return None
    with tempfile.NamedTemporaryFile() as out:
        done = subprocess.run(
            [GNU_TIME, "-f", "%M", "-o", out.name, "true"], capture_output=True, check=False
        )
        return GNU_TIME if done.returncode == 0 and out.read().strip().isdigit() else None


def run_once(
    command: list[str], env: dict[str, str] | None = None, timer: str | None = None
) -> tuple[float, float, float]:
    """Seconds (the child's own report, if it gives one), wall seconds and peak RSS (MB).

    Peak RSS comes from GNU time when there is one: ``wait4`` on a child of this process
    (which may hold a sandbox and its archives) reports at least this process's own RSS,
    because Linux keeps the forking process's high-water mark across ``exec``; GNU time's
    child is forked from a small process. Without GNU time the inflated ``wait4`` figure
    is all there is.
    """
    with tempfile.NamedTemporaryFile() as rss, tempfile.TemporaryFile() as errors:
        wrapped = [timer, "-f", "%M", "-o", rss.name, *command] if timer else command
        start = time.perf_counter()
        with subprocess.Popen(wrapped, stdout=subprocess.PIPE, stderr=errors, env=env) as process:
            assert process.stdout is not None
            output = process.stdout.read().decode()
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - start
            process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            tail = errors.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"benchmark client failed: {' '.join(command)}\n{tail}")
        # Both GNU time's %M and Linux's ru_maxrss are in KiB.
        peak_kib = float(rss.read().split()[-1]) if timer else float(usage.ru_maxrss)
    lines = output.strip().splitlines()
    reported = float(json.loads(lines[-1])["seconds"]) if lines and lines[-1][:1] == "{" else wall
    return reported, wall, peak_kib / 1024


def measure(command: list[str], runs: int, *, env: dict[str, str] | None = None) -> Measurement:
    """Run ``command`` ``runs`` times; time is the child's own report when it gives one.

    A Python client reports the seconds of the operation itself (``report``), so
    interpreter start-up is not charged to it; other commands (curl, tar) are
    timed from outside, start-up included, which only favours the baseline.
    """
    timer = gnu_time()
    results = [run_once(command, env, timer) for _ in range(runs)]
    times = [seconds for seconds, _, _ in results]
    return Measurement(
        seconds=statistics.median(times), rss_mb=max(rss for _, _, rss in results), runs=times
    )


def python_child(module: str, *args: str) -> list[str]:
    """The command that runs ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def report(seconds: float) -> None:
    """Print the child's own measurement as the last stdout line (read by ``measure``)."""
    print(json.dumps({"seconds": seconds}), flush=True)
