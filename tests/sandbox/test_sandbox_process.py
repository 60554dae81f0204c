"""Starting and stopping: the in-process Sandbox frees its ports, the CLI stops cleanly."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from up42_sandbox import Sandbox
from up42_sandbox._faults import parse_fault_spec

#: Real seconds the CLI may take to come up (an interpreter start and three small archives).
CLI_START_TIMEOUT = 20.0


def _port_is_free(url: str) -> bool:
    port = int(url.rsplit(":", 1)[1])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
    return True


def test_leaving_the_with_block_stops_both_listeners_and_frees_the_ports() -> None:
    with Sandbox() as sb:
        urls = (sb.base_url, sb.storage_url)
        job_id = sb.create_job(start_status="SUCCEEDED")
        # An open keep-alive connection must not hold the stop up.
        client = httpx.Client()
        client.head(sb.download_url(job_id))
        assert sb.running
        assert sb.archive_path(job_id).exists()
        archive = sb.archive_path(job_id)
    assert not sb.running
    assert all(_port_is_free(url) for url in urls)
    assert not archive.exists()
    client.close()


def test_both_listeners_bind_loopback_by_default() -> None:
    with Sandbox() as sb:
        assert sb.base_url.startswith("http://127.0.0.1:")
        assert sb.storage_url.startswith("http://127.0.0.1:")


def test_fault_specs_from_the_command_line_parse_into_inject_arguments() -> None:
    assert parse_fault_spec("rate_limit:count=3,retry_after=2") == (
        "rate_limit",
        {"count": 3, "retry_after": 2},
    )
    assert parse_fault_spec("delay:seconds=0.5,count=none") == (
        "delay",
        {"seconds": 0.5, "count": None},
    )
    assert parse_fault_spec("corrupt") == ("corrupt", {})
    with pytest.raises(ValueError, match="unknown fault kind"):
        parse_fault_spec("gremlins")


def _wait_for_file(path: Path, process: subprocess.Popen[str]) -> dict[str, object]:
    deadline = time.monotonic() + CLI_START_TIMEOUT
    while time.monotonic() < deadline:
        if path.exists():
            info: dict[str, object] = json.loads(path.read_text())
            return info
        if process.poll() is not None:
            raise AssertionError(f"the CLI exited early: {process.communicate()}")
        time.sleep(0.05)
    raise AssertionError("the CLI never wrote its info file")


def test_the_cli_writes_its_info_file_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    info_file = tmp_path / "sandbox.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "up42_sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--storage-port",
            "0",
            "--info-file",
            str(info_file),
            "--speed",
            "10",
            "--fault",
            "rate_limit:count=1,retry_after=2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        info = _wait_for_file(info_file, process)
        assert set(info) >= {"base_url", "storage_url", "project_id", "project_api_key", "jobs"}
        jobs = info["jobs"]
        assert isinstance(jobs, dict)
        assert set(jobs) == {"succeeds", "fails", "long_running"}
        base_url = str(info["base_url"])
        token_url = f"{base_url}/oauth/token"
        credentials = (str(info["project_id"]), str(info["project_api_key"]))
        form = {"grant_type": "client_credentials"}
        limited = httpx.post(token_url, auth=credentials, data=form)
        assert limited.status_code == 429  # the --fault switched on
        token = httpx.post(token_url, auth=credentials, data=form).json()["access_token"]
        job = httpx.get(
            f"{base_url}/projects/{info['project_id']}/jobs/{jobs['succeeds']}",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert job.status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.communicate()
    assert _port_is_free(base_url)
    assert _port_is_free(str(info["storage_url"]))
    assert not info_file.exists()


def test_the_cli_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    info_file = tmp_path / "sandbox.json"
    command = [sys.executable, "-m", "up42_sandbox", "--info-file", str(info_file)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_file(info_file, process)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.communicate()


def test_the_cli_serves_its_jobs_spec_instead_of_the_demo_jobs(tmp_path: Path) -> None:
    info_file = tmp_path / "sandbox.json"
    command = [
        sys.executable,
        "-m",
        "up42_sandbox",
        "--info-file",
        str(info_file),
        "--speed",
        "20",
        "--jobs",
        "succeeds=3,fails=2,features=0",
        "--page-size",
        "2",
        "--rate-limit",
        "50/s",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = _wait_for_file(info_file, process)
        created = info["created"]
        assert isinstance(created, list) and len(created) == 5
        # One id per outcome, as readers of info["jobs"]["succeeds"] expect: the first of each.
        assert info["jobs"] == {"succeeds": created[0], "fails": created[3]}
        assert (info["page_size"], info["rate_limit"]) == (2, 50.0)
        sb_url, project = str(info["base_url"]), str(info["project_id"])
        token = httpx.post(
            f"{sb_url}/oauth/token",
            auth=(project, str(info["project_api_key"])),
            data={"grant_type": "client_credentials"},
        ).json()["access_token"]
        with httpx.Client(base_url=sb_url, headers={"Authorization": f"Bearer {token}"}) as http:
            pages = [
                http.get(f"/projects/{project}/jobs", params={"page": n, "sort": "name,asc"})
                for n in range(4)
            ]
            assert [[job["name"] for job in page.json()["data"]] for page in pages] == [
                ["job 001", "job 002"],
                ["job 003", "job 004"],
                ["job 005"],
                [],
            ]
            burst = [http.get(f"/projects/{project}/jobs").status_code for _ in range(80)]
            assert 429 in burst
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.communicate()
