"""The transfer layer the ``Job`` and ``JobTask`` methods call: download, unpack, upload.

``download_results`` streams the archive into a staging folder inside the target and, for
tar archives, unpacks it on a second thread while it downloads (like ``curl | tar xz``),
so unpacking costs little extra time. Nothing counts until the download verified and the
whole archive passed the safety checks; then the files move into place together.

Example:
    >>> files = download_results(job._download_url, Path("project_x/job_y"))  # doctest: +SKIP
    >>> files[:1]  # doctest: +SKIP
    ['project_x/job_y/data.json']
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from ._download import (
    DEFAULT_BACKOFF,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_TIMEOUT,
    DEFAULT_VERIFY,
    FollowReader,
    PartFile,
    ProgressCallback,
    Superseded,
    Transfer,
    VerifyMode,
    copy_to_part,
    download_file,
    progress_reporter,
    redact_url,
    stream_to_blob,
)
from ._errors import UnsafeArchiveError
from ._unpack import (
    DEFAULT_MAX_MEMBERS,
    DEFAULT_MAX_TOTAL_SIZE,
    HEAD_SIZE,
    Staging,
    is_zip,
    unpack_archive,
)

__all__ = [
    "DEFAULT_MAX_MEMBERS",
    "DEFAULT_MAX_TOTAL_SIZE",
    "ProgressCallback",
    "VerifyMode",
    "download_file",
    "download_results",
    "redact_url",
    "stream_to_blob",
    "unpack_archive",
]

LOGGER = logging.getLogger("up42_facade")


class _BackgroundUnpacker:
    """Unpacks a tar archive from a growing part file on its own thread.

    A zip cannot be read front to back (its index is at the end), so for a zip the thread
    only notices the format and the archive is unpacked once the download is complete.
    When the download starts over, the thread is stopped, the staging folder emptied and a
    new thread follows the new bytes.
    """

    def __init__(self, part: PartFile, staging: Staging) -> None:
        self._part = part
        self._staging = staging
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._zip = False
        self._start()

    def __enter__(self) -> _BackgroundUnpacker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Leaving early (an error, Ctrl-C): the reader sees the abandoned file and stops,
        # and closes it before the part file is deleted (Windows cannot delete open files).
        if exc_type is not None:
            self._part.abandon()
        self._join()

    def _start(self) -> None:
        self._error = None
        self._zip = False
        reader = self._part.follow()
        self._thread = threading.Thread(
            target=self._run, args=(reader,), name="up42-unpack", daemon=True
        )
        self._thread.start()

    def _run(self, reader: FollowReader) -> None:
        with reader:
            try:
                if is_zip(reader.peek(HEAD_SIZE)):
                    self._zip = True
                    return
                self._staging.extract_tar(reader)
            except Superseded:
                return
            except BaseException as exc:  # handed to the downloading thread, raised there
                self._error = exc

    def _join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def restart(self) -> None:
        """The part file started over: unpack the new bytes from scratch."""
        self._join()
        self._staging.clear()
        self._start()

    def check(self) -> None:
        """Stop the download at once when the archive was refused (no need to fetch the rest).

        Raises:
            UnsafeArchiveError: The archive has a member that must not be unpacked.
        """
        if isinstance(self._error, UnsafeArchiveError):
            raise self._error

    def finish(self) -> None:
        """Wait for the unpacking to end (the part file is complete and verified).

        Raises:
            UnsafeArchiveError: The archive has a member that must not be unpacked.
            DownloadError: The archive is damaged or not an archive.
        """
        self._join()
        if self._error is not None:
            raise self._error
        if self._zip:
            self._staging.extract_zip(self._part.path)


def download_results(
    get_url: Callable[[], str],
    output_directory: str | os.PathLike[str],
    *,
    unpacking: bool = True,
    progress: ProgressCallback | None = None,
    show_progress: bool | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    max_members: int = DEFAULT_MAX_MEMBERS,
    max_total_size: int = DEFAULT_MAX_TOTAL_SIZE,
    backoff: float = DEFAULT_BACKOFF,
    verify: VerifyMode = DEFAULT_VERIFY,
) -> list[str]:
    """Download a results archive from its signed URL and (by default) unpack it.

    The download streams in 1 MiB chunks into a temporary file inside
    ``output_directory``, resumes after dropped connections, asks once for a fresh URL when
    storage refuses the signed one, and verifies Content-Length and ``x-goog-hash``. The
    archive's files (with a leading ``output/`` dropped) replace same-named entries in
    ``output_directory`` only when everything passed; otherwise nothing is left behind.

    Args:
        get_url: Asks the API for a (fresh) signed URL; called once at the start and again
            after storage refused the URL or a download did not verify.
        output_directory: The folder for the files; created if missing.
        unpacking: Unpack the archive; with False keep it under the name the server gives.
        progress: Called with ``(bytes done, bytes total or None)`` as bytes arrive.
        show_progress: Show a progress bar on stderr; None shows it when stderr is a terminal.
        timeout: Seconds of silence before a connection counts as dropped.
        max_attempts: Requests per download (the first one plus resumes) before giving up.
        max_members: Refuse archives with more members than this.
        max_total_size: Refuse archives that unpack to more bytes than this.
        backoff: First pause in seconds after a request that brought no bytes.
        verify: "auto" checks crc32c when storage announced one and google-crc32c is
            installed, else md5; "all" checks every announced hash (slower: md5).

    Returns:
        The paths of the regular files written (with ``unpacking=False``, the archive's).

    Raises:
        DownloadError: The download could not be completed, or the archive is damaged.
        IntegrityError: The bytes did not match the announced size or hash, also after a
            fresh download.
        UnsafeArchiveError: A member is a link or device file, has an absolute name or
            ``..``, or the archive is over ``max_members`` or ``max_total_size``.
    """
    target = Path(output_directory)
    created = _missing_folders(target)
    try:
        return _download_results(
            get_url,
            target,
            unpacking=unpacking,
            progress=progress,
            show_progress=show_progress,
            timeout=timeout,
            max_attempts=max_attempts,
            max_members=max_members,
            max_total_size=max_total_size,
            backoff=backoff,
            verify=verify,
        )
    except BaseException:
        # A failed download leaves nothing, not even the folders it created for itself.
        for folder in created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty
        raise


def _missing_folders(target: Path) -> list[Path]:
    """The folders from ``target`` up that do not exist yet, deepest first."""
    missing = []
    for folder in (target, *target.parents):
        if folder.exists():
            break
        missing.append(folder)
    return missing


def _download_results(
    get_url: Callable[[], str],
    target: Path,
    *,
    unpacking: bool,
    progress: ProgressCallback | None,
    show_progress: bool | None,
    timeout: float,
    max_attempts: int,
    max_members: int,
    max_total_size: int,
    backoff: float,
    verify: VerifyMode,
) -> list[str]:
    if not unpacking:
        path = download_file(
            get_url,
            target,
            progress=progress,
            show_progress=show_progress,
            timeout=timeout,
            max_attempts=max_attempts,
            backoff=backoff,
            verify=verify,
        )
        return [str(path)]
    with (
        Staging(target, max_members=max_members, max_total_size=max_total_size) as staging,
        Transfer(
            get_url, timeout=timeout, max_attempts=max_attempts, backoff=backoff, verify=verify
        ) as transfer,
        PartFile(staging.path) as part,
        _BackgroundUnpacker(part, staging) as unpacker,
        progress_reporter(progress, show_progress, "results") as report,
    ):
        copy_to_part(
            transfer, part, report, on_restart=unpacker.restart, after_chunk=unpacker.check
        )
        unpacker.finish()
        part.discard()
        files = staging.commit()
    LOGGER.debug("downloaded and unpacked %s: %d files", transfer.where, len(files))
    return [str(path) for path in files]
