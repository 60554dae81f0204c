"""The classic SDK (up42-py 0.33.1) as a peer column, in its own virtual environment.

``add_peer_column`` installs up42-py into ``.bench-peers/up42-py`` when it is not
there yet (and says so), starts a sandbox, and runs the same operations as our
rows with the classic ``Job`` class, each in its own process. The classic SDK
talks to ``https://api.up42.<env>`` only; the child points its ``Auth`` at the
sandbox by replacing ``Auth._endpoint`` — nothing else of it is changed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import Any

from benchmarks._child import measure

ROOT = Path(__file__).resolve().parent.parent
PEER_VENV = ROOT / ".bench-peers" / "up42-py"
PEER_REQUIREMENT = "up42-py==0.33.1"
CHILD = Path(__file__).resolve().parent / "classic_child.py"


def peer_python() -> Path:
    """The classic SDK's interpreter, installing it first when needed."""
    python = PEER_VENV / "bin" / "python"
    marker = PEER_VENV / ".installed"
    if not marker.exists():
        print(
            f"Installing the classic SDK ({PEER_REQUIREMENT}) into {PEER_VENV} for the peer column"
        )
        venv.EnvBuilder(with_pip=True, clear=True).create(PEER_VENV)
        log = PEER_VENV / "install.log"
        with log.open("w") as output:
            done = subprocess.run(
                [str(python), "-m", "pip", "install", PEER_REQUIREMENT],
                stdout=output,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode != 0:
            raise RuntimeError(f"installing {PEER_REQUIREMENT} failed; see {log}")
        marker.touch()
    return python


def add_peer_column(rows: list[dict[str, Any]], *, runs: int, smoke: bool) -> list[dict[str, Any]]:
    """Add ``peer_s`` (classic SDK, median seconds) to the rows it has a counterpart for."""
    from up42_sandbox import Sandbox

    python = str(peer_python())
    size_mb = 1 if smoke else 256
    tasks, info_calls = (3, 5) if smoke else (100, 1000)
    with Sandbox(speed=1000.0) as sandbox, tempfile.TemporaryDirectory() as scratch:
        big = sandbox.create_job(
            "succeeds", start_status="SUCCEEDED", features=1, padding=size_mb << 20
        )
        many = sandbox.create_job("succeeds", start_status="SUCCEEDED", tasks=tasks, features=1)
        common = [sandbox.base_url, sandbox.project_id, sandbox.project_api_key]

        def peer(mode: str, job_id: str, *extra: str) -> float:
            command = [python, str(CHILD), mode, *common, job_id, scratch, *extra]
            return measure(command, runs).seconds

        results = {
            "download and unpack": peer("download-unpack", big),
            "download": peer("download", big),
            "job.info": peer("info", many, str(info_calls)),
            "import": peer("import", many),
        }
        sandbox.inject("delay", count=None, path="/logs", seconds=0.001 if smoke else 0.03)
        results["get_logs"] = peer("logs", many)
        sandbox.clear_faults()
    for row in rows:
        what = str(row["what"]).lower()
        # The classic SDK has no async door: its sequential figures are no peer of a gather;
        # the many-jobs rows have it as their baseline already; it was measured over loopback
        # only, not over the throttled link of the WAN rows, nor resuming.
        if any(word in what for word in ("async", "await", " jobs", "storage at", "resume")):
            row["peer_s"] = "n/a"
            continue
        for key, seconds in results.items():
            if key.lower() in what:
                row["peer_s"] = seconds
                break
        else:
            row["peer_s"] = "n/a"
    return rows


if __name__ == "__main__":
    print(peer_python(), file=sys.stderr)
