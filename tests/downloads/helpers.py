"""What download stories check: the folder holds exactly the archive's files, or nothing new."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

import up42_facade as up42
from up42_sandbox import Sandbox

MiB = 1 << 20
#: Sandbox archive padding: several 1 MiB chunks, so a drop or a Ctrl-C lands mid-download.
PADDING = 3 * MiB
#: Where a dropped connection breaks off: past the first chunk, not on a chunk boundary.
DROP_AT = MiB + 12_345
#: Entries this package creates in a target folder while it works (part files, staging).
TEMPORARY_PREFIX = ".up42-"
#: A file of an earlier run in the download folder: every failure must leave it as it was.
EARLIER = {"earlier.txt": b"from an earlier run\n"}
#: What the sandbox's hostile archives try to write outside the folder (up42_sandbox._archives).
ESCAPES = (
    Path("/tmp/sandbox-escape-absolute.txt"),
    Path("/tmp/sandbox-escape-symlink.txt"),
)


class RecordingSleep:
    """A session's ``sleep`` that records every wait and really sleeps at most ``real``."""

    def __init__(self, real: float = 0.001) -> None:
        self.calls: list[float] = []
        self._real = real

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        time.sleep(min(seconds, self._real))


def finished_job(sandbox: Sandbox, session: up42.Up42, **options: Any) -> up42.Job:
    """A SUCCEEDED job of the sandbox (``create_job`` options), as the session sees it."""
    job_id = sandbox.create_job("succeeds", start_status="SUCCEEDED", **options)
    return session.initialize_job(job_id)


def small_job(sandbox: Sandbox, session: up42.Up42) -> up42.Job:
    """A job whose results archive a test-local storage server plays (the sandbox's is tiny)."""
    return finished_job(sandbox, session, tasks=1, features=1)


def expected_files(sandbox: Sandbox, job_id: str) -> dict[str, bytes]:
    """The archive's regular files by their unpacked path (a leading ``output/`` dropped)."""
    return archive_files(sandbox.archive_path(job_id))


def archive_files(path: Path) -> dict[str, bytes]:
    """The regular files of a tar(.gz) or zip file, read with the standard library."""
    files: dict[str, bytes] = {}
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    files[info.filename] = archive.read(info)
    else:
        with tarfile.open(path) as archive:
            for member in archive.getmembers():
                source = archive.extractfile(member) if member.isfile() else None
                if source is not None:
                    files[member.name] = source.read()
    return {name.removeprefix("output/"): data for name, data in files.items()}


def regular_files(folder: Path) -> dict[str, bytes]:
    """Every regular file under ``folder`` (links excluded) by relative path, with its bytes."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink()
    }


def leftovers(folder: Path) -> list[str]:
    """Temporary entries (part files, staging folders) and links anywhere under ``folder``."""
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.name.startswith(TEMPORARY_PREFIX) or path.is_symlink()
    )


def files_under(folder: Path) -> list[str]:
    """Every entry under ``folder`` (files, folders, links), as sorted relative paths."""
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*"))


def assert_complete(out: Path, paths: list[str], expected: dict[str, bytes]) -> None:
    """The folder holds exactly the archive's files (and the earlier file), nothing else."""
    assert regular_files(out) == {**expected, **EARLIER}
    assert sorted(Path(p).relative_to(out).as_posix() for p in paths) == sorted(expected)
    assert leftovers(out.parent) == []


def assert_untouched(out: Path) -> None:
    """The folder holds what it held before the failed download, and no temporary entry."""
    assert regular_files(out) == EARLIER
    assert leftovers(out.parent) == []


#: What a resumable download leaves after a failure: its bytes and their journal.
RESUMABLE = [".up42-download.part", ".up42-download.part.json"]


def assert_resumable(out: Path) -> int:
    """The folder holds what it held before, plus the part file and journal a resume needs
    (and nothing else); the bytes the part file holds.
    """
    kept = {name: data for name, data in regular_files(out).items() if name not in RESUMABLE}
    assert kept == EARLIER
    assert leftovers(out.parent) == [f"{out.name}/{name}" for name in RESUMABLE]
    journal = json.loads((out / RESUMABLE[1]).read_text())
    on_disk = sum(last - first for first, last in journal["on_disk"])
    assert 0 < on_disk <= (out / RESUMABLE[0]).stat().st_size
    return on_disk


def storage_gets(sandbox: Sandbox) -> list[Any]:
    """The sandbox storage listener's records of GET requests."""
    return sandbox.requests.filter(listener="storage", method="GET")


def url_requests(sandbox: Sandbox) -> list[Any]:
    """The API requests for a signed download URL."""
    return sandbox.requests.filter(listener="api", path="/downloads/results")


def blob_of(size: int, seed: int = 0) -> bytes:
    """``size`` reproducible, incompressible bytes."""
    return hashlib.shake_256(f"{seed}".encode()).digest(size)


def tgz(members: dict[str, bytes], *, mode: str = "w:gz") -> bytes:
    """A tar archive (gzipped by default) of regular files."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def unpacked(members: dict[str, bytes]) -> dict[str, bytes]:
    """Archive members as they land on disk: a leading ``output/`` dropped."""
    return {name.removeprefix("output/"): data for name, data in members.items()}


#: A results archive for test-local storage: data.json and two images over several chunks.
MEMBERS = {
    "output/data.json": b'{"type": "FeatureCollection", "features": []}',
    "output/f1/f1_0-0.tif": blob_of(2 * MiB, seed=1),
    "output/f2/f2_0-0.tif": blob_of(MiB // 2, seed=2),
}


class RecordingBucket:
    """A stand-in of ``google.cloud.storage.Bucket`` whose blobs keep only sizes and a hash."""

    def __init__(self) -> None:
        self.blobs: list[RecordingBlob] = []

    def blob(self, name: str) -> RecordingBlob:
        self.blobs.append(RecordingBlob(name))
        return self.blobs[-1]


class RecordingBlob:
    def __init__(self, name: str) -> None:
        self.name = name
        self.uploads: list[RecordingWriter] = []

    def open(self, mode: str, **options: Any) -> RecordingWriter:
        assert mode == "wb"
        self.uploads.append(RecordingWriter(options))
        return self.uploads[-1]


class RecordingWriter:
    """Like google-cloud-storage 3's ``BlobWriter``: leaving with an exception cancels."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0
        self.state = "open"

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.state = "cancelled" if exc_type is not None else "finalized"

    def write(self, data: bytes | memoryview) -> int:
        self.md5.update(data)
        self.size += len(data)
        return len(data)
