"""Import benchmark: ``python -c "import up42_facade"`` against ``python -c "import httpx"``.

Run ``python benchmarks/bench_import.py --runs 7`` (or ``python -m benchmarks.bench_import``)
for the row; ``run()`` gives it to ``python -m benchmarks``. httpx is the floor: the facade
talks HTTP through it, so importing the facade can never cost less. The row's
``difference_ms`` is what the facade adds on top; geopandas, matplotlib and folium must not
be part of it (they load on first use).

Each run starts both commands once, alternating, with the same interpreter and environment;
the time is each whole process from the outside (interpreter start-up included, equal on both
sides), the median over the runs is taken. One untimed run of each warms the disk cache and
the bytecode caches first. Peak RSS is each child's own high-water mark (``VmHWM``; see
``bench_dataframe`` for why not ``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["run"]

ROOT = Path(__file__).resolve().parent.parent
#: The issue's goal, checked by ``python -m benchmarks``.
GOAL = "<= +100 ms"
#: The child prints its own peak RSS in MB as its last line.
_REPORT_RSS = (
    "import sys\n"
    "try:\n"
    "    peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
    "    print(int(peak.split()[1]) / 1024)\n"
    "except OSError:\n"
    "    import resource\n"
    "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "    print(peak / (1 << 20) if sys.platform == 'darwin' else peak / 1024)\n"
)
SIDES = {"baseline": "httpx", "ours": "up42_facade"}


def _once(module: str) -> tuple[float, float]:
    """Seconds of one ``python -c "import module"`` process, and its peak RSS in MB."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-c", f"import {module}\n{_REPORT_RSS}"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"import {module} failed:\n{done.stderr[-2000:]}")
    return seconds, float(done.stdout.strip().splitlines()[-1])


def run(runs: int = 7) -> list[dict[str, Any]]:
    """Time both imports; return the table row.

    Args:
        runs: Processes per side; the row holds the median time and the highest peak RSS.

    Returns:
        One row with ``what, baseline_s, ours_s, ratio, difference_ms, baseline_rss_mb,
        ours_rss_mb``; ``ratio`` is ours over baseline.

    Raises:
        RuntimeError: An import failed.
    """
    for module in SIDES.values():
        _once(module)  # warm-up, untimed
    measured: dict[str, list[tuple[float, float]]] = {side: [] for side in SIDES}
    for _ in range(runs):
        for side, module in SIDES.items():
            measured[side].append(_once(module))
    seconds = {side: statistics.median(s for s, _ in measured[side]) for side in SIDES}
    return [
        {
            "what": "import up42_facade (process start-up included)",
            "baseline": "import httpx",
            "baseline_s": seconds["baseline"],
            "ours_s": seconds["ours"],
            "ratio": seconds["ours"] / seconds["baseline"],
            "ratio_kind": "time ratio",
            "difference_ms": (seconds["ours"] - seconds["baseline"]) * 1000,
            "goal": GOAL,
            "baseline_rss_mb": max(rss for _, rss in measured["baseline"]),
            "ours_rss_mb": max(rss for _, rss in measured["ours"]),
            "baseline_runs_s": [s for s, _ in measured["baseline"]],
            "ours_runs_s": [s for s, _ in measured["ours"]],
        }
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="processes per side (median taken)")
    options = parser.parse_args(argv)
    for row in run(runs=options.runs):
        print(
            f"{row['what']}: {row['ours_s'] * 1000:.0f} ms against {row['baseline']} "
            f"{row['baseline_s'] * 1000:.0f} ms, {row['difference_ms']:+.0f} ms "
            f"(goal {GOAL}); peak RSS {row['ours_rss_mb']:.0f} MB against "
            f"{row['baseline_rss_mb']:.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
