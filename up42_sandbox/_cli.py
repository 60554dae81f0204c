"""``up42-sandbox``: run the sandbox as a process, for the demo and for recording cassettes.

The CLI is a thin wrapper over ``Sandbox``: it starts one, creates the three demo jobs,
switches on the faults asked for, writes an info file once both listeners accept connections,
and stops cleanly on Ctrl-C or SIGTERM. ``--storage-cert``/``--storage-key`` serve the signed
URLs over https (clients must trust the certificate, e.g. with ``SSL_CERT_FILE``);
``--dialect`` picks how the answers are worded ("spec", "classic" or "next").

``--jobs SPEC`` (``succeeds=40,fails=5,long_running=5[,duration=S][,features=N]``) creates those
jobs instead of the demo jobs, so the listing holds exactly them; ``--page-size`` sets the
listing's page size and ``--rate-limit 20/s`` a standing rate limit (see ``Sandbox``).

``--storage-bandwidth 16MiB/s`` caps what each connection to the storage listener sends
(units B, kB, MB, GB, KiB, MiB, GiB; a plain number is bytes; ``/s`` optional) and
``--storage-latency 40ms`` (or ``0.04s``, ``0.04``) delays every storage answer, and a new
connection's first once more: a WAN link in front of the signed URLs (see ``Sandbox``).

The info file holds ``Sandbox.info()`` plus ``jobs``, one job id per outcome (the demo jobs;
with ``--jobs``, the first job of each outcome the spec creates), and ``created`` is every job
id created at start-up, in creation order.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import ssl
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from ._app import DEFAULT_PAGE_SIZE
from ._dialects import DIALECTS
from ._faults import FAULT_KINDS, parse_fault_spec
from ._jobspec import parse_jobs_spec
from ._network import parse_bandwidth, parse_latency
from ._ratelimit import parse_rate
from ._sandbox import Sandbox

__all__ = ["main"]

#: The demo jobs of the info file: "succeeds" ends in about 8 s at speed 1 (1 s NOT STARTED,
#: 1 s PENDING, 6 s RUNNING), "fails" likewise, "long_running" runs until cancelled.
DEMO_JOBS: dict[str, dict[str, Any]] = {
    "succeeds": {"outcome": "succeeds", "name": "Demo job_py"},
    "fails": {"outcome": "fails", "name": "Demo job_py (fails)"},
    "long_running": {"outcome": "long_running", "name": "Demo job_py (long running)"},
}
#: Seconds between checks for a stop signal while the main thread waits.
WAIT_TICK = 0.2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="up42-sandbox",
        description="A local, stateful stand-in of the UP42 job API.",
        epilog=f"Fault kinds: {', '.join(sorted(FAULT_KINDS))}. "
        "Examples: --fault rate_limit:count=3,retry_after=2; "
        "--fault 'body:path=/cancel/,status=200,content={\"data\": null}' "
        "(content= comes last and is taken verbatim, commas included).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback)")
    parser.add_argument("--port", type=int, default=0, help="API port (0: a free one)")
    parser.add_argument("--storage-port", type=int, default=0, help="signed-URL port (0: free)")
    parser.add_argument("--info-file", type=Path, help="where to write the connection info JSON")
    parser.add_argument("--speed", type=float, default=1.0, help="time scale of jobs (default 1)")
    parser.add_argument("--token-ttl", type=float, default=300.0, help="token lifetime, seconds")
    parser.add_argument("--url-ttl", type=float, default=3600.0, help="signed URL lifetime, s")
    parser.add_argument("--seed", type=int, default=None, help="make every id reproducible")
    parser.add_argument(
        "--storage-cert",
        type=Path,
        metavar="FILE",
        help="serve the signed URLs over https with this PEM certificate (chain)",
    )
    parser.add_argument(
        "--storage-key",
        type=Path,
        metavar="FILE",
        help="the PEM private key of --storage-cert (default: the key inside that file)",
    )
    parser.add_argument(
        "--dialect",
        choices=list(DIALECTS),
        default="spec",
        help="how the API words its answers (the jobs behind them are the same). "
        "spec (default): the spec's answers. "
        "classic: the service of 2019-2020 as the classic SDK met it: NOT_STARTED, cancel "
        "answers 200 with an empty body, 400/404 as application/problem+json, a token "
        "answer without token_type/expires_in, <uid>.jpg JPEG quicklooks. "
        "next: a newer API old clients must survive: unknown fields in every JSON object, "
        "QUEUED jobs and WAITING tasks instead of NOT STARTED, X-Request-Id and other extra "
        "headers. Faults answer the same in every dialect.",
    )
    parser.add_argument(
        "--jobs",
        metavar="SPEC",
        help="create these jobs instead of the three demo jobs, named 'job 001'... in this "
        "order: OUTCOME=COUNT pairs (succeeds, fails, long_running) and optionally "
        "duration=SECONDS (RUNNING phase) and features=N (per task) for all, e.g. "
        "succeeds=40,fails=5,long_running=5,duration=3",
    )
    parser.add_argument(
        "--page-size",
        type=int,
        default=DEFAULT_PAGE_SIZE,
        metavar="N",
        help=f"jobs per page of GET /projects/{{id}}/jobs (default {DEFAULT_PAGE_SIZE})",
    )
    parser.add_argument(
        "--rate-limit",
        metavar="RATE",
        help="a standing limit on the API listener, e.g. 20/s or 20 (requests per second): a "
        "token bucket of RATE requests refilled at RATE per second; requests beyond it answer "
        "429 with Retry-After (default: no limit)",
    )
    parser.add_argument(
        "--storage-bandwidth",
        metavar="RATE",
        help="cap what each storage connection sends in response bodies, e.g. 16MiB/s, "
        "500KiB/s, 2MB/s or 1048576 (bytes per second; units B, kB, MB, GB, KiB, MiB, GiB); "
        "N connections get N times the cap together (default: no cap)",
    )
    parser.add_argument(
        "--storage-latency",
        metavar="TIME",
        help="delay every storage answer by TIME, e.g. 40ms, 0.04s or 0.04 (seconds), and a "
        "new connection's first answer once more, for its handshake (default: none)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND[:k=v,...]",
        help="switch a fault on (repeatable)",
    )
    return parser


def _storage_tls(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    """The server-side context of ``--storage-cert``/``--storage-key``; None without them.

    Raises:
        ValueError: a key without a certificate, or files that do not load (the message says
            which and why).
    """
    if cert is None:
        if key is not None:
            raise ValueError("--storage-key needs --storage-cert")
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        # A password callback: OpenSSL would otherwise prompt on the terminal for an
        # encrypted key and hang a sandbox started in the background.
        context.load_cert_chain(cert, key, password=_no_password)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        files = f"{cert}" + (f" and {key}" if key is not None else "")
        raise ValueError(
            f"cannot load the storage certificate from {files}: {exc}; give a PEM certificate "
            "with --storage-cert and its PEM private key with --storage-key"
        ) from exc
    return context


def _no_password() -> bytes:
    raise ValueError("the private key is encrypted; give an unencrypted PEM key")


def _accepts(url: str) -> bool:
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        return False
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=2):
            return True
    except OSError:
        return False


def _write_atomically(path: Path, data: dict[str, Any]) -> None:
    """Readers polling for the file never see it half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Run until SIGINT or SIGTERM; returns the exit code (0 on a clean stop)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        faults = [parse_fault_spec(spec) for spec in args.fault]
        storage_tls = _storage_tls(args.storage_cert, args.storage_key)
        jobs_spec = None if args.jobs is None else parse_jobs_spec(args.jobs)
        rate_limit = None if args.rate_limit is None else parse_rate(args.rate_limit)
        bandwidth = (
            None if args.storage_bandwidth is None else parse_bandwidth(args.storage_bandwidth)
        )
        latency = None if args.storage_latency is None else parse_latency(args.storage_latency)
        if args.page_size < 1:
            raise ValueError(f"--page-size must be >= 1, not {args.page_size}")
    except ValueError as exc:
        parser.error(str(exc))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    info_file: Path | None = args.info_file
    if info_file is not None:
        # A stale file from an earlier run must not be mistaken for this one.
        info_file.unlink(missing_ok=True)
    try:
        with Sandbox(
            speed=args.speed,
            token_ttl=args.token_ttl,
            url_ttl=args.url_ttl,
            host=args.host,
            seed=args.seed,
            port=args.port,
            storage_port=args.storage_port,
            storage_tls=storage_tls,
            dialect=args.dialect,
            jobs=args.jobs,
            page_size=args.page_size,
            rate_limit=rate_limit,
            storage_bandwidth=bandwidth,
            storage_latency=latency,
        ) as sb:
            if jobs_spec is None:
                jobs = {key: sb.create_job(**spec) for key, spec in DEMO_JOBS.items()}
                created = list(jobs.values())
            else:
                created = sb.created_jobs
                outcomes = [outcome for outcome, _ in jobs_spec.jobs()]
                jobs = {}
                for outcome, job_id in zip(outcomes, created, strict=True):
                    jobs.setdefault(outcome, job_id)
            for kind, kwargs in faults:
                sb.inject(kind, **kwargs)
            if not (_accepts(sb.base_url) and _accepts(sb.storage_url)):
                print("up42-sandbox: the listeners do not accept connections", file=sys.stderr)
                return 1
            info = {**sb.info(), "jobs": jobs, "created": created}
            if info_file is not None:
                _write_atomically(info_file, info)
            print(f"up42-sandbox: API {sb.base_url}, storage {sb.storage_url}", flush=True)
            print(json.dumps(info), flush=True)
            while not stop.wait(WAIT_TICK):
                pass
    except OSError as exc:
        print(f"up42-sandbox: {exc}", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if info_file is not None:
            info_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
