"""Results streamed into a google-cloud-storage bucket, never whole in memory or on disk."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ._errors import ConfigurationError
from ._options import DownloadOptions
from ._transfer import Restart, Transfer, TransferSettings

__all__ = ["BLOB_CHUNK_SIZE", "stream_to_blob"]

LOGGER = logging.getLogger("up42_facade")

#: Chunk size of uploads to a bucket: a multiple of 256 KiB as GCS requires, and small
#: enough that the upload buffer stays a few MiB (the library's default is 40-100 MiB).
BLOB_CHUNK_SIZE = 8 * 1024 * 1024


def stream_to_blob(
    get_url: Callable[[], str],
    blob: Any,
    *,
    settings: TransferSettings | None = None,
    options: DownloadOptions | None = None,
    chunk_size: int = BLOB_CHUNK_SIZE,
) -> None:
    """Stream the object at a signed URL into a google-cloud-storage blob, chunk by chunk.

    Uses ``blob.open("wb", chunk_size=...)``: a resumable upload that holds one chunk in
    memory and is cancelled when the download fails, so a bad or partial download never
    becomes an object. The download is verified before its last bytes are handed over.

    Args:
        get_url: Asks the API for a (fresh) signed URL.
        blob: A ``google.cloud.storage.Blob`` (or anything with a compatible ``open``).
        settings: The session's storage transport, retry policy and sleep (default: a
            session-less default).
        options: Integrity, timeout and attempts of the download.
        chunk_size: Bytes per upload request (a multiple of 256 KiB).

    Raises:
        DownloadError: The download could not be completed; the upload was cancelled.
        IntegrityError: The bytes did not verify, also after a fresh download; the upload
            was cancelled.
    """
    _require_cancellable_uploads(blob)
    with Transfer(
        get_url,
        settings=settings or TransferSettings(),
        options=options or DownloadOptions(),
        threaded_hash=False,
    ) as transfer:
        while True:
            try:
                chunk = transfer.next_chunk()
                writer_options: dict[str, Any] = {"chunk_size": chunk_size}
                if transfer.object.content_type:
                    writer_options["content_type"] = transfer.object.content_type
                with blob.open("wb", **writer_options) as writer:
                    while chunk is not None:
                        writer.write(chunk)
                        chunk = transfer.next_chunk()
            except Restart:
                LOGGER.debug("upload cancelled: the download of %s starts over", transfer.where)
                continue
            LOGGER.debug("streamed %s (%d bytes) to a blob", transfer.where, transfer.offset)
            return


def _require_cancellable_uploads(blob: Any) -> None:
    """Refuse google-cloud-storage before 3.0, whose writer commits even when a ``with`` fails.

    From 3.0 on, leaving ``blob.open("wb")`` with an exception cancels the resumable upload
    (``BlobWriter.terminate``); 2.x closes it instead, which would publish a partial object.

    Raises:
        ConfigurationError: The blob comes from google-cloud-storage older than 3.0.
    """
    if not type(blob).__module__.startswith("google.cloud.storage"):
        return  # a stand-in: it brings its own semantics
    from google.cloud import storage

    major = int(str(getattr(storage, "__version__", "0")).split(".")[0] or 0)
    if major < 3:
        raise ConfigurationError(
            f"upload_results_to_bucket needs google-cloud-storage >= 3.0 (found "
            f"{storage.__version__}): older versions publish a partial object when a download "
            "fails; upgrade with: pip install -U 'google-cloud-storage>=3'"
        )
