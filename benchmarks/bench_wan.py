"""Large archives over a WAN-like link: ours against curl, aria2c and ``curl | tar xz``, and
how much of a killed download the next run fetches again.

Run ``python -m benchmarks.bench_wan [--size-mb 256] [--runs 3]`` for the rows; ``run()``
gives them to ``python -m benchmarks``. A sandbox on 127.0.0.1 serves one archive of
``size_mb`` MiB of incompressible padding from a storage capped at 16 MiB/s per connection,
40 ms away (issue #17's link). As in ``bench_download``, every client runs in its own
process under GNU time (peak RSS), clients alternate run by run, each run starts with an
empty folder, and a row holds the medians. Our client reports the time of its
``download_results`` call alone; curl, tar and aria2c are timed from outside.

Rows:

1. ``download_results(unpacking=False)`` with default options against ``curl -o FILE``.
2. The same runs of ours (default options: integrity "auto", so the whole object is
   checked) against ``aria2c -x8 -s8``, which checks nothing. Ours runs once per round,
   between curl and aria2c, and both rows compare against those runs.
3. ``download_results(unpacking=True)`` against ``curl | tar xz``.
4. Resume: our download in a child process, killed with SIGKILL once the sandbox has sent
   about half the object, then run again into the same folder; the row's ratio is the
   bytes the second run made the sandbox send (``Sandbox.storage_bytes_sent``) over the
   object's size. Its baseline is a whole download: ours in rows 1 and 2.

aria2c is Debian's ``aria2``; when it is missing the benchmark installs it with apt-get and
says so, and when that fails the row names the reason instead of a time.
"""

from __future__ import annotations

import argparse
import math
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
from benchmarks.bench_download import _empty, _signed_url

__all__ = ["run"]

ROOT = Path(__file__).resolve().parent.parent
#: Issue #17's figures: a 256 MiB archive, 16 MiB/s per connection, 40 ms of latency.
DEFAULT_SIZE_MB = 256
BANDWIDTH = 16 * 2**20
LATENCY = 0.04
#: Issue #17's goals; ``python -m benchmarks`` holds the same texts in its ``GOALS``.
GOAL_CURL = "time ratio <= 0.25, RSS < 200 MB"
GOAL_ARIA2C = "time ratio <= 1.0, RSS < 200 MB"
GOAL_UNPACK = "time ratio <= 0.33, RSS < 200 MB"
GOAL_RESUME = "bytes fetched again <= 0.60 of the object, RSS < 200 MB"
#: The share of the object the sandbox has sent when the first run of the resume row dies.
KILL_AT = 0.5
#: How often the resume row reads the sandbox's byte count: 8 ms is 128 KiB at 16 MiB/s,
#: 1 MiB at eight connections' 128 MiB/s, well under 1% of a 256 MiB object.
POLL_SECONDS = 0.008
#: A killed client's connection is over once the sandbox's count has not moved for this long
#: (a paced connection sends a chunk at least 50 times a second).
SETTLED_SECONDS = 0.25
ARCHIVE = "output.tgz"
PIPELINE = 'set -o pipefail; curl -sSf "$0" | tar xz -C "$1"'


def _child(mode: str, url: str, dest: str) -> None:
    """One run of our client with default options: ``download_results`` into ``dest``."""
    from up42_facade._download import download_results
    from up42_facade._options import DownloadOptions

    start = time.perf_counter()
    files = download_results(
        lambda: url,
        Path(dest),
        unpacking=mode == "unpack",
        show_progress=False,
        options=DownloadOptions(),
    )
    elapsed = time.perf_counter() - start
    if not files or any(not Path(name).is_file() for name in files):
        raise SystemExit(f"the download wrote nothing usable: {files}")
    report(elapsed)


def _aria2c(install: bool) -> tuple[str | None, str]:
    """aria2c's path (None when there is none) and a note for the row's baseline column.

    With ``install`` a missing aria2c is installed from Debian's ``aria2`` (apt-get, as root),
    after an ``apt-get update`` when the first try fails.
    """
    found = shutil.which("aria2c")
    if found:
        return found, ""
    if not install:
        return None, "not installed"
    if shutil.which("apt-get") is None:
        return None, "not installed, and there is no apt-get to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install_command = ["apt-get", "install", "-y", "-q", "aria2"]
    print("bench_wan: aria2c is missing; installing Debian's aria2 (apt-get install -y aria2)")
    done = subprocess.run(install_command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, check=False)
        done = subprocess.run(install_command, capture_output=True, text=True, env=env, check=False)
    found = shutil.which("aria2c")
    if done.returncode != 0 or found is None:
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        print(f"bench_wan: could not install aria2: {why}")
        return None, f"not installed; apt-get install aria2 failed: {why}"
    print(f"bench_wan: installed aria2 ({found})")
    return found, "installed by this run"


def _aria2c_command(aria2c: str, url: str, folder: Path) -> list[str]:
    """aria2c as a fair rival: 8 connections that really split the object, no config file."""
    return [
        aria2c,
        "--no-conf",
        "-q",
        "-x8",
        "-s8",
        # Its default (20M) would still split 256 MiB eight ways; 1M (the least it takes)
        # makes sure smaller objects are split too.
        "--min-split-size=1M",
        "--file-allocation=none",
        "--allow-overwrite=true",
        "--auto-file-renaming=false",
        "-d",
        str(folder),
        "-o",
        ARCHIVE,
        url,
    ]


def _alternate(
    clients: dict[str, tuple[list[str], Path]], runs: int, env: dict[str, str], size: int | None
) -> dict[str, tuple[Measurement, float]]:
    """Run each client in turn, ``runs`` rounds, each into its emptied folder.

    Returns each client's median seconds and peak RSS, and its median wall time (start-up
    included). With ``size`` every run must leave one file of that many bytes.
    """
    timer = gnu_time()
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in clients}
    for _ in range(runs):
        for name, (command, folder) in clients.items():
            _empty(folder)
            results[name].append(run_once(command, env, timer))
            if size is not None:
                sizes = [path.stat().st_size for path in folder.iterdir() if path.is_file()]
                if sizes != [size]:
                    raise RuntimeError(f"{name} left files of {sizes} bytes, not [{size}]")
    for _, folder in clients.values():
        shutil.rmtree(folder, ignore_errors=True)
    summary = {}
    for name, measured in results.items():
        times = [seconds for seconds, _, _ in measured]
        summary[name] = (
            Measurement(
                seconds=statistics.median(times),
                rss_mb=max(rss for _, _, rss in measured),
                runs=times,
            ),
            statistics.median(wall for _, wall, _ in measured),
        )
    return summary


def _row(
    what: str,
    baseline_name: str,
    baseline: Measurement | None,
    ours: tuple[Measurement, float],
    goal: tuple[str, str],
) -> dict[str, Any]:
    """A time-ratio row; without ``baseline`` its times and ratio are NaN."""
    mine, process_s = ours
    nan = float("nan")
    return {
        "what": what,
        "baseline": baseline_name,
        "baseline_s": baseline.seconds if baseline else nan,
        "ours_s": mine.seconds,
        "ratio": mine.seconds / baseline.seconds if baseline else nan,
        "ratio_kind": "time ratio",
        "goal_key": goal[0],
        "goal": goal[1],
        "baseline_rss_mb": baseline.rss_mb if baseline else nan,
        "ours_rss_mb": mine.rss_mb,
        "baseline_runs_s": baseline.runs if baseline else [],
        "ours_runs_s": mine.runs,
        "ours_process_s": process_s,
    }


def _peak_rss_mb(pid: int) -> float:
    """The process's own peak RSS so far (``VmHWM``; exec starts it afresh), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def _settled(sandbox: Any) -> int:
    """The sandbox's byte count once it has stopped moving (a killed client's tail sent)."""
    count, since = sandbox.storage_bytes_sent, time.monotonic()
    while time.monotonic() - since < SETTLED_SECONDS:
        time.sleep(POLL_SECONDS)
        if sandbox.storage_bytes_sent != count:
            count, since = sandbox.storage_bytes_sent, time.monotonic()
    return int(count)


def _resume(
    sandbox: Any, command: list[str], folder: Path, size: int, env: dict[str, str]
) -> tuple[float, float, float, int]:
    """Kill our download at ``KILL_AT`` of the object, then run it again to the end.

    Returns the share of the object sent to the killed run, the second run's seconds, the
    peak RSS of both runs (MB) and the bytes sent to the second run.
    """
    _empty(folder)
    before = _settled(sandbox)
    # Four whole downloads' time over one connection at the cap, and a minute: a hang by then.
    deadline = time.monotonic() + 60 + 4 * size / (sandbox.storage_bandwidth or 2**30)
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, env=env)
        try:
            while sandbox.storage_bytes_sent - before < KILL_AT * size:
                if child.poll() is not None or time.monotonic() > deadline:
                    errors.seek(0)
                    tail = errors.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(
                        f"the run to kill ended (status {child.returncode}) or stalled after "
                        f"{sandbox.storage_bytes_sent - before} of {size} bytes: a larger "
                        f"--size-mb gives it time to be killed\n{tail}"
                    )
                time.sleep(POLL_SECONDS)
            # A high-water mark: read just before the kill, it covers the whole run.
            rss_mb = _peak_rss_mb(child.pid)
        finally:
            child.kill()
            child.wait()
    killed = _settled(sandbox)
    seconds, _, second_rss_mb = run_once(command, env, gnu_time())
    refetched = _settled(sandbox) - killed
    shutil.rmtree(folder, ignore_errors=True)
    return (killed - before) / size, seconds, max(rss_mb, second_rss_mb), refetched


def run(
    size_mb: int = DEFAULT_SIZE_MB,
    runs: int = 3,
    *,
    bandwidth: float = BANDWIDTH,
    latency: float = LATENCY,
    install: bool = True,
) -> list[dict[str, Any]]:
    """Measure the four comparisons against one throttled sandbox; return the table rows.

    Args:
        size_mb: MiB of incompressible padding in the archive.
        runs: Rounds per comparison; each row holds the medians.
        bandwidth: The storage's cap per connection, in bytes a second.
        latency: Seconds the storage adds before each response and each new connection.
        install: Install aria2c with apt-get when it is missing.

    Returns:
        Rows with ``what, baseline, baseline_s, ours_s, ratio, goal, goal_key,
        baseline_rss_mb, ours_rss_mb``; the resume row's ratio is bytes, not time.

    Raises:
        RuntimeError: curl, tar or bash is missing, or a client failed.
    """
    from up42_sandbox import Sandbox

    for tool in ("curl", "tar", "bash"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"the WAN benchmark needs {tool} on PATH")
    aria2c, aria2c_note = _aria2c(install)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    link = f"storage at {bandwidth / 2**20:g} MiB/s per connection, {latency * 1000:g} ms away"
    rows = []
    with (
        Sandbox(
            speed=1000.0, host="127.0.0.1", storage_bandwidth=bandwidth, storage_latency=latency
        ) as sandbox,
        tempfile.TemporaryDirectory() as scratch,
    ):
        job_id = sandbox.create_job(
            "succeeds", start_status="SUCCEEDED", features=1, padding=size_mb << 20
        )
        url = _signed_url(sandbox.base_url, sandbox.project_id, sandbox.project_api_key, job_id)
        size = sandbox.archive_path(job_id).stat().st_size
        label = f"{size / (1 << 20):.0f} MiB archive"
        work = Path(scratch)
        curl_dir, aria2c_dir, mine = work / "curl", work / "aria2c", work / "ours"
        # One untimed run at loopback speed: the archive into the page cache, the sandbox warm.
        sandbox.set_storage_network(bandwidth=None, latency=None)
        subprocess.run(["curl", "-sSf", "-o", os.devnull, url], check=True)
        sandbox.set_storage_network(bandwidth=bandwidth, latency=latency)

        ours = python_child("benchmarks.bench_wan", "download", url, str(mine))
        clients = {
            "curl": (["curl", "-sSf", "-o", str(curl_dir / ARCHIVE), url], curl_dir),
            "ours": (ours, mine),
        }
        if aria2c:
            clients["aria2c"] = (_aria2c_command(aria2c, url, aria2c_dir), aria2c_dir)
        measured = _alternate(clients, runs, env, size)
        what = f"download of a {label}, {link}"
        rows.append(
            _row(
                what, "curl -o FILE", measured["curl"][0], measured["ours"], ("WAN curl", GOAL_CURL)
            )
        )
        aria2c_name = "aria2c -x8 -s8" + (f" ({aria2c_note})" if aria2c_note else "")
        rows.append(
            _row(
                what,
                aria2c_name,
                measured["aria2c"][0] if aria2c else None,
                measured["ours"],
                ("WAN aria2c", GOAL_ARIA2C),
            )
        )

        unpacked = _alternate(
            {
                "curl | tar xz": (["bash", "-c", PIPELINE, url, str(curl_dir)], curl_dir),
                "ours": (python_child("benchmarks.bench_wan", "unpack", url, str(mine)), mine),
            },
            runs,
            env,
            None,
        )
        rows.append(
            _row(
                f"download and unpack of a {label}, {link}",
                "curl | tar xz",
                unpacked["curl | tar xz"][0],
                unpacked["ours"],
                ("WAN unpack", GOAL_UNPACK),
            )
        )

        killed_at, seconds, rss_mb, refetched = _resume(sandbox, ours, mine, size, env)
        whole = measured["ours"][0]
        rows.append(
            {
                "what": f"resume of a {label} download killed at {killed_at:.0%}, {link}",
                "baseline": "a whole download (ours, above)",
                "baseline_s": whole.seconds,
                "ours_s": seconds,
                "ratio": refetched / size,
                "ratio_kind": "bytes fetched again / object size",
                "goal_key": "WAN resume",
                "goal": GOAL_RESUME,
                "baseline_rss_mb": whole.rss_mb,
                "ours_rss_mb": rss_mb,
                "killed_at": killed_at,
                "refetched_bytes": refetched,
                "object_bytes": size,
            }
        )
    return rows


def _describe(row: dict[str, Any]) -> str:
    if row["ratio_kind"] != "time ratio":
        return (
            f"{row['what']}: the second run fetched {row['refetched_bytes']} of "
            f"{row['object_bytes']} bytes, ratio {row['ratio']:.2f}, in {row['ours_s']:.3f} s "
            f"(a whole download {row['baseline_s']:.3f} s); peak RSS "
            f"{row['ours_rss_mb']:.0f} MB; goal {row['goal']}"
        )
    if math.isnan(row["ratio"]):
        return (
            f"{row['what']}: {row['baseline']}: no time; ours {row['ours_s']:.3f} s; "
            f"peak RSS {row['ours_rss_mb']:.0f} MB; goal {row['goal']}"
        )
    return (
        f"{row['what']}: {row['baseline']} {row['baseline_s']:.3f} s, "
        f"ours {row['ours_s']:.3f} s (whole process {row['ours_process_s']:.3f} s), "
        f"ratio {row['ratio']:.2f}; peak RSS "
        f"{row['baseline_rss_mb']:.0f} MB / {row['ours_rss_mb']:.0f} MB; runs "
        f"{[round(s, 3) for s in row['baseline_runs_s']]} / "
        f"{[round(s, 3) for s in row['ours_runs_s']]}; goal {row['goal']}"
    )


def main(argv: list[str]) -> None:
    if argv and argv[0] in {"download", "unpack"}:
        _child(*argv)
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=DEFAULT_SIZE_MB)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args(argv)
    for row in run(size_mb=options.size_mb, runs=options.runs):
        print(_describe(row))


if __name__ == "__main__":
    main(sys.argv[1:])
