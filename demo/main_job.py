"""The main job, end to end, through the public facade API, as a user would run it.

Without credentials it starts the local sandbox of the UP42 API on free ports and
creates a job there; with ``UP42_PROJECT_ID``, ``UP42_PROJECT_API_KEY`` (and
optionally ``UP42_BASE_URL``) and ``--job-id`` it runs against the real API.

    python demo/main_job.py                      # sandbox
    python demo/main_job.py --job-id <uuid>      # real API, credentials from the environment
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.table import Table

import up42_facade as up42

console = Console()

# At this speed the sandbox job takes a few seconds: fast, yet the live status is watchable.
SANDBOX_SPEED = 2.0
# Four footprints make a 2x2 quicklook grid.
SANDBOX_FEATURES = 4


@contextlib.contextmanager
def api(job_id: str | None, speed: float) -> Iterator[tuple[up42.Up42, str, str]]:
    """A session and a job id: the real API given credentials and a job, else the sandbox."""
    if job_id and os.environ.get("UP42_PROJECT_ID") and os.environ.get("UP42_PROJECT_API_KEY"):
        with up42.authenticate() as session:
            yield session, job_id, f"the UP42 API at {session.base_url}"
        return
    from up42_sandbox import Sandbox

    with Sandbox(speed=speed) as sandbox:
        created = sandbox.create_job("succeeds", name="Demo job_py", features=SANDBOX_FEATURES)
        with up42.authenticate(
            project_id=sandbox.project_id,
            project_api_key=sandbox.project_api_key,
            base_url=sandbox.base_url,
        ) as session:
            yield session, created, f"the local sandbox at {sandbox.base_url}"


def track(job: up42.Job) -> None:
    start = time.monotonic()
    with console.status("waiting for the job", spinner="dots") as live:

        def show(status: str) -> None:
            live.update(f"job is [bold]{status}[/] ({time.monotonic() - start:.1f} s)")

        final = job.track_status(report_time=3600, poll_interval=0.5, callback=show)
    console.print(f"[green]✓[/] job {final} after {time.monotonic() - start:.1f} s")


def show_logs(job: up42.Job) -> None:
    logs = job.get_logs(as_print=False, as_return=True) or {}
    names = {task["id"]: task["name"] for task in job.get_jobtasks(return_json=True)}
    for task_id, text in logs.items():
        lines = text.strip().splitlines()
        console.print(
            f"[bold]{names.get(task_id, task_id)}[/] ({len(lines)} log lines), last ones:"
        )
        for line in lines[-2:]:
            console.print(f"    {line}", highlight=False)


def download(job: up42.Job, folder: Path) -> list[str]:
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    with Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), console=console,
    ) as bar:  # fmt: skip
        task = bar.add_task("results", total=None)
        files = job.download_results(
            output_directory=folder,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            show_progress=False,
        )
    console.print(f"[green]✓[/] {len(files)} files unpacked into {folder}")
    return files


def summarise(job: up42.Job) -> None:
    frame = job.get_results_json(as_dataframe=True)
    table = Table(title=f"{len(frame)} result footprints (EPSG:{frame.crs.to_epsg()})")
    for column in ("uid", "mission", "cloud cover %", "area km²", "image"):
        table.add_column(column)
    areas = frame.to_crs(frame.estimate_utm_crs()).area / 1e6
    for (_, row), area in zip(frame.iterrows(), areas, strict=True):
        table.add_row(
            str(row["uid"])[:8],
            str((row.get("acquisition") or {}).get("mission", "")),
            f"{(row.get('contentDescription') or {}).get('cloudCoverPercentage', 0.0):.1f}",
            f"{area:.1f}",
            str(row.get("up42.data_path", "")).split("/")[-1],
        )
    console.print(table)


def pictures(job: up42.Job, output: Path) -> tuple[Path, Path, Path]:
    """The quicklook grid and the coverage plot (PNG), and the footprint map (HTML)."""
    paths = job.download_quicklooks(output_directory=output / "quicklooks")
    grid = output / "quicklooks.png"
    short = [Path(path).stem.removeprefix("quicklook_")[:8] for path in paths]
    job.plot_quicklooks(figsize=(8, 8), titles=short).savefig(grid, dpi=100)
    coverage = output / "coverage.png"
    frame = job.get_results_json(as_dataframe=True)
    frame["scene"] = frame["uid"].str[:8]
    job.plot_coverage(frame, legend_column="scene", figsize=(8, 6)).savefig(coverage, dpi=100)
    footprints = output / "map.html"
    job.map_results(show_images=True, show_features=True, save_html=footprints)
    return grid, coverage, footprints


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--job-id", default=os.environ.get("UP42_JOB_ID"), help="a job of the real API"
    )
    parser.add_argument("--output", type=Path, default=Path("demo-output"), help="where to write")
    parser.add_argument("--speed", type=float, default=SANDBOX_SPEED, help="sandbox time scale")
    options = parser.parse_args(argv)
    os.environ["MPLBACKEND"] = "Agg"  # files, not windows: the plots return their figures
    output: Path = options.output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        with api(options.job_id, options.speed) as (session, job_id, where):
            console.rule(f"up42-facade {up42.__version__}: the main job on {where}")
            job = session.initialize_job(job_id)
            console.print(repr(job), highlight=False)
            track(job)
            show_logs(job)
            download(job, output / "results")
            summarise(job)
            grid, coverage, footprints = pictures(job, output)
            credits = job.get_credits()["creditsUsed"]
    except up42.Up42Error as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return 1
    console.print(f"[green]✓[/] credits used: {credits}")
    console.rule("what was written")
    console.print(f"results:        {output / 'results'}")
    console.print(f"quicklook grid: {grid}")
    console.print(f"coverage plot:  {coverage}")
    console.print(f"footprint map:  {footprints}")
    console.print(f"done in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
