"""Download benchmarks: ours against curl, and download+unpack against ``curl | tar xz``.

Run ``python -m benchmarks.bench_download [--size-mb 256] [--runs 3]`` for the rows;
``run()`` gives them to ``python -m benchmarks``. A sandbox serves one archive of
``size_mb`` MiB of incompressible padding; every client runs in its own process
(``_child``), baseline and ours alternate, each run starts with an empty folder, and
each row holds the median time and the peak RSS of the runs. Our client reports the
time of the ``download_results`` call alone, as the other benchmarks do: a session pays
Python's start-up and imports once, not per download. curl and tar are timed from
outside, their start-up (a few ms) included. ``ours_process_s`` has our whole process,
start-up and imports included, for comparison.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._child import Measurement, gnu_time, python_child, report, run_once

__all__ = ["run"]

ROOT = Path(__file__).resolve().parent.parent
#: The issue's figure: a 256 MiB archive.
DEFAULT_SIZE_MB = 256
#: The goals of each row: the benchmarks issue's time for the download, issue #17's for
#: download and unpack, and issue #17's peak RSS for both.
GOAL_DOWNLOAD = "time ratio <= 1.25, RSS < 200 MB"
GOAL_UNPACK = "time ratio <= 0.5, RSS < 200 MB"
PIPELINE = 'set -o pipefail; curl -sSf "$0" | tar xz -C "$1"'


def _child(mode: str, url: str, dest: str, integrity: str) -> None:
    """One run of our client: ``download_results`` into ``dest`` (which is empty)."""
    from up42_facade._download import download_results
    from up42_facade._options import DownloadOptions

    assert integrity in ("auto", "all")
    start = time.perf_counter()
    files = download_results(
        lambda: url,
        Path(dest),
        unpacking=mode == "unpack",
        show_progress=False,
        options=DownloadOptions(integrity=integrity),  # type: ignore[arg-type]
    )
    elapsed = time.perf_counter() - start
    if not files or any(not Path(name).is_file() for name in files):
        raise SystemExit(f"the download wrote nothing usable: {files}")
    report(elapsed)


def _signed_url(base_url: str, project_id: str, key: str, job_id: str) -> str:
    """The job's signed URL, asked of the API the way a client does."""
    import httpx

    token = httpx.post(
        f"{base_url}/oauth/token",
        auth=(project_id, key),
        data={"grant_type": "client_credentials"},
    ).json()["access_token"]
    answer = httpx.get(
        f"{base_url}/projects/{project_id}/jobs/{job_id}/downloads/results/",
        headers={"Authorization": f"Bearer {token}"},
    )
    answer.raise_for_status()
    url: str = answer.json()["data"]["url"]
    return url


def _empty(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _side_by_side(
    baseline: list[str], ours: list[str], folders: tuple[Path, Path], runs: int, env: dict[str, str]
) -> tuple[Measurement, Measurement, float]:
    """Alternate baseline and ours ``runs`` times, each into an emptied folder."""
    timer = gnu_time()
    results: dict[str, list[tuple[float, float, float]]] = {"baseline": [], "ours": []}
    for _ in range(runs):
        for name, command, folder in (
            ("baseline", baseline, folders[0]),
            ("ours", ours, folders[1]),
        ):
            _empty(folder)
            results[name].append(run_once(command, env, timer))
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    summary = []
    for name in ("baseline", "ours"):
        times = [seconds for seconds, _, _ in results[name]]
        summary.append(
            Measurement(
                seconds=statistics.median(times),
                rss_mb=max(rss for _, _, rss in results[name]),
                runs=times,
            )
        )
    process_s = statistics.median(wall for _, wall, _ in results["ours"])
    return summary[0], summary[1], process_s


def _row(
    what: str, baseline_name: str, measured: tuple[Measurement, Measurement, float], goal: str
) -> dict[str, Any]:
    baseline, ours, process_s = measured
    return {
        "what": what,
        "baseline": baseline_name,
        "baseline_s": baseline.seconds,
        "ours_s": ours.seconds,
        "ratio": ours.seconds / baseline.seconds,
        "ratio_kind": "time ratio",
        "goal": goal,
        "baseline_rss_mb": baseline.rss_mb,
        "ours_rss_mb": ours.rss_mb,
        "baseline_runs_s": baseline.runs,
        "ours_runs_s": ours.runs,
        "ours_process_s": process_s,
    }


def run(
    size_mb: int = DEFAULT_SIZE_MB, runs: int = 3, *, integrity: str = "auto"
) -> list[dict[str, Any]]:
    """Measure both comparisons against one sandbox; return the table rows.

    Args:
        size_mb: MiB of incompressible padding in the archive.
        runs: Runs per client; each row holds the median.
        integrity: Our client's ``integrity``: "auto" (crc32c when installed, the default) or
            "all" (md5 as well, bound by md5's single-core speed).

    Returns:
        Rows with ``what, baseline_s, ours_s, ratio, baseline_rss_mb, ours_rss_mb``.
    """
    from up42_sandbox import Sandbox

    for tool in ("curl", "tar", "bash"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"the download benchmark needs {tool} on PATH")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    rows = []
    with Sandbox(speed=1000.0) as sandbox, tempfile.TemporaryDirectory() as scratch:
        job_id = sandbox.create_job(
            "succeeds", start_status="SUCCEEDED", features=1, padding=size_mb << 20
        )
        url = _signed_url(sandbox.base_url, sandbox.project_id, sandbox.project_api_key, job_id)
        size = sandbox.archive_path(job_id).stat().st_size
        label = f"{size / (1 << 20):.0f} MiB archive"
        if integrity != "auto":
            label += f" (integrity={integrity})"
        work = Path(scratch)
        theirs, mine = work / "baseline", work / "ours"
        # One untimed run: the archive into the page cache, the sandbox's code paths warm.
        subprocess.run(["curl", "-sSf", "-o", os.devnull, url], check=True)

        measured = _side_by_side(
            ["curl", "-sSf", "-o", str(theirs / "output.tgz"), url],
            python_child("benchmarks.bench_download", "download", url, str(mine), integrity),
            (theirs, mine),
            runs,
            env,
        )
        rows.append(_row(f"download of a {label}", "curl -o FILE", measured, GOAL_DOWNLOAD))
        measured = _side_by_side(
            ["bash", "-c", PIPELINE, url, str(theirs)],
            python_child("benchmarks.bench_download", "unpack", url, str(mine), integrity),
            (theirs, mine),
            runs,
            env,
        )
        rows.append(
            _row(f"download and unpack of a {label}", "curl | tar xz", measured, GOAL_UNPACK)
        )
    return rows


def main(argv: list[str]) -> None:
    if argv and argv[0] in {"download", "unpack"}:
        _child(*argv)
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=DEFAULT_SIZE_MB)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--integrity", choices=["auto", "all"], default="auto")
    options = parser.parse_args(argv)
    for row in run(size_mb=options.size_mb, runs=options.runs, integrity=options.integrity):
        print(
            f"{row['what']}: {row['baseline']} {row['baseline_s']:.3f} s, "
            f"ours {row['ours_s']:.3f} s (whole process {row['ours_process_s']:.3f} s), "
            f"ratio {row['ratio']:.2f}; peak RSS "
            f"{row['baseline_rss_mb']:.0f} MB / {row['ours_rss_mb']:.0f} MB; runs "
            f"{[round(s, 3) for s in row['baseline_runs_s']]} / "
            f"{[round(s, 3) for s in row['ours_runs_s']]}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
