"""Results downloads: a verified, resumable transfer into a part file, unpacked as it grows.

``download_results`` fetches the archive into a part file in the target (over several
connections when it is large, see ``_slices``) and, for tar archives, unpacks it into a
staging folder on a second thread while it downloads, following the part file's contiguous
prefix (like ``curl | tar xz``), so unpacking costs little extra time. Nothing counts until
the download verified and the whole archive passed the safety checks; then the files move
into place together.

On a failure (or Ctrl-C) nothing unpacked is left behind, nor the folders the call created,
with one exception on purpose: with ``resume`` (the default) the bytes downloaded so far
stay in the hidden ``.up42-download.part`` and its ``.json`` journal, so the next download
into the same folder fetches only what is missing (see ``_journal``); both go once it
succeeds. A download whose bytes did not verify, or whose archive was refused as unsafe,
keeps nothing.

The parts: ``_slices`` (one stream or slices), ``_transfer`` (requests, resumes, retries),
``_storage`` (connections), ``_integrity`` (hashes), ``_partfile`` (the growing file),
``_journal`` (what a resume needs), ``_unpack`` (safe unpacking).

Example:
    >>> files = download_results(job._download_url, Path("project_x/job_y"))  # doctest: +SKIP
    >>> files[:1]  # doctest: +SKIP
    ['project_x/job_y/data.json']
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

from ._archive_rules import HEAD_SIZE, is_zip
from ._errors import DownloadError, IntegrityError, UnsafeArchiveError
from ._files import folders_made_for, make_folder
from ._integrity import RemoteObject
from ._journal import PART_NAME, Journal
from ._options import DownloadOptions
from ._partfile import FollowReader, PartFile, Superseded
from ._paths import FALLBACK_NAME, safe_filename
from ._progress import ProgressCallback, progress_reporter
from ._redact import redact_url
from ._slices import PartFetch, disk_full
from ._transfer import SignedUrl, TransferSettings
from ._unpack import STAGING_PREFIX, Staging

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

    The download goes into a hidden part file inside ``output_directory`` (a large archive
    over ``max_connections`` ranged connections), resumes after dropped connections, asks
    once for a fresh URL when storage refuses the signed one, and verifies Content-Length
    and ``x-goog-hash``. The archive's files (with a leading ``output/`` dropped) replace
    same-named entries in ``output_directory`` only when everything passed; otherwise
    nothing unpacked is left behind, and (with ``resume``) the bytes downloaded so far wait
    in the part file for the next call.

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
        urls = SignedUrl(get_url)
        with (
            _part_file(target, urls, options) as (part, journal),
            Staging(
                target, max_members=options.max_members, max_total_size=options.max_total_size
            ) as staging,
            _BackgroundUnpacker(part, staging) as unpacker,
            progress_reporter(progress, show_progress, "results") as report,
        ):
            fetch = PartFetch(
                urls,
                part,
                settings=settings,
                options=options,
                journal=journal,
                report=report,
                on_restart=unpacker.restart,
                after_chunk=unpacker.check,
            )
            with _kept_on_failure(fetch, part, unpacked=lambda: staging.budget.total):
                fetch.run()
                unpacker.finish()
            part.discard()
            if journal is not None:
                journal.remove()
            files = staging.commit()
    LOGGER.debug("downloaded and unpacked %s: %d files", fetch.where, len(files))
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
    options = options or DownloadOptions()
    make_folder(directory)
    urls = SignedUrl(get_url)
    with (
        _part_file(directory, urls, options) as (part, journal),
        progress_reporter(progress, show_progress, "results") as report,
    ):
        fetch = PartFetch(
            urls,
            part,
            settings=settings or TransferSettings(),
            options=options,
            journal=journal,
            report=report,
        )
        with _kept_on_failure(fetch, part):
            known = fetch.run()
        final = directory / archive_name(known, urls.url)
        try:
            part.path.replace(final)
        except OSError as exc:
            raise DownloadError(f"could not move the archive to {final}: {exc}") from exc
        if journal is not None:
            journal.remove()
    LOGGER.debug("downloaded %s to %s", fetch.where, final)
    return final


def archive_name(known: RemoteObject, url: str) -> str:
    """The name the server gives the archive: Content-Disposition, else the URL path."""
    return safe_filename(known.filename) or url_filename(url) or FALLBACK_NAME


def url_filename(url: str) -> str | None:
    """The last component of the URL path, if any."""
    return safe_filename(unquote(urlsplit(url).path))


@contextlib.contextmanager
def _part_file(
    folder: Path, urls: SignedUrl, options: DownloadOptions
) -> Iterator[tuple[PartFile, Journal | None]]:
    """The part file to download into, and its journal when the download can resume: the
    named ``.up42-download.part`` (locked) with ``resume``, else a temporary one."""
    make_folder(folder)
    try:
        if not options.resume:
            _forget_resumable(folder)
            part = PartFile(folder)
            journal = None
        else:
            part = PartFile(path=folder / PART_NAME)
            journal = Journal(part.path, redact_url(urls.url))
    except OSError as exc:
        raise DownloadError(f"cannot write into the download folder {folder}: {exc}") from exc
    with part:
        if journal is not None:
            _sweep_staging(folder)
        yield part, journal


def _sweep_staging(folder: Path) -> None:
    """Remove the half-unpacked staging folders of a download that was killed (``kill -9``, a
    reboot): no other download into ``folder`` runs while this one holds the part file."""
    for stale in folder.glob(f"{STAGING_PREFIX}*"):
        LOGGER.debug("removing %s, left by a download that was killed", stale)
        shutil.rmtree(stale, ignore_errors=True)


def _forget_resumable(folder: Path) -> None:
    """Remove what an earlier resumable download left in ``folder`` (``resume=False`` starts
    afresh); a download that is still running keeps it."""
    if not (folder / PART_NAME).exists():
        return
    try:
        with PartFile(path=folder / PART_NAME) as stale:
            Journal(stale.path, "").remove()
    except DownloadError:  # another download holds it
        pass


@contextlib.contextmanager
def _kept_on_failure(
    fetch: PartFetch, part: PartFile, *, unpacked: Callable[[], int] | None = None
) -> Iterator[None]:
    """On a failure, keep the part file for a resume (unless its bytes are bad or refused),
    and say what space unpacking needs when the disk filled up while unpacking.

    Args:
        fetch: The download.
        part: Its part file.
        unpacked: The bytes the unpacking had reserved when it failed (a lower bound of what
            the whole archive needs).
    """
    try:
        yield
    except (IntegrityError, UnsafeArchiveError):
        fetch.keep(worth_it=False)
        raise
    except DownloadError as exc:
        full = is_disk_full(exc)
        # A complete download whose archive is damaged would only fail again.
        kept = fetch.keep(worth_it=full or not fetch.completed)
        if unpacked is not None and full:
            raise disk_full(
                part.path.parent,
                unpacked(),
                kept=kept,
                doing="unpacking the results",
                in_all=True,
            ) from None
        raise
    except BaseException:
        fetch.keep()
        raise


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a full disk or an exceeded quota."""
    cause = exc.__cause__ if isinstance(exc, DownloadError) else exc
    return isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT)


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
        """Stop the download at once when the archive was refused, or the disk is full (no
        need to fetch the rest).

        Raises:
            UnsafeArchiveError: The archive has a member that must not be unpacked.
            DownloadError: The disk filled up while unpacking.
        """
        error = self._error
        if isinstance(error, UnsafeArchiveError) or (error is not None and is_disk_full(error)):
            raise error

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
