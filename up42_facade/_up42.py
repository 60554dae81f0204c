"""``Up42``, the sync front door: a session that hands out ``Job`` and ``JobTask`` objects.

The module-level functions (``authenticate``, ``initialize_job``, ...) keep the classic
SDK's way of working: ``authenticate()`` once, then ask for jobs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._collection_rules import job_modes, sort_parameter
from ._errors import ConfigurationError
from ._job import Job
from ._jobtask import JobTask
from ._redact import LOGGER
from ._session import Session
from ._session_base import check_uuid, resolve_credentials

if TYPE_CHECKING:
    from ._jobcollection import JobCollection

__all__ = [
    "Up42",
    "authenticate",
    "close_last_session",
    "get_jobs",
    "initialize_job",
    "initialize_jobcollection",
    "initialize_jobtask",
]

_last_session: Up42 | None = None


class Up42(Session):
    """An authenticated session with the UP42 job API.

    Args:
        project_id: The project's id.
        project_api_key: The project's API key; kept private, never shown.
        base_url: The API's address (the sandbox's ``base_url`` in tests).
        connect_timeout: Seconds to wait for a connection (API and storage).
        read_timeout: Seconds to wait for an answer, or for the next bytes of a download.
        retry: When and how long to retry, API calls and downloads alike; see ``RetryPolicy``.
        verify: TLS trust, as httpx's ``verify``: True (certifi, or ``SSL_CERT_FILE``/
            ``SSL_CERT_DIR``), False, a CA bundle file or folder, or an ``ssl.SSLContext``.
        proxy: One proxy URL for every request; None reads the proxy environment variables.
        trust_env: Read the proxy and CA environment variables, as httpx does.
        transport: An httpx transport under the retry layer (tests).
        sleep: Called for every wait (retries, downloads and polling); swappable in tests.
        max_requests_per_second: The session's request rate, paced evenly and shared by
            all its threads (None: as fast as answers come). A 429 holds back the whole
            session for its ``Retry-After`` whatever this says.
        max_in_flight: At most this many requests on the wire at once (None: no bound).

    Raises:
        ConfigurationError: An id or key is missing, the CA bundle is unreadable, or the
            proxy cannot be used (socks).

    Examples:
        >>> from up42_facade import Up42
        >>> with Up42(project_id=project_id, project_api_key=project_api_key,
        ...           base_url=base_url, max_requests_per_second=10) as session:
        ...     job = session.initialize_job(job_id)
        ...     job.status
        'SUCCEEDED'
    """

    def initialize_job(self, job_id: str) -> Job:
        """A ``Job`` of this session's project.

        Raises:
            ConfigurationError: ``job_id`` is not a UUID (nothing is sent).
            NotFoundError: The project has no such job.
        """
        return Job(auth=self, project_id=self.project_id, job_id=check_uuid(job_id, "job_id"))

    def initialize_jobtask(self, jobtask_id: str, job_id: str) -> JobTask:
        """A ``JobTask`` of one of this project's jobs.

        Raises:
            ConfigurationError: An id is not a UUID (nothing is sent).
            NotFoundError: The job has no such task.
        """
        return JobTask(
            auth=self,
            project_id=self.project_id,
            job_id=check_uuid(job_id, "job_id"),
            jobtask_id=check_uuid(jobtask_id, "jobtask_id"),
        )

    def get_jobs(
        self,
        return_json: bool = False,
        test_jobs: bool = True,
        real_jobs: bool = True,
        limit: int = 500,
        sortby: str = "createdAt",
        descending: bool = True,
    ) -> JobCollection | list[dict[str, Any]]:
        """The project's jobs from the jobs listing, as the classic ``Project.get_jobs``.

        Args:
            return_json: Return the jobs' info dicts instead of a ``JobCollection``.
            test_jobs: Include test jobs (mode ``DRY_RUN``).
            real_jobs: Include real jobs (mode ``DEFAULT``).
            limit: At most this many jobs, the first by the sort order.
            sortby: One of ``createdAt``, ``name``, ``id``, ``mode``, ``status``,
                ``startedAt``, ``finishedAt``.
            descending: Sort order.

        Raises:
            ValueError: A ``sortby`` not listed, or neither test nor real jobs asked for.
        """
        from ._jobcollection import JobCollection, list_jobs  # on first use (import cost)

        sort = sort_parameter(sortby, descending)
        modes = job_modes(test_jobs, real_jobs)
        infos, _ = list_jobs(
            self, sort=sort, keep=lambda job: job.get("mode") in modes, limit=limit
        )
        LOGGER.info(
            "Got %d jobs (limit parameter %d) in project %s.", len(infos), limit, self.project_id
        )
        if return_json:
            return infos
        jobs = [Job(self, self.project_id, str(info["id"]), job_info=info) for info in infos]
        return JobCollection(auth=self, project_id=self.project_id, jobs=jobs)

    def initialize_jobcollection(self, job_ids: list[str]) -> JobCollection:
        """A ``JobCollection`` of these jobs of this session's project (each fetched once).

        Raises:
            ConfigurationError: An id is not a UUID (nothing is sent).
            NotFoundError: The project has no such job.
        """
        from ._jobcollection import JobCollection

        jobs = [self.initialize_job(job_id) for job_id in job_ids]
        return JobCollection(auth=self, project_id=self.project_id, jobs=jobs)

    def __enter__(self) -> Up42:
        return self


def authenticate(
    cfg_file: str | Path | None = None,
    project_id: str | None = None,
    project_api_key: str | None = None,
    *,
    base_url: str | None = None,
    **kwargs: Any,
) -> Up42:
    """Create a session and make it the one module-level functions use.

    Credentials come from the arguments, else from ``cfg_file`` (JSON with
    ``project_id`` and ``project_api_key``), else from ``UP42_PROJECT_ID`` and
    ``UP42_PROJECT_API_KEY``; ``base_url`` from the argument, else
    ``UP42_BASE_URL``, else the production API. The credentials are checked
    right away by fetching a token.

    Args:
        cfg_file: A JSON file with ``project_id`` and ``project_api_key``.
        project_id: The project's id.
        project_api_key: The project's API key.
        base_url: The API's address.
        **kwargs: Passed on to ``Up42`` (``connect_timeout``, ``read_timeout``, ``retry``,
            ``verify``, ``proxy``, ...).

    Returns:
        The new session.

    Raises:
        ConfigurationError: No credentials, or an unreadable cfg_file.
        AuthenticationError: The API refused the credentials.
    """
    global _last_session
    project_id, project_api_key, base_url = resolve_credentials(
        cfg_file, project_id, project_api_key, base_url
    )
    session = Up42(
        project_id=project_id, project_api_key=project_api_key, base_url=base_url, **kwargs
    )
    try:
        session.check_credentials()
    except BaseException:
        session.close()
        raise
    LOGGER.info("Authentication with UP42 successful for project %s", session.project_id)
    _last_session = session
    return session


def close_last_session() -> None:
    """Close the session of the last ``authenticate()``, if any (the CLI's cleanup)."""
    global _last_session
    if _last_session is not None:
        _last_session.close()
        _last_session = None


def _require_session() -> Up42:
    if _last_session is None:
        raise ConfigurationError("not authenticated: call up42_facade.authenticate(...) first")
    return _last_session


def initialize_job(job_id: str, project_id: str | None = None) -> Job:
    """A ``Job`` of the project of the last ``authenticate()``.

    Args:
        job_id: The job's id.
        project_id: Accepted for the classic SDK's signature; must be the session's project.

    Raises:
        ConfigurationError: Not authenticated yet, ``job_id`` is not a UUID, or
            ``project_id`` names another project than the session's.
        NotFoundError: The project has no such job.
    """
    return _session_for(project_id).initialize_job(job_id)


def initialize_jobtask(jobtask_id: str, job_id: str, project_id: str | None = None) -> JobTask:
    """A ``JobTask`` of the project of the last ``authenticate()``.

    Raises:
        ConfigurationError: Not authenticated yet, an id is not a UUID, or
            ``project_id`` names another project than the session's.
        NotFoundError: The job has no such task.
    """
    return _session_for(project_id).initialize_jobtask(jobtask_id, job_id)


def get_jobs(
    return_json: bool = False,
    test_jobs: bool = True,
    real_jobs: bool = True,
    limit: int = 500,
    sortby: str = "createdAt",
    descending: bool = True,
) -> JobCollection | list[dict[str, Any]]:
    """The jobs of the project of the last ``authenticate()`` (see ``Up42.get_jobs``)."""
    return _require_session().get_jobs(return_json, test_jobs, real_jobs, limit, sortby, descending)


def initialize_jobcollection(job_ids: list[str], project_id: str | None = None) -> JobCollection:
    """A ``JobCollection`` of jobs of the project of the last ``authenticate()``."""
    return _session_for(project_id).initialize_jobcollection(job_ids)


def _session_for(project_id: str | None) -> Up42:
    session = _require_session()
    if project_id is not None and project_id != session.project_id:
        raise ConfigurationError(
            f"project_id {project_id!r} is not the authenticated project; "
            "authenticate with that project's credentials first"
        )
    return session
