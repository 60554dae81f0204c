"""Downloads from signed URLs against a small local storage server that misbehaves on cue.

Each test ends by showing what is on disk: the right bytes, or nothing at all.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import logging
import socket
import tarfile
import threading
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import google_crc32c
import pytest
from up42_facade._transfers import download_results

from up42_facade import _download as download_module
from up42_facade._download import download_file, stream_to_blob
from up42_facade._errors import (
    ConfigurationError,
    DownloadError,
    IntegrityError,
    UnsafeArchiveError,
)

SIGNATURE = "TOP-SECRET-SIGNATURE"
CHUNK = 1 << 20

# -- the fake storage server -------------------------------------------------------------------


@dataclass
class StoredObject:
    data: bytes
    filename: str | None = "output.tgz"
    etag: bool = True
    md5: bool = True
    crc32c: bool = True
    chunked: bool = False
    announced_md5: bytes | None = None  # announce this md5 instead of the real one
    content_type: str = "application/x-gzip"
    extra_headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    path: str
    target: str
    headers: dict[str, str]
    status: int = 0


@dataclass
class Fault:
    kind: str
    count: int | None = 1
    params: dict[str, Any] = field(default_factory=dict)


class FakeStorage:
    """Serves objects at 'signed' URLs; faults apply to the next requests, in order."""

    def __init__(self) -> None:
        self.objects: dict[str, StoredObject] = {}
        self.faults: list[Fault] = []
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        storage = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_GET(self) -> None:
                storage.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def put(self, path: str, data: bytes, **options: Any) -> StoredObject:
        self.objects[path] = StoredObject(data, **options)
        return self.objects[path]

    def inject(self, kind: str, count: int | None = 1, **params: Any) -> None:
        self.faults.append(Fault(kind, count, params))

    def urls(self, path: str, *, host: str | None = None) -> Urls:
        return Urls(f"http://{host or f'127.0.0.1:{self.port}'}{path}")

    def _take(self) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.count is None or fault.count > 0:
                    if fault.count is not None:
                        fault.count -= 1
                    return fault
        return None

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        target = handler.path
        path = urlsplit(target).path
        seen = Seen(path, target, {k.lower(): v for k, v in handler.headers.items()})
        self.requests.append(seen)
        fault = self._take()
        kind = fault.kind if fault else None
        params = fault.params if fault else {}

        def simple(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            seen.status = status
            handler.send_response(status)
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        obj = self.objects.get(path)
        if kind == "status":
            simple(params["status"], b"<Error><Code>Nope</Code></Error>")
            return
        if kind == "redirect":
            simple(302, headers={"Location": params["location"]})
            return
        if obj is None:
            simple(404, b"<Error><Code>NoSuchKey</Code></Error>")
            return
        data = obj.data
        etag = f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'
        first = 0
        wanted = handler.headers.get("Range")
        if_range = handler.headers.get("If-Range")
        if kind != "ignore_range" and wanted and (if_range is None or if_range == etag):
            first = int(wanted.removeprefix("bytes=").rstrip("-"))
        body = data[first:]
        if kind == "corrupt":
            flipped = bytearray(body)
            flipped[len(flipped) // 2] ^= 0xFF
            body = bytes(flipped)
        status = 206 if first else 200
        seen.status = status
        handler.send_response(status)
        handler.send_header("Content-Type", obj.content_type)
        if obj.etag:
            handler.send_header("ETag", etag)
        hashes = []
        if obj.crc32c:
            crc = google_crc32c.value(data).to_bytes(4, "big")
            hashes.append(f"crc32c={base64.b64encode(crc).decode()}")
        if obj.md5:
            md5 = obj.announced_md5 or hashlib.md5(data, usedforsecurity=False).digest()
            hashes.append(f"md5={base64.b64encode(md5).decode()}")
        if hashes:
            handler.send_header("x-goog-hash", ",".join(hashes))
        if obj.filename is not None:
            handler.send_header("Content-Disposition", f'attachment; filename="{obj.filename}"')
        if status == 206:
            start = first + params.get("shift", 0) if kind == "bad_content_range" else first
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        for name, value in obj.extra_headers.items():
            handler.send_header(name, value)
        limit = params.get("at_byte", len(body)) if kind in ("drop", "stall") else len(body)
        if obj.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            handler.send_header("Content-Length", str(len(body)))
        if kind in ("drop", "stall"):
            handler.send_header("Connection", "close")
        handler.end_headers()
        try:
            if obj.chunked:
                for i in range(0, limit, CHUNK):
                    piece = body[i : min(i + CHUNK, limit)]
                    handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                if limit == len(body):
                    handler.wfile.write(b"0\r\n\r\n")
            else:
                handler.wfile.write(body[:limit])
            handler.wfile.flush()
            if kind == "stall":
                time.sleep(params.get("seconds", 1.0))
            if kind in ("drop", "stall"):
                handler.close_connection = True
                handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            handler.close_connection = True


class Urls:
    """``get_url``: each call is a freshly 'signed' URL; counts the calls."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return f"{self.base}?X-Goog-Expires=900&X-Goog-Signature={SIGNATURE}{self.calls}"


@pytest.fixture
def storage() -> Iterator[FakeStorage]:
    server = FakeStorage()
    yield server
    server.close()


def blob_of(size: int, seed: int = 0) -> bytes:
    return hashlib.shake_256(f"{seed}".encode()).digest(size)


def leftovers(folder: Path) -> list[str]:
    """Everything in the folder, hidden temporaries included."""
    return (
        sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
        if folder.exists()
        else []
    )


def fast(**options: Any) -> dict[str, Any]:
    return {"timeout": 5.0, "backoff": 0.01, "show_progress": False, **options}


# -- download_file -------------------------------------------------------------------------------


def test_the_archive_lands_verified_under_the_name_the_server_gives(
    storage: FakeStorage, tmp_path: Path
) -> None:
    data = blob_of(3 * CHUNK + 123)
    storage.put("/bucket/job/output.tgz", data, filename="job-results.tgz")
    path = download_file(storage.urls("/bucket/job/output.tgz"), tmp_path / "job", **fast())
    assert path == tmp_path / "job" / "job-results.tgz"
    assert path.read_bytes() == data
    assert leftovers(tmp_path / "job") == ["job-results.tgz"]


def test_storage_gets_no_bearer_token_and_the_raw_bytes_are_kept(
    storage: FakeStorage, tmp_path: Path
) -> None:
    data = gzip.compress(b"already gzipped bytes " * 1000)
    storage.put("/b/o.tgz", data, extra_headers={"Content-Encoding": "gzip"})
    path = download_file(storage.urls("/b/o.tgz"), tmp_path, **fast())
    assert path.read_bytes() == data  # not transparently decompressed
    (request,) = storage.requests
    assert "authorization" not in request.headers
    assert request.headers["accept-encoding"] == "identity"


@pytest.mark.parametrize(
    ("disposition", "path", "expected"),
    [
        (None, "/bucket/job/output.tgz", "output.tgz"),
        ("../../../etc/evil.tgz", "/b/o.tgz", "evil.tgz"),
        ("..", "/b/from-url.tgz", "from-url.tgz"),
        (None, "/", "output.tgz"),
    ],
)
def test_the_name_falls_back_to_the_url_path_and_never_leaves_the_folder(
    storage: FakeStorage, tmp_path: Path, disposition: str | None, path: str, expected: str
) -> None:
    storage.put(path, b"archive", filename=disposition)
    result = download_file(storage.urls(path), tmp_path / "job", **fast())
    assert result == tmp_path / "job" / expected
    assert leftovers(tmp_path) == ["job", f"job/{expected}"]


def test_a_dropped_connection_resumes_with_range_and_if_range(
    storage: FakeStorage, tmp_path: Path
) -> None:
    data = blob_of(3 * CHUNK)
    storage.put("/b/o.tgz", data)
    storage.inject("drop", at_byte=CHUNK + 5)
    path = download_file(storage.urls("/b/o.tgz"), tmp_path, **fast())
    assert path.read_bytes() == data
    first, second = storage.requests
    assert "range" not in first.headers
    assert second.headers["range"] == f"bytes={CHUNK + 5}-"
    assert second.headers["if-range"] == f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'
    assert second.status == 206


def test_a_server_ignoring_range_makes_the_download_start_over(
    storage: FakeStorage, tmp_path: Path
) -> None:
    data = blob_of(3 * CHUNK)
    storage.put("/b/o.tgz", data)
    storage.inject("drop", at_byte=2 * CHUNK)
    storage.inject("ignore_range")
    seen: list[tuple[int, int | None]] = []
    path = download_file(
        storage.urls("/b/o.tgz"), tmp_path, progress=lambda d, t: seen.append((d, t)), **fast()
    )
    assert path.read_bytes() == data
    assert [r.status for r in storage.requests] == [200, 200]
    assert (0, len(data)) in seen[1:]  # the progress went back to zero
    assert seen[-1] == (len(data), len(data))
    assert leftovers(tmp_path) == ["output.tgz"]


def test_a_content_range_that_does_not_fit_starts_over(
    storage: FakeStorage, tmp_path: Path
) -> None:
    data = blob_of(2 * CHUNK)
    storage.put("/b/o.tgz", data)
    storage.inject("drop", at_byte=CHUNK)
    storage.inject("bad_content_range", shift=7)
    path = download_file(storage.urls("/b/o.tgz"), tmp_path, **fast())
    assert path.read_bytes() == data
    assert [r.status for r in storage.requests] == [200, 206, 200]
    assert "range" not in storage.requests[2].headers


def test_without_an_etag_or_hash_a_drop_starts_over_instead_of_resuming(
    storage: FakeStorage, tmp_path: Path
) -> None:
    data = blob_of(2 * CHUNK)
    storage.put("/b/o.tgz", data, etag=False, md5=False, crc32c=False)
    storage.inject("drop", at_byte=CHUNK)
    path = download_file(storage.urls("/b/o.tgz"), tmp_path, **fast())
    assert path.read_bytes() == data
    assert ["range" in r.headers for r in storage.requests] == [False, False]


def test_drops_beyond_max_attempts_are_a_download_error_that_leaves_nothing(
    storage: FakeStorage, tmp_path: Path
) -> None:
    storage.put("/b/o.tgz", blob_of(2 * CHUNK))
    storage.inject("drop", count=None, at_byte=1000)
    with pytest.raises(DownloadError, match="3 attempts failed") as caught:
        download_file(storage.urls("/b/o.tgz"), tmp_path / "job", max_attempts=3, **fast())
    assert not isinstance(caught.value, IntegrityError)
    assert len(storage.requests) == 3
    assert leftovers(tmp_path / "job") == []


def test_a_stalled_connection_times_out_and_resumes(storage: FakeStorage, tmp_path: Path) -> None:
    data = blob_of(2 * CHUNK)
    storage.put("/b/o.tgz", data)
    storage.inject("stall", at_byte=CHUNK + 1000, seconds=2.0)
    path = download_file(storage.urls("/b/o.tgz"), tmp_path, **fast(timeout=0.3))
    assert path.read_bytes() == data
    # Whole chunks count: the second one timed out part-way and is fetched again.
    assert storage.requests[1].headers["range"] == f"bytes={CHUNK}-"


def test_a_corrupted_download_is_fetched_afresh_with_a_new_url(
    storage: FakeStorage, tmp_path: Path
) -> None:
    data = blob_of(2 * CHUNK)
    storage.put("/b/o.tgz", data)
    storage.inject("corrupt")
    urls = storage.urls("/b/o.tgz")
    path = download_file(urls, tmp_path, **fast())
    assert path.read_bytes() == data
    assert urls.calls == 2
    # The second download used the second URL.
    assert [r.target.rsplit(SIGNATURE, 1)[1] for r in storage.requests] == ["1", "2"]


@pytest.mark.parametrize("hashes", [{"md5": True, "crc32c": False}, {"md5": False, "crc32c": True}])
def test_corruption_twice_is_an_integrity_error_and_nothing_is_left(
    storage: FakeStorage, tmp_path: Path, hashes: dict[str, bool]
) -> None:
    storage.put("/b/o.tgz", blob_of(2 * CHUNK), **hashes)
    storage.inject("corrupt", count=None)
    urls = storage.urls("/b/o.tgz")
    with pytest.raises(IntegrityError, match="fresh download") as caught:
        download_file(urls, tmp_path / "job", **fast())
    assert "md5" in str(caught.value) or "crc32c" in str(caught.value)
    assert urls.calls == 2
    assert leftovers(tmp_path / "job") == []


def test_crc32c_alone_verifies_by_default_and_verify_all_checks_md5_too(
    storage: FakeStorage, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = blob_of(2 * CHUNK)
    storage.put("/b/o.tgz", data, announced_md5=bytes(16))  # a wrong md5, a right crc32c
    caplog.set_level(logging.DEBUG, logger="up42_facade")
    assert download_file(storage.urls("/b/o.tgz"), tmp_path, **fast()).read_bytes() == data
    assert f"{len(data)} bytes, crc32c" in caplog.text
    with pytest.raises(IntegrityError, match="md5"):
        download_file(storage.urls("/b/o.tgz"), tmp_path / "all", verify="all", **fast())
    assert leftovers(tmp_path / "all") == []


def test_md5_is_checked_when_crc32c_cannot_be(
    storage: FakeStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(download_module, "_CRC32C_EXTEND", None)  # google-crc32c missing
    storage.put("/b/o.tgz", blob_of(CHUNK), announced_md5=bytes(16))
    with pytest.raises(IntegrityError, match="md5"):
        download_file(storage.urls("/b/o.tgz"), tmp_path / "job", **fast())
    assert leftovers(tmp_path / "job") == []


def test_an_unknown_length_download_is_verified_by_its_hash(
    storage: FakeStorage, tmp_path: Path
) -> None:
    data = blob_of(2 * CHUNK + 17)
    storage.put("/b/o.tgz", data, chunked=True)
    assert download_file(storage.urls("/b/o.tgz"), tmp_path, **fast()).read_bytes() == data
    storage.inject("corrupt", count=None)
    with pytest.raises(IntegrityError):
        download_file(storage.urls("/b/o.tgz"), tmp_path / "bad", **fast())
    assert leftovers(tmp_path / "bad") == []


def test_an_empty_object_downloads_as_an_empty_file(storage: FakeStorage, tmp_path: Path) -> None:
    storage.put("/b/o.tgz", b"")
    assert download_file(storage.urls("/b/o.tgz"), tmp_path, **fast()).read_bytes() == b""


@pytest.mark.parametrize("status", [400, 403])
def test_an_expired_signed_url_is_replaced_once(
    storage: FakeStorage, tmp_path: Path, status: int
) -> None:
    data = blob_of(CHUNK)
    storage.put("/b/o.tgz", data)
    storage.inject("status", status=status)
    urls = storage.urls("/b/o.tgz")
    assert download_file(urls, tmp_path, **fast()).read_bytes() == data
    assert urls.calls == 2


def test_a_url_refused_twice_is_an_error_that_hides_the_signature(
    storage: FakeStorage, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage.put("/b/o.tgz", blob_of(100))
    storage.inject("status", count=None, status=403)
    caplog.set_level(logging.DEBUG, logger="up42_facade")
    with pytest.raises(DownloadError, match="HTTP 403") as caught:
        download_file(storage.urls("/b/o.tgz"), tmp_path / "job", **fast())
    message = str(caught.value)
    assert f"http://127.0.0.1:{storage.port}/b/o.tgz" in message
    assert SIGNATURE not in message and "?" not in message
    assert SIGNATURE not in caplog.text
    assert "GET http://127.0.0.1" in caplog.text
    assert leftovers(tmp_path / "job") == []


def test_a_missing_archive_is_a_download_error(storage: FakeStorage, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="no results archive"):
        download_file(storage.urls("/b/missing.tgz"), tmp_path / "job", **fast())
    assert len(storage.requests) == 1
    assert leftovers(tmp_path / "job") == []


def test_a_server_error_is_retried(storage: FakeStorage, tmp_path: Path) -> None:
    data = blob_of(1000)
    storage.put("/b/o.tgz", data)
    storage.inject("status", count=2, status=503)
    assert download_file(storage.urls("/b/o.tgz"), tmp_path, **fast()).read_bytes() == data
    assert [r.status for r in storage.requests] == [503, 503, 200]


def test_a_refused_connection_is_a_download_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DownloadError, match="2 attempts failed"):
        download_file(Urls(f"http://127.0.0.1:{port}/o.tgz"), tmp_path, max_attempts=2, **fast())


def test_a_url_that_is_not_http_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="not http"):
        download_file(lambda: "file:///etc/passwd", tmp_path, **fast())


def test_redirects_are_followed(storage: FakeStorage, tmp_path: Path) -> None:
    storage.put("/real/o.tgz", b"data")
    storage.inject("redirect", location="/real/o.tgz")
    path = download_file(storage.urls("/moved/o.tgz"), tmp_path, **fast())
    assert path.read_bytes() == b"data"
    assert [r.path for r in storage.requests] == ["/moved/o.tgz", "/real/o.tgz"]


def test_the_environments_http_proxy_is_used(
    storage: FakeStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.put("/b/o.tgz", b"via the proxy")
    monkeypatch.setenv("http_proxy", f"http://user:pw@127.0.0.1:{storage.port}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    urls = storage.urls("/b/o.tgz", host="storage.invalid")
    assert download_file(urls, tmp_path, **fast()).read_bytes() == b"via the proxy"
    (request,) = storage.requests
    assert request.target.startswith("http://storage.invalid/b/o.tgz?")
    assert (
        request.headers["proxy-authorization"] == "Basic " + base64.b64encode(b"user:pw").decode()
    )


def test_progress_goes_to_the_callback_and_to_a_bar_on_request(
    storage: FakeStorage, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = blob_of(3 * CHUNK)
    storage.put("/b/o.tgz", data)
    seen: list[tuple[int, int | None]] = []
    options = fast(show_progress=True)
    download_file(
        storage.urls("/b/o.tgz"), tmp_path, progress=lambda d, t: seen.append((d, t)), **options
    )
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1] == (len(data), len(data))
    assert "results" in capsys.readouterr().err


def test_without_a_terminal_no_bar_is_shown(
    storage: FakeStorage, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage.put("/b/o.tgz", blob_of(CHUNK))
    download_file(storage.urls("/b/o.tgz"), tmp_path, timeout=5.0)
    assert capsys.readouterr().err == ""


def interrupt_after(n: int) -> Callable[[int, int | None], None]:
    def progress(done: int, total: int | None) -> None:
        if done >= n:
            raise KeyboardInterrupt

    return progress


def test_ctrl_c_during_a_download_leaves_no_temporary_file(
    storage: FakeStorage, tmp_path: Path
) -> None:
    storage.put("/b/o.tgz", blob_of(4 * CHUNK))
    with pytest.raises(KeyboardInterrupt):
        download_file(
            storage.urls("/b/o.tgz"), tmp_path / "job", progress=interrupt_after(CHUNK), **fast()
        )
    assert leftovers(tmp_path / "job") == []


# -- download_results: download and unpack ----------------------------------------------------


def tgz(members: dict[str, bytes], *, extra: list[tarfile.TarInfo] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tar.addfile(info)
    return buffer.getvalue()


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


MEMBERS = {
    "output/data.json": b'{"type": "FeatureCollection", "features": []}',
    "output/f1/f1_0-0.tif": blob_of(2 * CHUNK, seed=1),
    "output/f2/f2_0-0.tif": blob_of(CHUNK // 2, seed=2),
}
UNPACKED = {name.removeprefix("output/"): data for name, data in MEMBERS.items()}


def files_in(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize("archive", [tgz, zipped], ids=["tgz", "zip"])
def test_results_are_unpacked_without_output_and_listed(
    storage: FakeStorage, tmp_path: Path, archive: Callable[[dict[str, bytes]], bytes]
) -> None:
    storage.put("/b/output.tgz", archive(MEMBERS))
    target = tmp_path / "project_p" / "job_j"
    files = download_results(storage.urls("/b/output.tgz"), target, **fast())
    assert sorted(files) == sorted(str(target / name) for name in UNPACKED)
    assert files_in(target) == UNPACKED
    assert leftovers(target) == sorted([*UNPACKED, "f1", "f2"])


def test_results_without_unpacking_keep_the_archive(storage: FakeStorage, tmp_path: Path) -> None:
    data = tgz(MEMBERS)
    storage.put("/b/output.tgz", data, filename="results.tgz")
    files = download_results(storage.urls("/b/output.tgz"), tmp_path, unpacking=False, **fast())
    assert files == [str(tmp_path / "results.tgz")]
    assert leftovers(tmp_path) == ["results.tgz"]


def test_downloading_again_replaces_the_files_cleanly(storage: FakeStorage, tmp_path: Path) -> None:
    storage.put("/b/output.tgz", tgz(MEMBERS))
    download_results(storage.urls("/b/output.tgz"), tmp_path, **fast())
    newer = {"output/data.json": b"{}", "output/f1/f1_0-0.tif": b"new"}
    storage.put("/b/output.tgz", tgz(newer))
    files = download_results(storage.urls("/b/output.tgz"), tmp_path, **fast())
    assert sorted(files) == sorted(str(tmp_path / n) for n in ("data.json", "f1/f1_0-0.tif"))
    assert files_in(tmp_path) == {
        "data.json": b"{}",
        "f1/f1_0-0.tif": b"new",
        "f2/f2_0-0.tif": UNPACKED["f2/f2_0-0.tif"],
    }


@pytest.mark.parametrize("fault", ["drop", "ignore_range", "corrupt"])
def test_unpacking_survives_drops_restarts_and_corruption(
    storage: FakeStorage, tmp_path: Path, fault: str
) -> None:
    storage.put("/b/output.tgz", tgz(MEMBERS))
    storage.inject("drop", at_byte=CHUNK + 1000)
    if fault != "drop":
        storage.inject(fault)
    download_results(storage.urls("/b/output.tgz"), tmp_path, **fast())
    assert files_in(tmp_path) == UNPACKED
    assert leftovers(tmp_path) == sorted([*UNPACKED, "f1", "f2"])


@pytest.mark.parametrize("at_byte", [2, 300, 600])
def test_unpacking_survives_a_drop_in_the_first_bytes(
    storage: FakeStorage, tmp_path: Path, at_byte: int
) -> None:
    # The format is told from the first block: a few bytes must not look like a plain tar.
    storage.put("/b/output.tgz", tgz(MEMBERS))
    storage.inject("drop", at_byte=at_byte)
    files = download_results(storage.urls("/b/output.tgz"), str(tmp_path), **fast())
    assert files_in(tmp_path) == UNPACKED
    assert len(files) == len(UNPACKED)


def test_unpacking_a_corrupt_download_twice_is_an_integrity_error(
    storage: FakeStorage, tmp_path: Path
) -> None:
    storage.put("/b/output.tgz", tgz(MEMBERS))
    storage.inject("corrupt", count=None)
    with pytest.raises(IntegrityError):
        download_results(storage.urls("/b/output.tgz"), tmp_path / "job", **fast())
    assert leftovers(tmp_path / "job") == []


def symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def test_a_hostile_archive_stops_the_download_early_and_leaves_nothing(
    storage: FakeStorage, tmp_path: Path
) -> None:
    big = {"output/a.tif": blob_of(CHUNK), "output/b.tif": blob_of(8 * CHUNK, seed=3)}
    hostile = io.BytesIO()
    with tarfile.open(fileobj=hostile, mode="w") as tar:  # plain tar: the link comes first
        tar.addfile(symlink("output/escape", "/etc"))
        for name, payload in big.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    storage.put("/b/output.tgz", hostile.getvalue())
    storage.inject("stall", at_byte=3 * CHUNK, seconds=5.0)
    start = time.monotonic()
    with pytest.raises(UnsafeArchiveError, match="symbolic link") as caught:
        download_results(
            storage.urls("/b/output.tgz"),
            tmp_path / "job",
            # A slow consumer: the unpacking thread surely looked at the first chunk by then.
            progress=lambda done, total: time.sleep(0.2),
            **fast(timeout=10.0),
        )
    assert time.monotonic() - start < 4.0  # did not wait for the rest of the archive
    assert caught.value.member == "output/escape"
    assert leftovers(tmp_path / "job") == []


def test_a_truncated_archive_is_a_download_error_that_leaves_nothing(
    storage: FakeStorage, tmp_path: Path
) -> None:
    data = tgz(MEMBERS)
    storage.put("/b/output.tgz", data[: len(data) * 2 // 3])  # hashes match the cut bytes
    with pytest.raises(DownloadError, match="truncated"):
        download_results(storage.urls("/b/output.tgz"), tmp_path / "job", **fast())
    assert leftovers(tmp_path / "job") == []


def test_the_member_caps_apply_to_downloads(storage: FakeStorage, tmp_path: Path) -> None:
    storage.put("/b/output.tgz", tgz(MEMBERS))
    with pytest.raises(UnsafeArchiveError, match="max_total_size"):
        download_results(
            storage.urls("/b/output.tgz"), tmp_path / "job", max_total_size=CHUNK, **fast()
        )
    with pytest.raises(UnsafeArchiveError, match="max_members"):
        download_results(storage.urls("/b/output.tgz"), tmp_path / "job", max_members=2, **fast())
    assert leftovers(tmp_path / "job") == []


def test_ctrl_c_while_unpacking_leaves_no_temporary_files(
    storage: FakeStorage, tmp_path: Path
) -> None:
    target = tmp_path / "job"
    target.mkdir()
    (target / "earlier.txt").write_bytes(b"kept")
    storage.put("/b/output.tgz", tgz(MEMBERS))
    with pytest.raises(KeyboardInterrupt):
        download_results(
            storage.urls("/b/output.tgz"), target, progress=interrupt_after(CHUNK), **fast()
        )
    assert leftovers(target) == ["earlier.txt"]


# -- stream_to_blob -----------------------------------------------------------------------------


class RecordingBlob:
    """A stand-in of ``google.cloud.storage.Blob`` that keeps only sizes and a hash."""

    def __init__(self) -> None:
        self.uploads: list[RecordingWriter] = []

    def open(self, mode: str, **options: Any) -> RecordingWriter:
        assert mode == "wb"
        self.uploads.append(RecordingWriter(options))
        return self.uploads[-1]


class RecordingWriter:
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0
        self.writes = 0
        self.state = "open"

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.state = "cancelled" if exc_type is not None else "finalized"

    def write(self, data: bytes | memoryview) -> int:
        self.md5.update(data)
        self.size += len(data)
        self.writes += 1
        return len(data)


def test_stream_to_blob_streams_without_holding_the_archive(
    storage: FakeStorage, tmp_path: Path
) -> None:
    data = blob_of(48 * CHUNK)
    storage.put("/b/o.tgz", data)
    blob = RecordingBlob()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        stream_to_blob(storage.urls("/b/o.tgz"), blob, timeout=5.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (upload,) = blob.uploads
    assert upload.state == "finalized"
    assert upload.md5.digest() == hashlib.md5(
        data, usedforsecurity=False
    ).digest() and upload.size == len(data)
    assert upload.options["chunk_size"] == 8 * CHUNK
    assert upload.options["content_type"] == "application/x-gzip"
    assert peak < 6 * CHUNK, f"peak {peak / CHUNK:.1f} MiB for a 48 MiB archive"


def test_stream_to_blob_restarts_the_upload_when_the_download_starts_over(
    storage: FakeStorage,
) -> None:
    data = blob_of(3 * CHUNK)
    storage.put("/b/o.tgz", data)
    storage.inject("drop", at_byte=2 * CHUNK)
    storage.inject("ignore_range")
    blob = RecordingBlob()
    stream_to_blob(storage.urls("/b/o.tgz"), blob, timeout=5.0)
    assert [u.state for u in blob.uploads] == ["cancelled", "finalized"]
    assert blob.uploads[-1].md5.digest() == hashlib.md5(data, usedforsecurity=False).digest()


def test_stream_to_blob_never_finalizes_a_corrupt_download(storage: FakeStorage) -> None:
    storage.put("/b/o.tgz", blob_of(3 * CHUNK))
    storage.inject("corrupt", count=None)
    blob = RecordingBlob()
    with pytest.raises(IntegrityError):
        stream_to_blob(storage.urls("/b/o.tgz"), blob, timeout=5.0, backoff=0.01)
    assert [u.state for u in blob.uploads] == ["cancelled", "cancelled"]


class FakeGCS:
    """Just enough of the GCS JSON API's resumable uploads for google-cloud-storage's Blob."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.cancelled = 0
        self.peak_request = 0
        self.uploads: dict[str, dict[str, Any]] = {}
        gcs = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                name = (
                    json.loads(body or b"{}").get("name")
                    or parse_qs(urlsplit(self.path).query)["name"][0]
                )
                upload_id = f"u{len(gcs.uploads)}"
                gcs.uploads[upload_id] = {
                    "name": name,
                    "md5": hashlib.md5(usedforsecurity=False),
                    "crc": 0,
                    "size": 0,
                    "type": self.headers.get("X-Upload-Content-Type"),
                }
                self.send_response(200)
                self.send_header("Location", f"http://127.0.0.1:{gcs.port}/upload/{upload_id}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_PUT(self) -> None:
                upload = gcs.uploads[urlsplit(self.path).path.rsplit("/", 1)[1]]
                length = int(self.headers.get("Content-Length", 0))
                gcs.peak_request = max(gcs.peak_request, length)
                remaining = length
                while remaining:
                    piece = self.rfile.read(min(remaining, CHUNK))
                    upload["md5"].update(piece)
                    upload["crc"] = google_crc32c.extend(upload["crc"], piece)
                    upload["size"] += len(piece)
                    remaining -= len(piece)
                total = self.headers["Content-Range"].rsplit("/", 1)[1]
                if total == "*":
                    self.send_response(308)
                    self.send_header("Range", f"bytes=0-{upload['size'] - 1}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                resource = {
                    "name": upload["name"],
                    "bucket": "results",
                    "size": str(upload["size"]),
                    "contentType": upload["type"],
                    "md5Hash": base64.b64encode(upload["md5"].digest()).decode(),
                    "crc32c": base64.b64encode(upload["crc"].to_bytes(4, "big")).decode(),
                }
                gcs.objects[upload["name"]] = resource
                body = json.dumps(resource).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_DELETE(self) -> None:
                gcs.cancelled += 1
                self.send_response(499)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gcs_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, FakeGCS]]:
    storage_lib = pytest.importorskip("google.cloud.storage")
    from google.auth.credentials import AnonymousCredentials

    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    gcs = FakeGCS()
    client = storage_lib.Client(
        project="sandbox",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": f"http://127.0.0.1:{gcs.port}"},
    )
    yield client.bucket("results"), gcs
    gcs.close()


def test_stream_to_blob_uploads_through_the_real_google_cloud_storage_blob(
    storage: FakeStorage, gcs_bucket: tuple[Any, FakeGCS]
) -> None:
    bucket, gcs = gcs_bucket
    data = blob_of(20 * CHUNK + 5)
    storage.put("/b/o.tgz", data)
    blob = bucket.blob("v0/folder/job-id.tgz")
    stream_to_blob(storage.urls("/b/o.tgz"), blob, timeout=5.0)
    stored = gcs.objects["v0/folder/job-id.tgz"]
    assert (
        stored["md5Hash"]
        == base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
    )
    assert stored["size"] == str(len(data)) and stored["contentType"] == "application/x-gzip"
    assert gcs.peak_request <= 8 * CHUNK  # one chunk per request, never the whole archive


def test_a_failed_download_cancels_the_real_upload(
    storage: FakeStorage, gcs_bucket: tuple[Any, FakeGCS]
) -> None:
    bucket, gcs = gcs_bucket
    storage.put("/b/o.tgz", blob_of(20 * CHUNK))
    storage.inject("corrupt", count=None)
    with pytest.raises(IntegrityError):
        stream_to_blob(storage.urls("/b/o.tgz"), bucket.blob("v0/f/j.tgz"), timeout=5.0)
    assert gcs.objects == {}
    assert gcs.cancelled == 2


def test_stream_to_blob_refuses_google_cloud_storage_before_3(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    storage = pytest.importorskip("google.cloud.storage")
    monkeypatch.setattr(storage, "__version__", "2.18.2")
    blob = storage.Blob("v0/folder/job.tgz", bucket=storage.Bucket(client=None, name="b"))
    asked: list[int] = []

    def get_url() -> str:
        asked.append(1)
        return "http://127.0.0.1:9/never"

    with pytest.raises(ConfigurationError, match=r"google-cloud-storage >= 3\.0"):
        stream_to_blob(get_url, blob)
    assert asked == []  # refused before any request


def test_a_malformed_signed_url_fails_at_once_without_showing_its_signature(
    tmp_path: Path,
) -> None:
    url = "http://127.0.0.1:9/b/o.tgz?X-Goog-Signature=deadbeefcafe\x01"
    with pytest.raises(DownloadError) as caught:
        download_file(lambda: url, tmp_path, timeout=1.0, backoff=0.0)
    shown = f"{caught.value} {caught.value!r} {caught.value.__cause__!r}"
    assert "deadbeefcafe" not in shown
    assert "malformed" in str(caught.value)
    assert list(tmp_path.iterdir()) == []
