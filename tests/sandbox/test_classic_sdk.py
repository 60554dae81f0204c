"""The classic SDK (up42-py 0.33.1) runs every flow of its ``Job`` against the sandbox.

The sandbox is the reference server of the API as the classic SDK used it, so the SDK itself
is the judge: ``classic_flows.py`` runs each flow under the SDK's own interpreter (installed
once into ``.bench-peers/up42-py`` by ``benchmarks.bench_classic.peer_python``, reused after),
and each test here checks one flow's answer against what the sandbox holds, read back over
the API with the spec's paths (and, for archives, from the file the storage listener serves).

The flows: ``info``, ``status``/``track_status``, ``get_jobtasks``,
``get_jobtasks_results_json`` (which calls ``.../outputs/data-json`` without the trailing
slash), ``get_results_json`` (``as_dataframe`` False and True), ``download_results``
(unpacked and not), ``download_quicklooks``, ``get_logs``, ``get_credits``, ``cancel_job``;
and of its many-jobs classes, ``Project.get_jobs`` and ``JobCollection`` (info, status, apply,
download_results with the merged data.json), compared with what the facade gives.
One child process runs them all (importing up42 and geopandas takes a second or two).
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.bench_classic import peer_python
from up42_sandbox import Sandbox

from .classic_flows import FLOWS
from .helpers import SPEED, get_token, job_path

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

CHILD = Path(__file__).resolve().parent / "classic_flows.py"
#: Real seconds the child may take to import up42 and to run every flow.
CHILD_TIMEOUT = 120.0
#: The fresh job's RUNNING phase in sandbox seconds: about a second of real time, so that
#: ``track_status`` (polling every 5 s / SPEED) sees it running before it succeeds.
FRESH_DURATION = 20.0
CREDITS = 42
UNFINISHED = {"NOT STARTED", "PENDING", "RUNNING"}


@dataclass
class ClassicRun:
    """One run of every flow: the sandbox (still running), its jobs and the child's report."""

    sandbox: Sandbox
    api: httpx.Client
    jobs: dict[str, str]
    report: dict[str, dict[str, Any]]
    scratch: Path
    log: str

    def result(self, flow: str) -> Any:
        """The flow's result; fails the test with the child's traceback if the flow raised."""
        entry = self.report[flow]
        assert entry["error"] is None, f"classic {flow} failed:\n{entry['error']}"
        return entry["result"]

    def path(self, role: str) -> str:
        return job_path(self.sandbox, self.jobs[role])

    def get(self, path: str) -> httpx.Response:
        """A GET in the spec's spelling, as an independent client sees the sandbox."""
        answer = self.api.get(path)
        assert answer.status_code == 200, answer.text
        return answer


def _child_env() -> dict[str, str]:
    # Loopback only: no proxy may see the sandbox's traffic.
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


@pytest.fixture(scope="module")
def classic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClassicRun]:
    """Run every classic flow once against a sandbox; the tests below read the report."""
    python = peer_python()
    scratch = tmp_path_factory.mktemp("classic")
    results, log_file = scratch / "results.json", scratch / "classic.log"
    with (
        Sandbox(speed=SPEED) as sb,
        httpx.Client(base_url=sb.base_url) as api,
        log_file.open("w") as log,
    ):
        api.headers["Authorization"] = f"Bearer {get_token(sb)}"
        command = [str(python), str(CHILD), sb.base_url, sb.project_id, sb.project_api_key]
        process = subprocess.Popen(
            [*command, str(SPEED), str(results)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=scratch,
            env=_child_env(),
        )
        try:
            assert process.stdout is not None
            ready = process.stdout.readline().strip()
            assert ready == "ready", f"the child did not start:\n{log_file.read_text()}"
            jobs = {
                "done": sb.create_job(start_status="SUCCEEDED", tasks=2, credits=CREDITS),
                "fresh": sb.create_job("succeeds", duration=FRESH_DURATION),
                "fails": sb.create_job("fails", start_status="FAILED"),
                "running": sb.create_job("long_running", start_status="RUNNING"),
            }
            process.communicate(json.dumps(jobs) + "\n", timeout=CHILD_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        log.flush()
        assert process.returncode == 0, f"the child failed:\n{log_file.read_text()}"
        report = json.loads(results.read_text())
        yield ClassicRun(sb, api, jobs, report, scratch, log_file.read_text())


def test_the_child_ran_every_flow_once(classic: ClassicRun) -> None:
    assert list(classic.report) == list(FLOWS)


def test_info(classic: ClassicRun) -> None:
    result = classic.result("info")
    held = classic.get(classic.path("done")).json()["data"]
    assert result["info"] == held
    assert result["job_id"] == classic.jobs["done"]
    assert result["repr"].startswith(f"Job(name: {held['name']}, job_id: {held['id']}, ")
    assert f"status: {held['status']}," in result["repr"]


def test_status_track_status(classic: ClassicRun) -> None:
    result = classic.result("status_track_status")
    sb, jobs = classic.sandbox, classic.jobs
    assert result["status"] == sb.job_status(jobs["done"]) == "SUCCEEDED"
    assert result["is_succeeded"] is True
    # The fresh job was still on its way: track_status polled until it succeeded.
    assert result["fresh_first"] in UNFINISHED
    assert result["tracked"] == sb.job_status(jobs["fresh"]) == "SUCCEEDED"
    polls = [
        r
        for r in sb.requests.filter(listener="api", method="GET")
        if r.canonical_path == classic.path("fresh")
    ]
    assert len(polls) >= 3  # Job() itself, then at least one poll before SUCCEEDED and one at it
    # A failed job: the classic error (a ValueError), after printing every task's log.
    failed = result["failed"]
    assert failed["type"] == "ValueError"
    assert failed["message"] == "Job has failed! See the above log."
    for task_id in sb.task_ids(jobs["fails"]):
        log = classic.get(f"{classic.path('fails')}/tasks/{task_id}/logs").text
        assert log in failed["printed"]
    assert " - ERROR - " in failed["printed"]


def test_get_jobtasks(classic: ClassicRun) -> None:
    result = classic.result("get_jobtasks")
    held = classic.get(f"{classic.path('done')}/tasks/").json()["data"]
    assert [task["id"] for task in held] == classic.sandbox.task_ids(classic.jobs["done"])
    assert result["json"] == held
    assert [o["class"] for o in result["objects"]] == ["JobTask"] * len(held)
    assert [o["jobtask_id"] for o in result["objects"]] == [task["id"] for task in held]
    assert [o["info"] for o in result["objects"]] == held


def test_get_jobtasks_results_json(classic: ClassicRun) -> None:
    result = classic.result("get_jobtasks_results_json")
    task_ids = classic.sandbox.task_ids(classic.jobs["done"])
    assert list(result) == task_ids
    for task_id in task_ids:
        held = classic.get(f"{classic.path('done')}/tasks/{task_id}/outputs/data-json/").json()
        assert result[task_id] == held
        assert held["features"]
    # The classic SDK asked without the trailing slash, and the sandbox answered it.
    unslashed = [
        (r.path, r.status)
        for r in classic.sandbox.requests.filter(listener="api", path="/outputs/data-json/")
        if "/tasks/" in r.path and not r.path.endswith("/")
    ]
    assert [status for _, status in unslashed] == [200] * len(task_ids)


def test_get_results_json(classic: ClassicRun) -> None:
    result = classic.result("get_results_json")
    held = classic.get(f"{classic.path('done')}/outputs/data-json/").json()
    assert result["dict"] == result["default"] == held
    frame = result["frame"]
    assert (frame["class"], frame["epsg"]) == ("GeoDataFrame", 4326)
    features = held["features"]
    assert frame["geometries"] == [feature["geometry"] for feature in features]

    def present(properties: dict[str, Any]) -> dict[str, Any]:
        # A frame has a column for every property of any feature: absent ones read as null.
        return {key: value for key, value in properties.items() if value is not None}

    assert [present(row) for row in frame["properties"]] == [
        present(feature["properties"]) for feature in features
    ]


def _archive_files(archive: Path) -> dict[str, bytes]:
    """The archive's files as the classic SDK unpacks them (``output/`` dropped)."""
    files: dict[str, bytes] = {}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.isfile():
                data = tar.extractfile(member)
                assert data is not None
                files[member.name.split("output/", 1)[-1]] = data.read()
    return files


def test_download_results(classic: ClassicRun) -> None:
    result = classic.result("download_results")
    archive = classic.sandbox.archive_path(classic.jobs["done"])
    expected = _archive_files(archive)
    assert "data.json" in expected
    unpacked_dir = Path("results/unpacked")
    unpacked = {str(Path(p).relative_to(unpacked_dir)): p for p in result["unpacked"]}
    assert sorted(unpacked) == sorted(expected)
    for name, path in unpacked.items():
        assert (classic.scratch / path).read_bytes() == expected[name], name
    assert result["packed"] == result["results"] == ["results/packed/output.tgz"]
    assert (classic.scratch / result["packed"][0]).read_bytes() == archive.read_bytes()


def test_download_quicklooks(classic: ClassicRun) -> None:
    result = classic.result("download_quicklooks")
    first_task = classic.sandbox.task_ids(classic.jobs["done"])[0]
    task = f"{classic.path('done')}/tasks/{first_task}"
    names = classic.get(f"{task}/outputs/quicklooks/").json()["data"]
    project, job = classic.sandbox.project_id, classic.jobs["done"]
    folder = classic.scratch / f"project_{project}" / f"job_{job}"
    assert result["paths"] == [str(folder / f"quicklook_{name}") for name in names]
    assert result["quicklooks"] == result["paths"]
    for name, path in zip(names, result["paths"], strict=True):
        image = classic.get(f"{task}/outputs/quicklooks/{name}").content
        assert Path(path).read_bytes() == image
        assert image.startswith(b"\x89PNG")


def test_get_logs(classic: ClassicRun) -> None:
    result = classic.result("get_logs")
    task_ids = classic.sandbox.task_ids(classic.jobs["done"])
    held = {t: classic.get(f"{classic.path('done')}/tasks/{t}/logs").text for t in task_ids}
    assert result["returned"] == held
    assert all(held.values())
    assert result["default"] is None  # as_print=True, as_return=False: printed, not returned
    assert f"Printing logs of {len(task_ids)} JobTasks" in result["printed"]
    assert all(log in result["printed"] for log in held.values())


def test_get_credits(classic: ClassicRun) -> None:
    result = classic.result("get_credits")
    held = classic.get(f"{classic.path('done')}/credits").json()["data"]
    assert result == {"creditsUsed": held["creditsUsed"]} == {"creditsUsed": CREDITS}


def test_cancel_job(classic: ClassicRun) -> None:
    result = classic.result("cancel_job")
    assert result["before"] == "RUNNING"
    assert result["returned"] is None
    assert result["after"] in {"CANCELLING", "CANCELLED"}
    assert classic.sandbox.job_status(classic.jobs["running"]) in {"CANCELLING", "CANCELLED"}
    track = result["track"]
    assert (track["type"], track["message"]) == ("ValueError", "Job has been cancelled!")
    posts = classic.sandbox.requests.filter(listener="api", method="POST", path="/cancel/")
    assert [(r.path, r.status) for r in posts] == [(f"{classic.path('running')}/cancel/", 200)]


def _facade(classic: ClassicRun) -> Any:
    import up42_facade

    sb = classic.sandbox
    return up42_facade.Up42(
        project_id=sb.project_id, project_api_key=sb.project_api_key, base_url=sb.base_url
    )


def test_get_jobs(classic: ClassicRun) -> None:
    result = classic.result("get_jobs")
    with _facade(classic) as session:
        ours = [job["id"] for job in session.get_jobs(return_json=True)]
        limited = [job.job_id for job in session.get_jobs(limit=3)]
    assert set(result["json_ids"]) == set(classic.jobs.values())
    assert ours == result["json_ids"]  # the same jobs in the same order (newest first)
    assert limited == result["limited"] and result["class"] == "JobCollection"
    assert result["bad_sortby"]["type"] == "ValueError"


def test_jobcollection(classic: ClassicRun, tmp_path: Path) -> None:
    result = classic.result("jobcollection")
    done, fails = classic.jobs["done"], classic.jobs["fails"]
    assert result["info_keys"] == sorted([done, fails])
    assert result["status"] == {done: "SUCCEEDED", fails: "FAILED"}
    assert result["applied"] == {done: done}  # only the succeeded job, as by default
    assert result["iterated"] == [done, fails] and result["first"] == done
    with _facade(classic) as session:
        ours = session.initialize_jobcollection([done, fails])
        assert ours.status == result["status"]
        assert ours.apply(lambda job: job.job_id) == result["applied"]
        paths = ours.download_results(output_directory=tmp_path / "collection")
    assert set(paths) == set(result["paths"]) == {done, "merged_result"}
    assert sorted(Path(p).name for p in paths[done]) == sorted(
        Path(p).name for p in result["paths"][done]
    )
    merged = json.loads(Path(paths["merged_result"][0]).read_text())
    assert merged == result["merged"]  # the same features, job ids and prefixed data paths
