"""Jobs that move over time: one lock-protected store, status computed from elapsed time.

Nothing runs in the background. A job remembers when it was created (``time.monotonic()``) and
its status, task statuses, logs and credits are pure functions of the elapsed time multiplied by
the sandbox speed. That keeps the store trivially thread-safe and makes ``speed=20`` finish a
default job in 0.4 s while ``speed=1`` stays watchable in the demo.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from ._archives import (
    HOSTILE_KINDS,
    Archive,
    ArchiveFormat,
    build_archive,
    make_features,
    png_bytes,
    seeded_uuid,
    tiff_bytes,
)

__all__ = ["KNOWN_STATUSES", "OUTCOMES", "TERMINAL", "Job", "JobStore", "Outcome", "Task"]

Outcome = Literal["succeeds", "fails", "long_running"]
OUTCOMES: frozenset[str] = frozenset({"succeeds", "fails", "long_running"})

#: The status values the spec knows (KnownJobStatus).
KNOWN_STATUSES = frozenset(
    {"NOT STARTED", "PENDING", "RUNNING", "SUCCEEDED", "FAILED", "ERROR", "CANCELLED", "CANCELLING"}
)
#: Statuses after which nothing changes any more.
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "ERROR", "CANCELLED"})
#: Sandbox seconds spent in NOT STARTED and then PENDING: short, but long enough that a poller
#: sees both (the real API queues jobs for seconds to minutes).
NOT_STARTED_SECONDS = 1.0
PENDING_SECONDS = 1.0
RUN_START = NOT_STARTED_SECONDS + PENDING_SECONDS
#: Sandbox seconds a job stays CANCELLING before it is CANCELLED.
CANCEL_SECONDS = 2.0
#: Sandbox seconds between the progress lines of a task that runs until cancelled.
PROGRESS_LINE_SECONDS = 1.0
#: Statuses a job may be created in (``start_status``), with the elapsed time that gives them.
START_STATUSES = frozenset(
    {"NOT STARTED", "PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLING", "CANCELLED"}
)
#: Workflow blocks, in the order tasks use them: (name, version), like the real catalogue.
BLOCKS = (
    ("esa-s2-l2a-gtiff-visual", "1.0.1"),
    ("pansharpen", "2.1.0"),
    ("tiling", "2.2.3"),
    ("data-conversion-netcdf", "0.6.1"),
    ("crop", "1.0.2"),
)


def iso(moment: datetime) -> str:
    """``2021-09-28T12:08:45.377339Z``, the real API's timestamp format."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def log_stamp(moment: datetime) -> str:
    """``2021-09-28 12:08:48,112``, the timestamp format of task logs."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%d %H:%M:%S},{utc.microsecond // 1000:03d}"


@dataclass
class Task:
    """One task of a job: a workflow block with its own window of the job's RUNNING phase."""

    id: str
    name: str
    block: str
    version: str
    start: float
    end: float
    fails: bool
    features: list[dict[str, Any]]
    quicklooks: dict[str, bytes]
    archive: Archive | None = None
    log_lines: list[tuple[float, str, str]] = field(default_factory=list)


@dataclass
class Job:
    """A job's fixed facts; everything that changes is derived from elapsed time."""

    id: str
    project_id: str
    name: str
    mode: str
    outcome: Outcome
    credits: int
    forced_status: str | None
    t0: float
    created: datetime
    user_id: str
    workflow_id: str
    inputs: dict[str, Any]
    tasks: list[Task]
    run_end: float
    archive_format: ArchiveFormat
    cancelled_at: float | None = None

    @property
    def archive(self) -> Archive | None:
        """The job's results archive: the last task's, as on the real API."""
        return self.tasks[-1].archive


@dataclass(frozen=True)
class Snapshot:
    """A job's state at one moment, computed once per request."""

    job: Job
    elapsed: float
    speed: float

    def wall(self, offset: float) -> datetime:
        """The wall-clock time of a sandbox offset (sandbox seconds after creation)."""
        return self.job.created + timedelta(seconds=offset / self.speed)

    @property
    def cancel_end(self) -> float | None:
        """When a cancelled job becomes CANCELLED (None when not cancelled)."""
        at = self.job.cancelled_at
        return None if at is None else at + CANCEL_SECONDS

    @property
    def natural_status(self) -> str:
        """The status the job's timeline gives, before any forced status."""
        e, job = self.elapsed, self.job
        cancel_end = self.cancel_end
        if cancel_end is not None:
            return "CANCELLING" if e < cancel_end else "CANCELLED"
        if e < NOT_STARTED_SECONDS:
            return "NOT STARTED"
        if e < RUN_START:
            return "PENDING"
        if e < job.run_end:
            return "RUNNING"
        return "FAILED" if job.outcome == "fails" else "SUCCEEDED"

    @property
    def status(self) -> str:
        """The status the API reports."""
        return self.job.forced_status or self.natural_status

    @property
    def ended(self) -> bool:
        """Whether the job's timeline is over."""
        return self.natural_status in TERMINAL

    def end_offset(self) -> float | None:
        """The sandbox offset at which the job ended (None while it runs)."""
        if not self.ended:
            return None
        cancel_end = self.cancel_end
        return cancel_end if cancel_end is not None else self.job.run_end

    def task_status(self, task: Task) -> str:
        """A task's status at this moment."""
        e, at = self.elapsed, self.job.cancelled_at
        if at is not None and at < task.end:
            if at < task.start:
                return "NOT STARTED" if e < at + CANCEL_SECONDS else "CANCELLED"
            return "CANCELLING" if e < at + CANCEL_SECONDS else "CANCELLED"
        if e < task.start:
            return "NOT STARTED"
        if e < task.end:
            return "RUNNING"
        return "FAILED" if task.fails else "SUCCEEDED"

    def task_window(self, task: Task) -> tuple[float | None, float | None]:
        """Offsets at which a task started and finished, None for "not yet"."""
        e, at = self.elapsed, self.job.cancelled_at
        started = task.start if e >= task.start and (at is None or at >= task.start) else None
        end = task.end
        if at is not None and at < task.end:
            end = at + CANCEL_SECONDS
        finished = end if e >= end and started is not None else None
        return started, finished

    def start_offset(self) -> float | None:
        """The sandbox offset at which the job started running (None while it has not)."""
        at = self.job.cancelled_at
        if self.elapsed >= RUN_START and (at is None or at >= RUN_START):
            return RUN_START
        return None

    def job_json(self) -> dict[str, Any]:
        """The job object of ``GET /projects/{p}/jobs/{j}``."""
        job = self.job
        status = self.natural_status
        end = self.end_offset()
        if status == "NOT STARTED":
            updated = 0.0
        elif status == "PENDING":
            updated = NOT_STARTED_SECONDS
        elif status in {"RUNNING"}:
            updated = RUN_START
        elif status == "CANCELLING":
            updated = float(job.cancelled_at or 0.0)
        else:
            updated = float(end or 0.0)
        started = self.start_offset()
        actor = {"id": job.user_id, "type": "USER"}
        return {
            "id": job.id,
            "displayId": job.id[:8],
            "createdAt": iso(job.created),
            "updatedAt": iso(self.wall(updated)),
            "createdBy": actor,
            "updatedBy": actor,
            "status": self.status,
            "name": job.name,
            "startedAt": None if started is None else iso(self.wall(started)),
            "finishedAt": None if end is None else iso(self.wall(end)),
            "inputs": job.inputs,
            "mode": job.mode,
            "workflowId": job.workflow_id,
            "workflowName": "Demo Workflow",
        }

    def task_json(self, task: Task) -> dict[str, Any]:
        """One item of ``GET .../tasks/``."""
        started, finished = self.task_window(task)
        return {
            "id": task.id,
            "name": task.name,
            "status": self.task_status(task),
            "startedAt": None if started is None else iso(self.wall(started)),
            "finishedAt": None if finished is None else iso(self.wall(finished)),
            "block": {"name": task.block},
            "blockVersion": task.version,
        }

    def log_text(self, task: Task) -> str:
        """The task's log so far: it grows while the task runs and stops when it ends."""
        # A task that has not started yet says so: an empty body is not a valid text answer
        # for strict OpenAPI validators, and the real scheduler logs queued tasks too.
        lines = [
            f"{log_stamp(self.job.created)} - INFO - Task {task.name} created, waiting to start\n"
        ]
        lines.extend(
            f"{log_stamp(self.wall(offset))} - {level} - {message}\n"
            for offset, level, message in self._log_lines(task)
        )
        return "".join(lines)

    def _log_lines(self, task: Task) -> Iterator[tuple[float, str, str]]:
        started, _ = self.task_window(task)
        if started is None:
            return
        cut = self.elapsed
        at = self.job.cancelled_at
        cancelled = at is not None and task.start <= at < task.end
        if cancelled:
            cut = min(cut, float(at or 0.0))
        for offset, level, message in task.log_lines:
            if offset <= cut:
                yield offset, level, message
        if math.isinf(task.end):
            # A task that runs until cancelled reports progress forever.
            first = task.log_lines[-1][0] if task.log_lines else task.start
            step = 1
            while first + step * PROGRESS_LINE_SECONDS <= cut:
                yield first + step * PROGRESS_LINE_SECONDS, "INFO", f"Processed tile {step}"
                step += 1
        if cancelled and at is not None:
            yield at, "WARNING", "Received cancellation request, stopping"
            if self.elapsed >= at + CANCEL_SECONDS:
                yield at + CANCEL_SECONDS, "INFO", "Block cancelled"

    def credits_used(self) -> int:
        """0 until the job has ended, then what it cost."""
        return self.job.credits if self.ended else 0

    def task_outputs_ready(self, task: Task) -> bool:
        """A task's outputs (data.json, quicklooks, archive) exist once it succeeded."""
        return self.task_status(task) == "SUCCEEDED"


def _log_script(task: Task, rng: random.Random) -> list[tuple[float, str, str]]:
    """The lines a task writes, at sandbox offsets spread over its running window."""
    span = (task.end - task.start) if math.isfinite(task.end) else 1.0
    at = [task.start + span * f for f in (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 0.999)]
    uids = [feature["properties"]["uid"] for feature in task.features]
    lines = [(at[0], "INFO", f"Starting block {task.name}")]
    if task.block.startswith("esa-"):
        lines.append((at[1], "INFO", "Searching scenes intersecting the area of interest"))
        lines.append((at[2], "INFO", f"Found {len(uids)} scene(s)"))
    else:
        lines.append((at[1], "INFO", "Reading the outputs of the previous block"))
        lines.append((at[2], "INFO", f"Processing {len(uids)} image(s)"))
    if task.fails:
        lines.append((at[3], "INFO", f"Downloading scene {rng.randrange(10**6):06d}"))
        lines.append(
            (at[6], "ERROR", "Block failed: upstream image has no valid pixels in the AOI")
        )
        return lines
    if not math.isfinite(task.end):
        lines.append((at[3], "INFO", "Processing tiles until cancelled"))
        return lines
    for i, uid in enumerate(uids):
        offset = at[3] + (at[5] - at[3]) * i / max(len(uids), 1)
        lines.append((offset, "INFO", f"Wrote output/{uid}/{uid}_0-0.tif"))
    lines.append((at[6], "INFO", "Block finished"))
    return lines


class JobStore:
    """Every job of the sandbox, behind one lock."""

    def __init__(self, *, root: Path, speed: float, rng: random.Random, project_id: str) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.root = root
        self.speed = speed
        self.project_id = project_id
        self._rng = rng
        self._user_id = seeded_uuid(rng)
        self._workflow_id = seeded_uuid(rng)
        self._lock = threading.Lock()
        self._create_lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._last_created: datetime | None = None

    def create(
        self,
        outcome: str = "succeeds",
        *,
        name: str = "Demo job_py",
        mode: str = "DEFAULT",
        tasks: int = 2,
        duration: float = 6.0,
        features: int = 3,
        padding: int = 0,
        archive: str = "tgz",
        archive_root: str = "output/",
        hostile: str | None = None,
        status: str | None = None,
        credits: int = 100,
        start_status: str | None = None,
    ) -> Job:
        """Create a job; see ``Sandbox.create_job`` for the arguments."""
        outcome, start_status = _check(
            outcome,
            tasks,
            duration,
            features,
            padding,
            archive,
            archive_root,
            hostile,
            start_status,
        )
        # One creation at a time keeps the seeded RNG's sequence (and so every id) stable.
        with self._create_lock:
            job = self._draft(
                outcome, name, mode, tasks, duration, features, archive, status, credits
            )
            for index, task in enumerate(job.tasks):
                files = {"data.json": _feature_collection_bytes(task.features)}
                for feature in task.features:
                    uid = feature["properties"]["uid"]
                    files[f"{uid}/{uid}_0-0.tif"] = tiff_bytes(self._rng, feature["bbox"])
                folder = self.root / job.id / task.id
                folder.mkdir(parents=True, exist_ok=True)
                task.archive = build_archive(
                    folder / f"output.{archive}",
                    files=files,
                    fmt=archive,  # type: ignore[arg-type]
                    root=archive_root,
                    padding=padding if index == len(job.tasks) - 1 else 0,
                    hostile=hostile,
                    mtime=job.created.timestamp(),
                )
            self._place(job, start_status)
            with self._lock:
                self._jobs[job.id] = job
        return job

    def _draft(
        self,
        outcome: Outcome,
        name: str,
        mode: str,
        tasks: int,
        duration: float,
        features: int,
        archive: str,
        status: str | None,
        credits: int,
    ) -> Job:
        rng = self._rng
        job_id = seeded_uuid(rng)
        run_end = math.inf if outcome == "long_running" else RUN_START + duration
        window = duration / tasks
        task_list = []
        for i in range(tasks):
            block, version = BLOCKS[i % len(BLOCKS)]
            start = RUN_START + i * window
            last = i == tasks - 1
            end = math.inf if last and outcome == "long_running" else start + window
            task_features = make_features(rng, features)
            task = Task(
                id=seeded_uuid(rng),
                name=f"{block}:1",
                block=block,
                version=version,
                start=start,
                end=end,
                fails=last and outcome == "fails",
                features=task_features,
                quicklooks={f"{f['properties']['uid']}.png": png_bytes(rng) for f in task_features},
            )
            task.log_lines = _log_script(task, rng)
            task_list.append(task)
        first_block = task_list[0].name
        inputs: dict[str, Any] = {
            first_block: {
                "ids": None,
                "time": "2018-01-01T00:00:00+00:00/2021-12-31T23:59:59+00:00",
                "limit": features,
                "intersects": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [13.375, 52.51],
                            [13.375, 52.52],
                            [13.39, 52.52],
                            [13.39, 52.51],
                            [13.375, 52.51],
                        ]
                    ],
                },
                "max_cloud_cover": 20,
            }
        }
        for task in task_list[1:]:
            inputs[task.name] = {}
        return Job(
            id=job_id,
            project_id=self.project_id,
            name=name,
            mode=mode,
            outcome=outcome,
            credits=credits,
            forced_status=status,
            t0=time.monotonic(),
            created=self._creation_time(),
            user_id=self._user_id,
            workflow_id=self._workflow_id,
            inputs=inputs,
            tasks=task_list,
            run_end=run_end,
            archive_format=archive,  # type: ignore[arg-type]
        )

    def _creation_time(self) -> datetime:
        """Now, but always after the job created before (called under ``_create_lock``).

        Jobs created one after another get distinct ``createdAt`` values even on a coarse
        clock, so sorting a listing by ``createdAt`` gives one order.
        """
        now = datetime.now(UTC)
        last = self._last_created
        if last is not None and now <= last:
            now = last + timedelta(microseconds=1)
        self._last_created = now
        return now

    def _place(self, job: Job, start_status: str | None) -> None:
        """Move a new job's clock back so it starts in ``start_status``."""
        shift = 0.0
        if start_status == "PENDING":
            shift = NOT_STARTED_SECONDS
        elif start_status in {"RUNNING", "CANCELLING"}:
            shift = RUN_START
        elif start_status in {"SUCCEEDED", "FAILED"}:
            shift = job.run_end
        elif start_status == "CANCELLED":
            shift = RUN_START + CANCEL_SECONDS
        if start_status in {"CANCELLING", "CANCELLED"}:
            job.cancelled_at = RUN_START
        # A hair past the boundary so the status holds from the first request on.
        shift += 1e-6 if shift else 0.0
        job.t0 = time.monotonic() - shift / self.speed
        job.created -= timedelta(seconds=shift / self.speed)

    def get(self, job_id: str) -> Job | None:
        """The job, or None."""
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self) -> list[Job]:
        """Every job, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def snapshots(self) -> list[Snapshot]:
        """Every job's state at one and the same moment, oldest job first."""
        with self._lock:
            now = time.monotonic()
            return [
                Snapshot(job=job, elapsed=(now - job.t0) * self.speed, speed=self.speed)
                for job in self._jobs.values()
            ]

    def snapshot(self, job: Job) -> Snapshot:
        """The job's state now."""
        with self._lock:
            elapsed = (time.monotonic() - job.t0) * self.speed
            return Snapshot(job=job, elapsed=elapsed, speed=self.speed)

    def cancel(self, job: Job) -> None:
        """Ask a job to stop: CANCELLING now, CANCELLED shortly after; ended jobs ignore it."""
        with self._lock:
            elapsed = (time.monotonic() - job.t0) * self.speed
            snap = Snapshot(job=job, elapsed=elapsed, speed=self.speed)
            if job.cancelled_at is None and not snap.ended:
                job.cancelled_at = elapsed


def _feature_collection_bytes(features: list[dict[str, Any]]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}, indent=2).encode()


def _check(
    outcome: str,
    tasks: int,
    duration: float,
    features: int,
    padding: int,
    archive: str,
    archive_root: str,
    hostile: str | None,
    start_status: str | None,
) -> tuple[Outcome, str | None]:
    """Validate ``create_job`` arguments early, with messages that say what to pass instead."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, not {outcome!r}")
    if tasks < 1:
        raise ValueError("a job needs at least one task")
    if duration < 0 or not math.isfinite(duration):
        raise ValueError("duration must be a finite number of seconds >= 0")
    if features < 0 or padding < 0:
        raise ValueError("features and padding must be >= 0")
    if archive not in {"tgz", "zip"}:
        raise ValueError(f"archive must be 'tgz' or 'zip', not {archive!r}")
    if archive_root not in {"", "output/"} and not archive_root.endswith("/"):
        raise ValueError("archive_root must be '' or a folder name ending in '/'")
    if hostile is not None and hostile not in HOSTILE_KINDS:
        raise ValueError(f"hostile must be None or one of {sorted(HOSTILE_KINDS)}")
    if archive == "zip" and hostile in {"hardlink", "all"}:
        raise ValueError("zip archives cannot hold hard links; use archive='tgz'")
    if start_status is not None and start_status not in START_STATUSES:
        raise ValueError(f"start_status must be one of {sorted(START_STATUSES)}")
    if start_status == "FAILED":
        outcome = "fails"
    if start_status == "SUCCEEDED" and outcome != "succeeds":
        raise ValueError(f"a job with outcome {outcome!r} cannot start SUCCEEDED")
    return outcome, start_status  # type: ignore[return-value]
