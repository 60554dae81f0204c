"""Results downloads: a verified, resumable transfer into a part file, unpacked as it grows.

``download_results`` streams the archive into a part file inside a staging folder in the
target and, for tar archives, unpacks it on a second thread while it downloads (like
``curl | tar xz``), so unpacking costs little extra time. Nothing counts until the
download verified and the whole archive passed the safety checks; then the files move
into place together. On any failure (or Ctrl-C) nothing is left behind, not even the
folders the call created.

The parts: ``_transfer`` (requests, resumes, retries), ``_storage`` (connections),
``_integrity`` (hashes), ``_partfile`` (the growing file), ``_unpack`` (safe unpacking).

Example:
    >>> files = download_results(job._download_url, Path("project_x/job_y"))  # doctest: +SKIP
    >>> files[:1]  # doctest: +SKIP
    ['project_x/job_y/data.json']
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from ._archive_rules import HEAD_SIZE, is_zip
from ._errors import DownloadError, UnsafeArchiveError
from ._files import folders_made_for, make_folder
from ._options import DownloadOptions
from ._partfile import FollowReader, PartFile, Superseded
from ._paths import FALLBACK_NAME, safe_filename
from ._progress import ProgressCallback, progress_reporter
from ._transfer import Restart, Transfer, TransferSettings
from ._unpack import Staging

__all__ = ["download_file", "download_results"]

LOGGER = logging.getLogger("up42_facade")


def download_results(
    get_url: Callable[[], str],
    output_directory: str | os.PathLike[str],
    *,
    unpacking: bool = True,
    settings: TransferSettings | None = None,
    options: DownloadOptions | None = None,
    progress: ProgressCallback | None = None,
    show_progress: bool | None = None,
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
        settings: The session's storage transport, retry policy and sleep (default: a
            session-less default).
        options: Integrity, timeout, attempts and archive limits.
        progress: Called with ``(bytes done, bytes total or None)`` as bytes arrive.
        show_progress: Show a progress bar on stderr; None shows it when stderr is a terminal.

    Returns:
        The paths of the regular files written (with ``unpacking=False``, the archive's).

    Raises:
        DownloadError: The download could not be completed, or the archive is damaged.
        IntegrityError: The bytes did not match the announced size or hash, also after a
            fresh download.
        UnsafeArchiveError: A member is a link or device file, has an absolute name or
            ``..``, or the archive is over ``max_members`` or ``max_total_size``.
        ConfigurationError: The proxy for the storage URL cannot be used.
    """
    target = Path(output_directory)
    settings = settings or TransferSettings()
    options = options or DownloadOptions()
    with folders_made_for(target):
        if not unpacking:
            path = download_file(
                get_url,
                target,
                settings=settings,
                options=options,
                progress=progress,
                show_progress=show_progress,
            )
            return [str(path)]
        with (
            Staging(
                target, max_members=options.max_members, max_total_size=options.max_total_size
            ) as staging,
            Transfer(get_url, settings=settings, options=options) as transfer,
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


def download_file(
    get_url: Callable[[], str],
    directory: str | os.PathLike[str],
    *,
    settings: TransferSettings | None = None,
    options: DownloadOptions | None = None,
    progress: ProgressCallback | None = None,
    show_progress: bool | None = None,
) -> Path:
    """Download the object at a signed URL into ``directory``, verified, under its own name.

    The bytes go to a hidden temporary file in ``directory`` that is renamed into place
    only once complete and verified; on any failure (or Ctrl-C) it is removed.

    Args:
        get_url: Asks the API for a (fresh) signed URL.
        directory: The folder; created if missing.
        settings: As for ``download_results``.
        options: As for ``download_results`` (the archive limits do not apply).
        progress: Called with ``(bytes done, bytes total or None)`` as bytes arrive.
        show_progress: Show a progress bar; None shows one when stderr is a terminal.

    Returns:
        The path of the archive, named as Content-Disposition (or the URL path) says.

    Raises:
        DownloadError: The download could not be completed.
        IntegrityError: The bytes did not match the announced size or hash, also after a
            fresh download.
    """
    directory = Path(directory)
    make_folder(directory)
    with (
        Transfer(
            get_url, settings=settings or TransferSettings(), options=options or DownloadOptions()
        ) as transfer,
        PartFile(directory) as part,
        progress_reporter(progress, show_progress, "results") as report,
    ):
        copy_to_part(transfer, part, report)
        final = directory / archive_name(transfer)
        try:
            part.path.replace(final)
        except OSError as exc:
            raise DownloadError(f"could not move the archive to {final}: {exc}") from exc
    LOGGER.debug("downloaded %s to %s", transfer.where, final)
    return final


def archive_name(transfer: Transfer) -> str:
    """The name the server gives the archive: Content-Disposition, else the URL path."""
    return safe_filename(transfer.object.filename) or transfer.url_filename or FALLBACK_NAME


def copy_to_part(
    transfer: Transfer,
    part: PartFile,
    report: ProgressCallback,
    *,
    on_restart: Callable[[], None] | None = None,
    after_chunk: Callable[[], None] | None = None,
) -> None:
    """Write the whole verified object into ``part``, starting over when told to.

    Args:
        transfer: The transfer to drain.
        part: The file to write.
        report: Progress callback.
        on_restart: Called after the part file was emptied for a new start.
        after_chunk: Called after each chunk (may raise to stop the download).

    Raises:
        DownloadError: See ``Transfer.next_chunk``.
        IntegrityError: See ``Transfer.next_chunk``.
    """
    while True:
        try:
            chunk = transfer.next_chunk()
        except Restart:
            part.reset()
            report(0, transfer.object.size)
            if on_restart is not None:
                on_restart()
            continue
        if chunk is None:
            break
        try:
            part.write(chunk)
        except OSError as exc:
            raise DownloadError(
                f"could not write the download to {part.path.parent}: {exc}"
            ) from exc
        report(transfer.offset, transfer.object.size)
        if after_chunk is not None:
            after_chunk()
    part.finish()


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
