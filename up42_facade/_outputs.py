"""What ``Job`` and ``JobTask`` share: their results, as JSON, a GeoDataFrame or files on disk."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from ._archive_rules import DEFAULT_MAX_MEMBERS, DEFAULT_MAX_TOTAL_SIZE
from ._job_rules import OutputsPlace
from ._options import DEFAULT_INTEGRITY, DownloadOptions, IntegrityMode
from ._viz import VizMixin

if TYPE_CHECKING:
    import geopandas

    from ._progress import ProgressCallback
    from ._session import Session

__all__ = ["Outputs"]

LOGGER = logging.getLogger("up42_facade")


class Outputs(OutputsPlace, VizMixin):
    """The results members of ``Job`` and ``JobTask``; each says where its outputs live.

    Where the outputs come from and go to is ``OutputsPlace``'s (``_job_rules``).
    """

    auth: Session
    project_id: str
    job_id: str
    results: list[str] | None
    quicklooks: list[str] | None

    def _download_url(self) -> str:
        """A fresh signed URL of the results archive."""
        operation, kwargs = self._download_operation()
        url: str = self.auth.call_json(operation, **kwargs)["data"]["url"]
        return url

    @overload
    def get_results_json(self, as_dataframe: Literal[False] = False) -> dict[str, Any]: ...
    @overload
    def get_results_json(self, as_dataframe: Literal[True]) -> geopandas.GeoDataFrame: ...

    def get_results_json(
        self, as_dataframe: bool = False
    ) -> dict[str, Any] | geopandas.GeoDataFrame:
        """The ``data.json``: a FeatureCollection dict, or a GeoDataFrame in EPSG:4326.

        Args:
            as_dataframe: Return a GeoDataFrame (geometry plus one column per property),
                built from the raw bytes with vectorised readers.
        """
        operation, kwargs = self._results_operation()
        if as_dataframe:
            from ._results import feature_collection_to_geodataframe

            return feature_collection_to_geodataframe(self.auth.call(operation, **kwargs).content)
        collection: dict[str, Any] = self.auth.call_json(operation, **kwargs)
        return collection

    def download_results(
        self,
        output_directory: str | Path | None = None,
        unpacking: bool = True,
        *,
        progress: ProgressCallback | None = None,
        show_progress: bool | None = None,
        integrity: IntegrityMode = DEFAULT_INTEGRITY,
        timeout: float | None = None,
        max_attempts: int | None = None,
        max_members: int = DEFAULT_MAX_MEMBERS,
        max_total_size: int = DEFAULT_MAX_TOTAL_SIZE,
        max_connections: int | None = None,
        resume: bool = True,
    ) -> list[str]:
        """Download the results archive and unpack it (verified, resumable, safe).

        Args:
            output_directory: Where to put the files; default as in the classic SDK,
                ``project_<id>/job_<id>`` (a task: ``.../jobtask_<id>``) under the cwd.
            unpacking: Unpack the archive (dropping its leading ``output/``); with
                False the archive is kept under the name the server gives.
            progress: Called with ``(bytes done, bytes total or None)`` as bytes arrive.
            show_progress: Show a progress bar (default: when stderr is a terminal).
            integrity: What the bytes are checked against: ``"auto"`` (crc32c when storage
                announces it, else md5; and the size), ``"all"`` (every announced hash,
                slower) or ``"size"``. Not TLS: that is the session's ``verify``.
            timeout: Seconds without a byte before a connection counts as dropped and is
                resumed (default: the session's ``read_timeout``).
            max_attempts: Requests in all (the first plus resumes) before giving up
                (default: the session's ``RetryPolicy.max_attempts``).
            max_members: Refuse archives with more members than this.
            max_total_size: Refuse archives that unpack to more bytes than this.
            max_connections: Ranged connections a large archive is fetched over at once
                (default 8; 1 fetches it as one stream). Small archives, and storage that
                ignores ``Range``, use one.
            resume: Keep the bytes of an interrupted download in the folder (a hidden
                ``.up42-download.part`` and its ``.json`` sidecar) and continue from them on
                the next call, when the archive has not changed. False starts afresh and
                leaves nothing behind after a failure.

        Returns:
            The paths of the regular files written; also kept in ``results``.

        Raises:
            DownloadError: The download failed (``IntegrityError`` when the bytes did not verify).
            UnsafeArchiveError: The archive has a member that would escape the folder, or is
                over ``max_members`` or ``max_total_size``.
            ConfigurationError: An option is out of range, or the proxy cannot be used.
        """
        from ._download import download_results

        options = DownloadOptions(
            integrity=integrity,
            timeout=timeout,
            max_attempts=max_attempts,
            max_members=max_members,
            max_total_size=max_total_size,
            max_connections=max_connections,
            resume=resume,
        )
        directory = Path(output_directory) if output_directory else self._default_directory()
        LOGGER.info("Downloading results of job %s to %s", self.job_id, directory)
        self.results = download_results(
            self._download_url,
            directory,
            unpacking=unpacking,
            settings=self.auth.transfers,
            options=options,
            progress=progress,
            show_progress=show_progress,
        )
        return self.results
