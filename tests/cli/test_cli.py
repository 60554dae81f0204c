"""The up42-facade command against the sandbox: every command and every exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from up42_facade._cli import app
from up42_sandbox import Sandbox

UNKNOWN_JOB = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(speed=40.0) as sb:
        yield sb


@pytest.fixture
def env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "UP42_PROJECT_ID": sandbox.project_id,
        "UP42_PROJECT_API_KEY": sandbox.project_api_key,
        "UP42_BASE_URL": sandbox.base_url,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def done_job(sandbox: Sandbox, **options: object) -> str:
    return sandbox.create_job("succeeds", start_status="SUCCEEDED", **options)  # type: ignore[arg-type]


def test_info_prints_the_job_and_json_on_request(sandbox: Sandbox, env: dict[str, str]) -> None:
    job_id = done_job(sandbox, name="CLI job")
    code, out, _ = run("job", "info", job_id)
    assert code == 0 and "CLI job" in out and "SUCCEEDED" in out
    code, out, _ = run("job", "info", job_id, "--json")
    assert code == 0 and json.loads(out)["id"] == job_id


def test_status_prints_the_status(sandbox: Sandbox, env: dict[str, str]) -> None:
    job_id = done_job(sandbox)
    assert run("job", "status", job_id)[:2] == (0, "SUCCEEDED\n")
    _, out, _ = run("job", "status", job_id, "--json")
    assert json.loads(out) == {"job_id": job_id, "status": "SUCCEEDED"}


def test_track_follows_a_job_to_succeeded(sandbox: Sandbox, env: dict[str, str]) -> None:
    job_id = sandbox.create_job("succeeds")
    code, out, _ = run("job", "track", job_id, "--poll-interval", "0.05", "--json")
    assert code == 0
    assert json.loads(out)["status"] == "SUCCEEDED"


def test_track_exits_3_when_the_job_fails(sandbox: Sandbox, env: dict[str, str]) -> None:
    code, out, err = run("job", "track", sandbox.create_job("fails"), "--poll-interval", "0.05")
    assert code == 3
    assert "FAILED" in err
    assert "with jobtask_id" in out


def test_track_json_keeps_stdout_machine_readable_when_the_job_fails(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    code, out, err = run(
        "job", "track", sandbox.create_job("fails"), "--poll-interval", "0.05", "--json"
    )
    assert code == 3
    assert out == ""  # no task logs mixed into what a script parses
    assert "FAILED" in err


def test_track_exits_3_when_the_job_is_cancelled(sandbox: Sandbox, env: dict[str, str]) -> None:
    job_id = sandbox.create_job("long_running")
    assert run("job", "cancel", job_id)[0] == 0
    code, _, err = run("job", "track", job_id, "--poll-interval", "0.05")
    assert code == 3 and "cancelled" in err


def test_track_timeout_exits_1_with_one_line(sandbox: Sandbox, env: dict[str, str]) -> None:
    job_id = sandbox.create_job("long_running")
    code, _, err = run("job", "track", job_id, "--poll-interval", "0.05", "--timeout", "0.2")
    assert code == 1
    assert job_id in err and len(err.strip().splitlines()) == 1
    run("job", "cancel", job_id)


def test_logs_prints_every_task_log(sandbox: Sandbox, env: dict[str, str]) -> None:
    job_id = done_job(sandbox, tasks=2)
    code, out, _ = run("job", "logs", job_id)
    assert code == 0 and out.count("with jobtask_id") == 2
    code, out, _ = run("job", "logs", job_id, "--json")
    assert list(json.loads(out)) == sandbox.task_ids(job_id)


def test_download_writes_the_unpacked_results(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    job_id = done_job(sandbox, features=2)
    code, out, _ = run("job", "download", job_id, "--output", str(tmp_path), "--json")
    assert code == 0
    files = json.loads(out)["files"]
    assert str(tmp_path / "data.json") in files
    assert all(Path(f).is_file() for f in files)


def test_download_options_check_every_hash_and_resume_within_the_attempts_given(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    job_id = done_job(sandbox, features=2, padding=1 << 20)
    sandbox.inject("drop", count=1, job_id=job_id, at_byte=300_000)
    code, out, err = run(
        "job", "download", job_id, "-o", str(tmp_path), "--json",
        "--integrity", "all", "--max-attempts", "2", "--timeout", "5",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert str(tmp_path / "data.json") in json.loads(out)["files"]


def test_download_gives_up_after_max_attempts_with_one_line_and_nothing_on_disk(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    job_id = done_job(sandbox)
    sandbox.inject("drop", count=None, job_id=job_id, at_byte=0)
    try:
        code, out, err = run(
            "job", "download", job_id, "-o", str(tmp_path / "out"), "--max-attempts", "1"
        )
    finally:
        sandbox.clear_faults()
    assert code == 1 and out == ""
    assert "gave up after 1 attempt (" in err and len(err.strip().splitlines()) == 1
    assert "X-Goog-Signature" not in err
    assert not (tmp_path / "out").exists()


def test_download_resumes_on_the_next_run_and_no_resume_keeps_nothing(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    job_id = done_job(sandbox, padding=3 << 20)
    part = tmp_path / "out" / ".up42-download.part"
    sandbox.inject("drop", count=None, job_id=job_id, at_byte=1 << 20)
    try:
        code, _, err = run("job", "download", job_id, "-o", str(tmp_path / "out"),
                           "--max-attempts", "1", "--max-connections", "1")  # fmt: skip
        assert code == 1 and "gave up after 1 attempt" in err
        assert part.stat().st_size == 1 << 20  # kept for the next run
        code, _, _ = run("job", "download", job_id, "-o", str(tmp_path / "out"),
                         "--max-attempts", "1", "--no-resume")  # fmt: skip
        assert code == 1 and list((tmp_path / "out").iterdir()) == []  # the earlier part went
    finally:
        sandbox.clear_faults()
    sandbox.requests.clear()
    assert run("job", "download", job_id, "-o", str(tmp_path / "out"))[0] == 0
    assert run("job", "download", job_id, "-o", str(tmp_path / "again"),
               "--max-connections", "3")[0] == 0  # fmt: skip
    assert not part.exists()


def test_a_max_connections_out_of_range_exits_2(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    code, _, err = run("job", "download", done_job(sandbox), "--max-connections", "0")
    assert code == 2 and "--max-connections" in err


def test_download_refuses_an_archive_over_max_members(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    job_id = done_job(sandbox, features=3)
    code, _, err = run("job", "download", job_id, "-o", str(tmp_path / "out"), "--max-members", "2")
    assert code == 1 and "more than 2 members" in err
    assert not (tmp_path / "out").exists()


def test_an_unknown_integrity_mode_exits_2_naming_the_choices(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    job_id = done_job(sandbox)
    sandbox.requests.clear()
    code, _, err = run("job", "download", job_id, "-o", str(tmp_path), "--integrity", "sha1")
    assert code == 2 and "integrity must be one of auto, all, size, not 'sha1'" in err
    assert not [r for r in sandbox.requests.snapshot() if "downloads" in r.path]


def test_quicklooks_take_a_timeout_and_attempts(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    job_id = done_job(sandbox, features=2)
    code, out, _ = run(
        "job", "quicklooks", job_id, "-o", str(tmp_path), "--timeout", "5", "--max-attempts", "2"
    )
    assert code == 0 and "wrote 2 files" in out


def test_quicklooks_writes_png_files(sandbox: Sandbox, env: dict[str, str], tmp_path: Path) -> None:
    job_id = done_job(sandbox, features=2)
    code, out, _ = run("job", "quicklooks", job_id, "-o", str(tmp_path))
    assert code == 0 and "wrote" in out
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("quicklook_"))


def test_results_prints_a_table_or_writes_geojson(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    job_id = done_job(sandbox, features=3)
    code, out, _ = run("job", "results", job_id)
    assert code == 0 and "3 features" in out
    target = tmp_path / "footprints.geojson"
    assert run("job", "results", job_id, "--output", str(target))[0] == 0
    assert len(json.loads(target.read_text())["features"]) == 3


def test_credits_prints_the_credits(sandbox: Sandbox, env: dict[str, str]) -> None:
    job_id = done_job(sandbox, credits=7)
    assert run("job", "credits", job_id)[:2] == (0, "7 credits\n")
    assert json.loads(run("job", "credits", job_id, "--json")[1])["creditsUsed"] == 7


def test_a_bad_job_id_exits_2_before_any_request(sandbox: Sandbox, env: dict[str, str]) -> None:
    before = len(sandbox.requests)
    code, _, err = run("job", "status", "not-a-uuid")
    assert code == 2 and "not a UUID" in err
    assert len(sandbox.requests) == before


def test_missing_credentials_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("UP42_PROJECT_ID", "UP42_PROJECT_API_KEY", "UP42_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = run("job", "status", UNKNOWN_JOB)
    assert code == 2 and "UP42_PROJECT_ID" in err


def test_a_wrong_key_exits_4_without_showing_it(
    sandbox: Sandbox, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UP42_PROJECT_API_KEY", "wrong-key-123456")
    code, out, err = run("job", "status", UNKNOWN_JOB)
    assert code == 4
    assert sandbox.project_id in err and "wrong-key-123456" not in out + err


def test_an_unknown_job_exits_5(env: dict[str, str]) -> None:
    code, _, err = run("job", "info", UNKNOWN_JOB)
    assert code == 5 and UNKNOWN_JOB in err
    assert len(err.strip().splitlines()) == 1


def test_a_config_file_replaces_the_environment(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("UP42_PROJECT_ID", "UP42_PROJECT_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(
        json.dumps({"project_id": sandbox.project_id, "project_api_key": sandbox.project_api_key})
    )
    job_id = done_job(sandbox)
    code, out, _ = run(
        "job", "status", job_id, "--config", str(cfg), "--base-url", sandbox.base_url
    )
    assert (code, out) == (0, "SUCCEEDED\n")


def test_a_server_error_exits_1_with_one_line(sandbox: Sandbox, env: dict[str, str]) -> None:
    job_id = done_job(sandbox)
    sandbox.inject("error", count=1, job_id=job_id, status=500)
    code, _, err = run("job", "credits", job_id)
    assert code == 1 and "500" in err


def test_usage_errors_exit_2() -> None:
    assert run("job", "frobnicate", UNKNOWN_JOB)[0] == 2
    assert run("job", "track", UNKNOWN_JOB, "--poll-interval", "soon")[0] == 2


def test_help_documents_the_exit_codes() -> None:
    code, out, _ = run("job", "--help")
    assert code == 0
    for line in ("3 the job failed or was cancelled", "4 authentication failed", "5 the job or"):
        assert line in " ".join(out.split())


def test_the_installed_command_runs_as_a_subprocess(sandbox: Sandbox, env: dict[str, str]) -> None:
    job_id = done_job(sandbox)
    command = Path(sys.executable).parent / "up42-facade"
    finished = subprocess.run(
        [str(command), "job", "status", job_id, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout)["status"] == "SUCCEEDED"
    unknown = subprocess.run(
        [str(command), "job", "info", UNKNOWN_JOB],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert unknown.returncode == 5 and "Traceback" not in unknown.stderr


# -- jobs: many at once ---------------------------------------------------------------------


def test_jobs_list_shows_the_newest_jobs_and_filters_by_status(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    newest = done_job(sandbox, name="cli")
    failed = sandbox.create_job("fails", start_status="FAILED")
    code, out, _ = run("jobs", "list", "--limit", "2", "--json")
    assert code == 0 and [job["id"] for job in json.loads(out)] == [failed, newest]
    code, out, _ = run("jobs", "list", "--status", "FAILED", "--json")
    assert code == 0 and {job["status"] for job in json.loads(out)} == {"FAILED"}
    code, out, _ = run("jobs", "list", "--limit", "5")
    assert code == 0 and "│ cli " in out and " jobs\n" in out


def test_jobs_track_follows_every_job_and_exits_3_when_one_failed(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    good = [sandbox.create_job("succeeds") for _ in range(2)]
    code, out, _ = run("jobs", "track", *good, "--poll-interval", "0.05", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["statuses"] == dict.fromkeys(good, "SUCCEEDED")
    assert report["summary"] == {"done": 2, "running": 0, "failed": 0}
    bad = sandbox.create_job("fails")
    code, out, _ = run("jobs", "track", good[0], bad, "--poll-interval", "0.05")
    assert code == 3 and "1 done, 0 running, 1 failed" in out


def test_jobs_track_all_running_finds_the_unfinished_jobs(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    running = sandbox.create_job("succeeds")
    code, out, _ = run("jobs", "track", "--all-running", "--poll-interval", "0.05", "--json")
    assert code in (0, 3)  # other tests' jobs may be running and fail meanwhile
    assert json.loads(out)["statuses"][running] == "SUCCEEDED"


def test_jobs_track_needs_ids_or_all_running(env: dict[str, str]) -> None:
    code, _, err = run("jobs", "track")
    assert code == 2 and "--all-running" in err


def test_jobs_download_writes_each_job_and_the_merged_data_json(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    ids = [done_job(sandbox, features=1, tasks=1) for _ in range(2)]
    code, out, _ = run("jobs", "download", *ids, "--output", str(tmp_path), "--json")
    assert code == 0
    paths = json.loads(out)
    assert set(paths) == {*ids, "merged_result"}
    assert all((tmp_path / f"job_{job_id}").is_dir() for job_id in ids)
    code, out, _ = run("jobs", "download", ids[0], "--output", str(tmp_path / "two"))
    assert code == 0 and "1 downloaded" in out


def test_jobs_commands_fail_cleanly_on_a_bad_or_unknown_id(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    code, _, err = run("jobs", "download", "not-a-uuid", "--output", str(tmp_path))
    assert code == 2 and "job_id" in err
    code, _, err = run("jobs", "track", UNKNOWN_JOB)
    assert code == 5 and UNKNOWN_JOB in err
