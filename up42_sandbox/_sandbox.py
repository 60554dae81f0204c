"""``Sandbox``: both listeners in a background thread, and the handles tests drive them with."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import random
import shutil
import socket
import ssl
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from ._app import DEFAULT_PAGE_SIZE, Context, create_app
from ._archives import Archive, seeded_uuid
from ._auth import TokenStore
from ._dialects import check_dialect, make_dialect
from ._faults import Fault, FaultRegistry
from ._jobs import Job, JobStore
from ._jobspec import JobsSpec, parse_jobs_spec
from ._network import StorageNetwork
from ._ratelimit import RateLimiter
from ._records import RequestLog
from ._storage import Signer, StorageServer, object_path, parse_object_path

__all__ = ["Sandbox"]

#: Seconds to wait for the listeners to come up or go down before giving up loudly.
START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0
#: Seconds uvicorn lets in-flight API requests finish when the sandbox stops.
GRACEFUL_SHUTDOWN = 1
#: uvicorn's housekeeping period (Date header refresh), as in uvicorn.Server.main_loop.
MAIN_LOOP_TICK = 0.1


class _Keep(enum.Enum):
    """``set_storage_network``'s default: leave that setting as it is (None means "off")."""

    KEEP = enum.auto()


def _listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket: binding ourselves on port 0 tells us the port before serving."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose
    # proto is IPPROTO_TCP, and without it Nagle's algorithm adds ~40 ms to every keep-alive
    # request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, woken at once by ``stop`` instead of noticing on its next 0.1 s tick.

    Tests start and stop many sandboxes; the tick alone would add 0.1 s to each of them.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0
        # on_tick refreshes the Date header and checks should_exit, as uvicorn's own loop does.
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), MAIN_LOOP_TICK)

    def request_exit(self) -> None:
        """Ask the server to stop, from any thread."""
        self.should_exit = True
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                self._loop.call_soon_threadsafe(self._wake.set)


def _url(host: str, sock: socket.socket, scheme: str = "http") -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


def _server_context(context: ssl.SSLContext | None) -> ssl.SSLContext | None:
    """``storage_tls`` checked: a server-side context, or None for plain http."""
    if context is None:
        return None
    if not isinstance(context, ssl.SSLContext):
        raise TypeError(f"storage_tls must be an ssl.SSLContext or None, not {type(context)!r}")
    if context.protocol == ssl.PROTOCOL_TLS_CLIENT:
        raise ValueError(
            "storage_tls must be a server-side context, e.g. "
            "ssl.create_default_context(ssl.Purpose.CLIENT_AUTH) with load_cert_chain(...) "
            "or trustme's CA().issue_cert('127.0.0.1').configure_cert(context)"
        )
    return context


class Sandbox:
    """A local, stateful stand-in of the UP42 job API, for tests, cassettes and the demo.

    Two listeners run in one background thread: the job API (``base_url``) and a
    cloud-storage look-alike serving signed result URLs (``storage_url``, another origin).
    The job API speaks plain http; the storage listener speaks https when given
    ``storage_tls``, like the real signed URLs (``https://storage.googleapis.com/...``).

    Example:
        >>> with Sandbox(speed=20, seed=1) as sb:  # doctest: +SKIP
        ...     job_id = sb.create_job("succeeds")
        ...     sb.inject("rate_limit", count=2, retry_after=1)
        ...     # point a client at sb.base_url with sb.project_id / sb.project_api_key

    Storage over TLS, with a throwaway CA the client is told to trust:
        >>> import ssl, trustme  # doctest: +SKIP
        >>> ca = trustme.CA()  # doctest: +SKIP
        >>> server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)  # doctest: +SKIP
        >>> ca.issue_cert("127.0.0.1", "localhost").configure_cert(server)  # doctest: +SKIP
        >>> with Sandbox(storage_tls=server) as sb:  # doctest: +SKIP
        ...     sb.storage_url  # 'https://127.0.0.1:<port>'; signed URLs point there
        ...     # clients verify it with ca.configure_trust(ctx) or SSL_CERT_FILE=<ca.pem>

    Answers the way the 2019-2020 service did, for the classic SDK's expectations:
        >>> with Sandbox(dialect="classic") as sb:  # doctest: +SKIP
        ...     # NOT_STARTED, an empty cancel body, problem+json 404s, JPEG quicklooks

    Fifty jobs behind a gateway that allows 20 requests a second:
        >>> with Sandbox(speed=20, jobs="succeeds=40,fails=5,long_running=5",
        ...              rate_limit=20) as sb:  # doctest: +SKIP
        ...     sb.created_jobs  # 50 ids, "job 001".."job 050" in creation order
        ...     # GET /projects/{sb.project_id}/jobs?page=0&sort=createdAt,desc pages them
        ...     sb.rate_limited  # 429s the limit has sent so far

    Storage behind a WAN link, 16 MiB/s per connection and 40 ms away:
        >>> wan = {"storage_bandwidth": 16 * 2**20, "storage_latency": 0.04}
        >>> with Sandbox(**wan) as sb:  # doctest: +SKIP
        ...     ...  # one connection fetches at ~16 MiB/s, four ranged ones at ~64 MiB/s
        ...     sb.set_storage_network(bandwidth=None, latency=None)  # loopback speed again
        ...     sb.storage_bytes_sent  # body bytes the storage listener has sent so far

    Args:
        speed: how much faster than real time jobs move (20 makes a default job take 0.4 s).
        token_ttl: seconds a bearer token lives (real time, not scaled by ``speed``).
        url_ttl: seconds a signed download URL lives (real time).
        host: the interface both listeners bind; loopback unless you mean otherwise.
        seed: with an int, every id (project, jobs, tasks, features, tokens) is reproducible.
        port: the API port (0: a free one).
        storage_port: the storage port (0: a free one).
        storage_tls: serve the storage listener over TLS with this server-side context (its
            certificate must name ``host`` for clients that verify it); then ``storage_url``
            and every signed URL start with ``https://``. None (the default): plain http.
            The caller builds the context and keeps it; the job API stays plain http.
        dialect: how the job API words its answers; the job store behind them is the same.
            "spec" (the default): the spec's answers, as the sandbox always gave them.
            "classic": the real service of 2019-2020 as the classic SDK up42-py met it:
            ``POST .../cancel/`` answers 200 with an empty body; "NOT STARTED" is spelled
            "NOT_STARTED" (jobs and tasks); the routes' 400 and 404 errors are RFC 7807
            problem bodies (``application/problem+json``: type, title, status, detail), 401
            keeps the envelope; the token answer is only ``access_token`` and
            ``data.accessToken``; quicklooks are listed and served as ``<uid>.jpg`` JPEGs,
            and the ``.png`` names answer 404.
            "next": a newer API that old clients must survive: unknown fields in every JSON
            object (``meta.requestId`` in envelopes; ``priority``, ``labels``,
            ``costEstimate`` in jobs; ``retries``, ``resources`` in tasks; ``currency`` in
            credits; ``links`` and ``properties.cloudCoverage`` in features and
            ``numberMatched`` in their collection; ``scope`` in the token answer;
            ``expiresAt`` in signed-URL answers; ``error.traceId`` in errors), "QUEUED" for a
            job and "WAITING" for a task where the spec says "NOT STARTED", and the headers
            ``X-Request-Id``, ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and
            ``X-Api-Version`` on every API answer.
            Injected faults answer the same in every dialect.
        jobs: jobs to create on every ``start``, before the listeners accept connections: a
            spec such as ``"succeeds=40,fails=5,long_running=5"`` or the same as a mapping
            (``{"succeeds": 40, "fails": 5}``); ``duration`` (sandbox seconds of the RUNNING
            phase) and ``features`` (per task) apply to all of them. They are created in the
            order given and named ``job 001``, ``job 002``..., each with a later ``createdAt``
            than the one before; their ids are ``created_jobs`` and ``info()["created"]``.
            None (the default): no jobs until ``create_job``.
        page_size: jobs per page of ``GET /projects/{project_id}/jobs`` (default 20).
        rate_limit: a standing limit of the job API, in requests a second (None, the default:
            no limit). Every request to the API listener counts, ``/oauth/token`` and unknown
            paths included (the storage listener has none). It is a token bucket of
            ``max(rate_limit, 1)`` requests that refills at ``rate_limit`` a second and starts
            full: a steady pace at the rate is never refused, a burst beyond the bucket is. A
            refused request is answered 429 with the spec's error envelope (``"Too many
            requests"``) and ``Retry-After``: the seconds until a request would be admitted,
            rounded up, at least 1 (so always 1 at rates of 1/s and more). It reaches no fault
            and no route, takes no token, is counted in ``rate_limited`` and recorded with
            ``rate_limited=True``. ``set_rate_limit`` changes it while running. The
            ``rate_limit`` fault is separate and works as before.
        storage_bandwidth: a cap in bytes a second on what each connection to the storage
            listener sends in response bodies (None, the default: no cap, loopback speed). It
            is per connection, as cloud storage caps one TCP stream: N connections together
            get N times the cap. Each connection paces its bodies (200 and 206 alike) with its
            own token bucket, in chunks of at most 64 KiB and at least 50 a second, sleeping in
            the event loop; heads are not paced. Archives still stream from disk.
        storage_latency: seconds added before the first byte of every storage response
            (errors and ``HEAD`` included), emulating a round trip, and once more on each new
            connection before its first request is read (the TCP handshake's round trip), so a
            new connection's first answer comes after twice the latency and a kept-alive
            connection's after once. TLS handshakes are not delayed further. None or 0 (the
            default): none.
            ``set_storage_network`` changes both settings while running; a change applies to
            the connections and responses that start after it.

    Raises:
        ValueError: ``speed`` is not positive, ``storage_tls`` is a client-side context,
            ``dialect`` names no dialect, ``jobs`` is no valid spec, ``page_size`` is below 1,
            ``rate_limit`` or ``storage_bandwidth`` is not > 0 or ``storage_latency`` is
            negative.
        TypeError: ``storage_tls`` is not an ``ssl.SSLContext``, ``jobs`` is neither a string
            nor a mapping, ``page_size`` is not an int or ``rate_limit``,
            ``storage_bandwidth`` or ``storage_latency`` not a number.
    """

    def __init__(
        self,
        *,
        speed: float = 1.0,
        token_ttl: float = 300.0,
        url_ttl: float = 3600.0,
        host: str = "127.0.0.1",
        seed: int | None = None,
        port: int = 0,
        storage_port: int = 0,
        storage_tls: ssl.SSLContext | None = None,
        dialect: str = "spec",
        jobs: str | Mapping[str, Any] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        rate_limit: float | None = None,
        storage_bandwidth: float | None = None,
        storage_latency: float | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.dialect = check_dialect(dialect)
        self._jobs_spec: JobsSpec | None = None if jobs is None else parse_jobs_spec(jobs)
        if isinstance(page_size, bool) or not isinstance(page_size, int):
            raise TypeError(f"page_size must be an int, not {page_size!r}")
        if page_size < 1:
            raise ValueError(f"page_size must be >= 1, not {page_size}")
        self.page_size = page_size
        self._limiter = RateLimiter(rate_limit)
        self._network = StorageNetwork(bandwidth=storage_bandwidth, latency=storage_latency)
        self._created: list[str] = []
        self.speed = speed
        self.host = host
        self.seed = seed
        self.storage_tls = _server_context(storage_tls)
        self._ports = (port, storage_port)
        rng = random.Random(seed)
        self.project_id: str = seeded_uuid(rng)
        self.project_api_key: str = f"sandbox-{rng.getrandbits(128):032x}"
        self._ids = rng
        # Tokens and signatures draw from their own streams: however many tokens a client asks
        # for, the job ids of a seeded sandbox stay the same.
        token_rng = random.Random(None if seed is None else f"{seed}/tokens")
        self._tokens = TokenStore(
            project_id=self.project_id, api_key=self.project_api_key, ttl=token_ttl, rng=token_rng
        )
        self._signer = Signer(key=token_rng.randbytes(32), ttl=url_ttl)
        self.faults = FaultRegistry()
        self.requests = RequestLog()
        self._store: JobStore | None = None
        self._workdir: Path | None = None
        self._thread: threading.Thread | None = None
        self._server: _Server | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._sockets: list[socket.socket] = []
        self._base_url: str | None = None
        self._storage_url: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Sandbox:
        """Bind both ports and serve from a background thread; returns once both accept."""
        if self._thread is not None:
            raise RuntimeError("the sandbox is already running")
        api_sock = _listen(self.host, self._ports[0])
        try:
            storage_sock = _listen(self.host, self._ports[1])
        except OSError:
            api_sock.close()
            raise
        self._sockets = [api_sock, storage_sock]
        storage_scheme = "http" if self.storage_tls is None else "https"
        self._base_url = _url(self.host, api_sock)
        self._storage_url = _url(self.host, storage_sock, storage_scheme)
        self._workdir = Path(tempfile.mkdtemp(prefix="up42-sandbox-"))
        self._store = JobStore(
            root=self._workdir, speed=self.speed, rng=self._ids, project_id=self.project_id
        )
        try:
            self._created = self._create_spec_jobs(self._store)
        except BaseException:
            self.stop()
            raise
        ctx = Context(
            store=self._store,
            tokens=self._tokens,
            faults=self.faults,
            requests=self.requests,
            signer=self._signer,
            storage_url=self._storage_url,
            dialect=make_dialect(self.dialect, seed=self.seed),
            limiter=self._limiter,
            page_size=self.page_size,
        )
        config = uvicorn.Config(
            create_app(ctx),
            lifespan="off",
            http="h11",
            ws="none",
            log_config=None,
            log_level="warning",
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        )
        # Run from a non-main thread, uvicorn installs no signal handlers (see
        # uvicorn.Server.capture_signals), so the host process keeps its own Ctrl-C handling.
        self._server = _Server(config)
        storage = StorageServer(
            resolve=self._resolve,
            signer=self._signer,
            faults=self.faults,
            requests=self.requests,
            network=self._network,
            tls=self.storage_tls,
        )
        self._ready.clear()
        self._failure = None
        self._thread = threading.Thread(
            target=asyncio.run,
            args=(self._serve(self._server, storage, api_sock, storage_sock),),
            name="up42-sandbox",
            daemon=True,
        )
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT) or self._failure is not None:
            self.stop()
            raise RuntimeError("the sandbox did not start") from self._failure
        return self

    def _create_spec_jobs(self, store: JobStore) -> list[str]:
        """The jobs of ``jobs=``, created before anyone can list them half made."""
        if self._jobs_spec is None:
            return []
        return [store.create(outcome, **kwargs).id for outcome, kwargs in self._jobs_spec.jobs()]

    async def _serve(
        self,
        server: _Server,
        storage: StorageServer,
        api_sock: socket.socket,
        storage_sock: socket.socket,
    ) -> None:
        try:
            await storage.start(storage_sock)
            api = asyncio.create_task(server.serve(sockets=[api_sock]))
            while not server.started and not api.done():
                await asyncio.sleep(0.005)
            if api.done():
                api.result()
            self._ready.set()
            await api
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
        finally:
            await storage.stop()

    def stop(self) -> None:
        """Stop both listeners, free the ports and delete the archives. Safe to call twice."""
        if self._server is not None:
            self._server.request_exit()
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)
            if self._thread.is_alive():
                raise RuntimeError("the sandbox did not stop within its timeout")
        self._thread = None
        self._server = None
        for sock in self._sockets:
            sock.close()
        self._sockets = []
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    @property
    def running(self) -> bool:
        """Whether the listeners are up."""
        return self._thread is not None and self._thread.is_alive()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: the job API."""
        if self._base_url is None:
            raise RuntimeError("start the sandbox first: `with Sandbox() as sb:`")
        return self._base_url

    @property
    def storage_url(self) -> str:
        """``http://127.0.0.1:<port2>``: the signed-URL host (another origin).

        ``https://`` when the sandbox was given ``storage_tls``.
        """
        if self._storage_url is None:
            raise RuntimeError("start the sandbox first: `with Sandbox() as sb:`")
        return self._storage_url

    # -- jobs --------------------------------------------------------------------------------

    @property
    def store(self) -> JobStore:
        """The job store (raises before ``start``)."""
        if self._store is None:
            raise RuntimeError("start the sandbox first: `with Sandbox() as sb:`")
        return self._store

    def create_job(
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
    ) -> str:
        """Create a job that moves NOT STARTED -> PENDING -> RUNNING -> its outcome.

        Args:
            outcome: "succeeds", "fails" (last task FAILED, ERROR in its log) or
                "long_running" (runs until cancelled).
            name: the job's name.
            mode: "DEFAULT" or "DRY_RUN" (or any string, to test open enums).
            tasks: number of tasks; they run one after another.
            duration: sandbox seconds of the RUNNING phase (NOT STARTED and PENDING take
                about 1 s each); divide by ``speed`` for real seconds.
            features: features in each task's data.json (one GeoTIFF and quicklook each).
            padding: extra incompressible bytes in the job's archive, for big-download tests.
            archive: "tgz" or "zip".
            archive_root: "output/" like the real archives, or "" for archives without it.
            hostile: None, "dotdot", "absolute", "symlink", "hardlink", "truncated" or "all".
            status: a status string the API reports whatever the timeline says.
            credits: creditsUsed once the job has ended.
            start_status: start already in this status (e.g. "SUCCEEDED"), outputs ready.

        Returns:
            The job id.
        """
        job = self.store.create(
            outcome,
            name=name,
            mode=mode,
            tasks=tasks,
            duration=duration,
            features=features,
            padding=padding,
            archive=archive,
            archive_root=archive_root,
            hostile=hostile,
            status=status,
            credits=credits,
            start_status=start_status,
        )
        return job.id

    @property
    def created_jobs(self) -> list[str]:
        """The ids of the ``jobs=`` jobs of the last ``start``, in creation order ([] without)."""
        return list(self._created)

    def _job(self, job_id: str) -> Job:
        job = self.store.get(job_id)
        if job is None:
            raise KeyError(f"no job {job_id} in this sandbox")
        return job

    def job_status(self, job_id: str) -> str:
        """The status the API reports for the job now (faults aside)."""
        job = self._job(job_id)
        return self.store.snapshot(job).status

    def task_ids(self, job_id: str) -> list[str]:
        """The job's task ids, in workflow order."""
        return [task.id for task in self._job(job_id).tasks]

    def cancel_job(self, job_id: str) -> None:
        """Cancel as ``POST .../cancel/`` would."""
        self.store.cancel(self._job(job_id))

    def _archive(self, job_id: str, task_id: str | None) -> Archive:
        job = self._job(job_id)
        if task_id is None:
            archive = job.archive
        else:
            matches = [task.archive for task in job.tasks if task.id == task_id]
            if not matches:
                raise KeyError(f"job {job_id} has no task {task_id}")
            archive = matches[0]
        assert archive is not None
        return archive

    def archive_path(self, job_id: str, task_id: str | None = None) -> Path:
        """The exact file the storage listener serves for the job (or one task)."""
        return self._archive(job_id, task_id).path

    def archive_info(self, job_id: str, task_id: str | None = None) -> Archive:
        """The archive with its size, md5, crc32c, ETag and x-goog-hash."""
        return self._archive(job_id, task_id)

    def download_url(self, job_id: str, task_id: str | None = None) -> str:
        """A freshly signed URL to the job's (or task's) archive, as the API would answer.

        It points at ``storage_url`` (``https://`` with ``storage_tls``).
        """
        job = self._job(job_id)
        path = object_path(job_id, f"output.{job.archive_format}", task_id)
        return self._signer.sign(self.storage_url, path)

    def _resolve(self, path: str) -> Archive | None:
        parsed = parse_object_path(path)
        if parsed is None or self._store is None:
            return None
        job_id, task_id, filename = parsed
        job = self._store.get(job_id)
        if job is None or filename != f"output.{job.archive_format}":
            return None
        try:
            return self._archive(job_id, task_id)
        except KeyError:
            return None

    # -- tokens and faults --------------------------------------------------------------------

    def issue_token(self) -> str:
        """A valid bearer token, without going through ``/oauth/token``."""
        return self._tokens.issue()

    def expire_tokens(self) -> None:
        """Every token issued so far answers 401 from now on."""
        self._tokens.expire_all()

    def inject(
        self,
        kind: str,
        *,
        count: int | None = 1,
        job_id: str | None = None,
        path: str | None = None,
        method: str | None = None,
        **params: Any,
    ) -> Fault:
        """Switch a fault on for the next ``count`` matching requests (None: forever).

        API listener kinds: "rate_limit" (``retry_after=2``, ``retry_after_date=False``),
        "error" (``status=503``; 502/504 answer HTML, others a JSON envelope; ``body="json"``
        or ``"html"`` overrides; ``retry_after`` adds the header), "delay" (``seconds=1.0``),
        "malformed_json", "wrong_content_type", "unknown_status" (``value="QUEUED_FOR_REVIEW"``,
        only consumed by ``GET`` of the job), "body" (``status=200``, ``content=""`` as str or
        bytes, ``content_type="application/json"`` or None for no header: any answer at all,
        e.g. ``inject("body", path="/cancel/", content="null")``).
        Storage listener kinds: "drop" (``at_byte=0``), "ignore_range", "expired_url",
        "corrupt" (``at_byte=size // 2``).

        Args:
            kind: the fault.
            count: how many matching requests it applies to; None for every one.
            job_id: only requests whose path contains this job id.
            path: only requests whose path contains this substring (API paths are matched in
                the spec's spelling, so a job path with or without its trailing slash is
                selected alike).
            method: only requests with this method.
            **params: the kind's settings.

        Returns:
            A handle with ``.remaining`` and ``.hits``.
        """
        return self.faults.inject(
            kind, count=count, job_id=job_id, path=path, method=method, **params
        )

    def clear_faults(self) -> None:
        """Switch every fault off."""
        self.faults.clear()

    # -- the standing rate limit --------------------------------------------------------------

    @property
    def rate_limit(self) -> float | None:
        """The standing limit in requests a second, or None when there is none."""
        return self._limiter.rate

    def set_rate_limit(self, rate: float | None) -> None:
        """Change the standing limit (None: off), running or not; the bucket starts full.

        Raises:
            ValueError: ``rate`` is not > 0.
            TypeError: ``rate`` is not a number.
        """
        self._limiter.set_rate(rate)

    @property
    def rate_limited(self) -> int:
        """How many 429s the standing limit has answered since the sandbox was made.

        Injected ``rate_limit`` faults are not counted (their ``Fault.hits`` are). Neither
        ``set_rate_limit`` nor ``requests.clear()`` resets it: compare two readings.
        """
        return self._limiter.refused

    # -- the storage network ------------------------------------------------------------------

    @property
    def storage_bandwidth(self) -> float | None:
        """The storage listener's cap in bytes a second per connection, or None for none."""
        return self._network.bandwidth

    @property
    def storage_latency(self) -> float:
        """Seconds added before every storage response (and per new connection); 0.0: none."""
        return self._network.latency

    def set_storage_network(
        self,
        *,
        bandwidth: float | _Keep | None = _Keep.KEEP,
        latency: float | _Keep | None = _Keep.KEEP,
    ) -> None:
        """Change the storage listener's bandwidth cap and latency, running or not.

        A setting left out stays as it is (so ``bandwidth=None`` alone lifts the cap and keeps
        the latency); None switches it off. The change applies to the
        connections and responses that start after it: a body already on its way keeps its
        pace. See ``storage_bandwidth`` and ``storage_latency`` of ``Sandbox``.

        Example:
            >>> sb.set_storage_network(bandwidth=16 * 2**20, latency=0.04)  # doctest: +SKIP
            >>> sb.set_storage_network(bandwidth=None)  # doctest: +SKIP

        Raises:
            ValueError: ``bandwidth`` is not > 0 or ``latency`` is negative (or either is not
                finite).
            TypeError: either is not a number.
        """
        self._network.set(
            bandwidth=self._network.bandwidth if bandwidth is _Keep.KEEP else bandwidth,
            latency=self._network.latency if latency is _Keep.KEEP else latency,
        )

    @property
    def storage_bytes_sent(self) -> int:
        """Body bytes the storage listener has sent since the sandbox was made, over all requests.

        Counted alike with and without a cap (each request's share is its record's
        ``bytes_sent``). Neither ``requests.clear()`` nor a restart resets it: compare two
        readings.
        """
        return self._network.bytes_sent

    def info(self) -> dict[str, Any]:
        """What a client needs to connect (the CLI writes this to its info file).

        Besides the addresses and credentials: ``dialect``; ``created``, the ids of the
        ``jobs=`` jobs in creation order; ``page_size`` of the listing; ``rate_limit``, the
        standing limit in requests a second (None: none); ``storage_bandwidth`` in bytes a
        second per connection (None: no cap) and ``storage_latency`` in seconds (0.0: none).
        """
        return {
            "base_url": self.base_url,
            "storage_url": self.storage_url,
            "project_id": self.project_id,
            "project_api_key": self.project_api_key,
            "dialect": self.dialect,
            "created": self.created_jobs,
            "page_size": self.page_size,
            "rate_limit": self.rate_limit,
            "storage_bandwidth": self.storage_bandwidth,
            "storage_latency": self.storage_latency,
        }
