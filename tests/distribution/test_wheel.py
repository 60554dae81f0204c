"""The wheel installs as a user's `pip install up42-facade` would: into a fresh virtual
environment, without extras, it brings the client and no web server; with `[sandbox]` added,
the sandbox serves a job that the installed client tracks and downloads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import up42_facade

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# pip resolves the geopandas stack into the fresh environment: a minute at most here.
INSTALL_TIMEOUT = 600

SHORT_STORY = textwrap.dedent(
    """
    import json, sys, tempfile
    from pathlib import Path

    import up42_facade as up42
    from up42_sandbox import Sandbox

    with Sandbox(speed=20) as sandbox, tempfile.TemporaryDirectory() as folder:
        job_id = sandbox.create_job("succeeds", features=2)
        with up42.authenticate(
            project_id=sandbox.project_id,
            project_api_key=sandbox.project_api_key,
            base_url=sandbox.base_url,
        ):
            job = up42.initialize_job(job_id)
            status = job.track_status(poll_interval=0.1)
            files = job.download_results(folder, show_progress=False)
            names = sorted(Path(path).name for path in files)
    print(json.dumps({"status": status, "names": names, "module": up42.__file__}))
    """
)


def _run(command: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UP42_", "PIP_", "VIRTUAL"))}
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [str(part) for part in command],
        capture_output=True, text=True, check=False, env=env, **kwargs,
    )  # fmt: skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = _run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", out, ROOT], timeout=INSTALL_TIMEOUT
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = out.glob("up42_facade-*.whl")
    return path


@pytest.fixture(scope="module")
def client(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding the wheel without extras; its bin folder."""
    venv = tmp_path_factory.mktemp("client") / "venv"
    made = _run([sys.executable, "-m", "venv", venv], timeout=120)
    assert made.returncode == 0, made.stderr
    bin_dir = venv / "bin"
    installed = _run(
        [bin_dir / "python", "-m", "pip", "install", "--quiet", "--no-compile", wheel],
        timeout=INSTALL_TIMEOUT,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return bin_dir


def _has(bin_dir: Path, module: str) -> bool:
    probe = f"import importlib.util; print(importlib.util.find_spec({module!r}) is not None)"
    done = _run([bin_dir / "python", "-c", probe], timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip() == "True"


def test_without_extras_no_web_server_comes_along(client: Path) -> None:
    for server in ("starlette", "uvicorn"):
        assert not _has(client, server), server
    assert _has(client, "up42_facade")
    assert _has(client, "up42_jobs_client")


def test_without_extras_the_client_imports_and_the_cli_runs(client: Path) -> None:
    done = _run([client / "python", "-c", "import up42_facade; print(up42_facade.__version__)"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == up42_facade.__version__
    helped = _run([client / "up42-facade", "--help"], timeout=60)
    assert helped.returncode == 0, helped.stderr
    assert "Usage: up42-facade" in helped.stdout


def test_without_the_extra_the_sandbox_names_what_to_install(client: Path) -> None:
    done = _run([client / "up42-sandbox", "--help"], timeout=60)
    assert "pip install 'up42-facade[sandbox]'" in done.stderr
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_with_the_sandbox_extra_a_job_is_tracked_and_downloaded(client: Path, wheel: Path) -> None:
    added = _run(
        [client / "python", "-m", "pip", "install", "--quiet", "--no-compile", f"{wheel}[sandbox]"],
        timeout=INSTALL_TIMEOUT,
    )
    assert added.returncode == 0, added.stdout + added.stderr
    assert _has(client, "uvicorn")
    done = _run([client / "python", "-c", SHORT_STORY], timeout=120, cwd=client)
    assert done.returncode == 0, done.stdout + done.stderr
    story = json.loads(done.stdout.strip().splitlines()[-1])
    assert story["status"] == "SUCCEEDED"
    assert story["names"].count("data.json") == 1
    assert sum(name.endswith(".tif") for name in story["names"]) == 2
    # The installed copy ran, not the repository's.
    assert Path(story["module"]).is_relative_to(client.parent)
