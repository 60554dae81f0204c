"""What ``Job`` and ``JobTask`` share: their results, as JSON, a GeoDataFrame or files on disk."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from ._http import invalid_response
from ._viz import VizMixin

if TYPE_CHECKING:
    import geopandas
    from up42_jobs_client.types import Response

    from ._session import Up42
    from ._transfers import ProgressCallback

__all__ = ["Outputs", "default_directory", "read_json"]

LOGGER = logging.getLogger("up42_facade")


def default_directory(project_id: str, job_id: str, *parts: str) -> Path:
    """The classic SDK's download folder: ``project_<id>/job_<id>[/...]`` under the cwd."""
    return Path.cwd().joinpath(f"project_{project_id}", f"job_{job_id}", *parts)


def read_json(response: Response[Any]) -> Any:
    """The JSON body of a successful generated response, as plain Python data.

    Raises:
        InvalidResponseError: The body is not JSON (the spec allows nothing else here).
    """
    try:
        return json.loads(response.content)
    except ValueError:
        from ._session import _LAST_RESPONSE

        raw = _LAST_RESPONSE.get()
        if raw is None:
            raise
        raise invalid_response(raw, "the body is not valid JSON") from None


class Outputs(VizMixin):
    """The results members of ``Job`` and ``JobTask``; each says where its outputs live.

    Subclasses provide ``_results_response`` (the ``data-json`` answer), ``_download_url``
    (a fresh signed URL) and ``_default_directory`` (the classic SDK's folder).
    """

    auth: Up42
    project_id: str
    job_id: str
    results: list[str] | None
    quicklooks: list[str] | None

    def _results_response(self) -> Response[Any]:
        raise NotImplementedError

    def _download_url(self) -> str:
        raise NotImplementedError

    def _default_directory(self) -> Path:
        raise NotImplementedError

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
        response = self._results_response()
        if as_dataframe:
            from ._results import feature_collection_to_geodataframe

            return feature_collection_to_geodataframe(response.content)
        collection: dict[str, Any] = read_json(response)
        return collection

    def download_results(
        self,
        output_directory: str | Path | None = None,
        unpacking: bool = True,
        *,
        progress: ProgressCallback | None = None,
        show_progress: bool | None = None,
    ) -> list[str]:
        """Download the results archive and unpack it (verified, resumable, safe).

        Args:
            output_directory: Where to put the files; default as in the classic SDK,
                ``project_<id>/job_<id>`` (a task: ``.../jobtask_<id>``) under the cwd.
            unpacking: Unpack the archive (dropping its leading ``output/``); with
                False the archive is kept under the name the server gives.
            progress: Called with ``(bytes done, bytes total or None)`` as bytes arrive.
            show_progress: Show a progress bar (default: when stderr is a terminal).

        Returns:
            The paths of the regular files written; also kept in ``results``.

        Raises:
            DownloadError: The download failed (``IntegrityError`` when the bytes did not verify).
            UnsafeArchiveError: The archive has a member that would escape the folder.
        """
        from ._transfers import download_results

        directory = Path(output_directory) if output_directory else self._default_directory()
        LOGGER.info("Downloading results of job %s to %s", self.job_id, directory)
        self.results = download_results(
            self._download_url,
            directory,
            unpacking=unpacking,
            progress=progress,
            show_progress=show_progress,
        )
        return self.results
