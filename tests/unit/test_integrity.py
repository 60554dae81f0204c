"""What storage announces about an object, and whether a ranged answer continues it.

Pure rules, no sockets: the download stories that rely on them are in ``tests/downloads``.
"""

from __future__ import annotations

import base64
import hashlib
import random
from email.message import Message
from typing import Literal

import google_crc32c
import pytest

from up42_facade import _integrity
from up42_facade._integrity import RemoteObject, mismatches, wanted_digests
from up42_facade._transfer import _range_problem

DATA = b"results archive bytes"
MD5 = hashlib.md5(DATA, usedforsecurity=False).digest()
CRC32C = google_crc32c.value(DATA)


def headers(**fields: str) -> Message:
    message = Message()
    for name, value in fields.items():
        message[name.replace("_", "-")] = value
    return message


def goog_hash(*, crc32c: int = CRC32C, md5: bytes = MD5) -> str:
    crc = base64.b64encode(crc32c.to_bytes(4, "big")).decode()
    return f"crc32c={crc},md5={base64.b64encode(md5).decode()}"


def test_x_goog_hash_gives_md5_and_crc32c() -> None:
    announced = RemoteObject.from_headers(headers(x_goog_hash=goog_hash()), size=len(DATA))
    assert (announced.md5, announced.crc32c, announced.size) == (MD5, CRC32C, len(DATA))


def test_x_goog_hash_may_come_as_two_headers_in_any_case() -> None:
    message = headers()
    message["x-goog-hash"] = f"CRC32C={base64.b64encode(CRC32C.to_bytes(4, 'big')).decode()}"
    message["X-Goog-Hash"] = f"MD5={base64.b64encode(MD5).decode()}"
    announced = RemoteObject.from_headers(message, size=None)
    assert (announced.md5, announced.crc32c) == (MD5, CRC32C)


@pytest.mark.parametrize(
    "value",
    [
        "md5=not base64!,crc32c=@@@@",
        f"md5={base64.b64encode(b'short').decode()}",  # not 16 bytes
        f"crc32c={base64.b64encode(b'12345').decode()}",  # not 4 bytes
        "sha256=AAAA",
        "",
    ],
)
def test_malformed_or_unknown_hashes_are_ignored_not_trusted(value: str) -> None:
    announced = RemoteObject.from_headers(headers(x_goog_hash=value), size=None)
    assert (announced.md5, announced.crc32c) == (None, None)


def test_a_strong_etag_is_the_resume_validator_and_a_weak_one_gives_way_to_last_modified() -> None:
    modified = "Wed, 21 Oct 2015 07:28:00 GMT"
    strong = RemoteObject.from_headers(headers(ETag='"abc"', Last_Modified=modified), size=1)
    weak = RemoteObject.from_headers(headers(ETag='W/"abc"', Last_Modified=modified), size=1)
    assert strong.validator == '"abc"'
    assert weak.validator == modified
    assert RemoteObject.from_headers(headers(), size=1).validator is None


@pytest.mark.parametrize(
    ("value", "filename"),
    [
        ('attachment; filename="../evil.tgz"', "../evil.tgz"),  # made safe later, by the download
        ("attachment; filename*=UTF-8''r%C3%A9sultats.tgz", "résultats.tgz"),
    ],
)
def test_content_disposition_gives_the_filename_unchecked(value: str, filename: str) -> None:
    announced = RemoteObject.from_headers(headers(Content_Disposition=value), size=None)
    assert announced.filename == filename


def test_content_disposition_prefers_the_encoded_filename_when_both_are_given() -> None:
    value = "attachment; filename=\"resultats.tgz\"; filename*=UTF-8''r%C3%A9sultats.tgz"
    announced = RemoteObject.from_headers(headers(Content_Disposition=value), size=None)
    assert announced.filename == "résultats.tgz"


def test_mismatches_name_the_size_and_each_hash_that_differs() -> None:
    announced = RemoteObject(size=len(DATA), md5=MD5, crc32c=CRC32C)
    assert mismatches(announced, len(DATA), MD5, CRC32C) == []
    assert mismatches(announced, len(DATA), None, None) == []  # not computed: not judged
    problems = mismatches(announced, len(DATA) - 1, bytes(16), CRC32C ^ 1)
    assert [problem.split()[0] for problem in problems] == [str(len(DATA) - 1), "md5", "crc32c"]


@pytest.mark.parametrize(
    ("integrity", "has_crc32c", "crc32c_installed", "wanted"),
    [
        ("auto", True, True, (False, True)),
        ("auto", False, True, (True, False)),
        ("auto", True, False, (True, False)),
        ("all", True, True, (True, True)),
        ("size", True, True, (False, False)),
    ],
)
def test_the_integrity_mode_picks_the_digests_to_compute(
    monkeypatch: pytest.MonkeyPatch,
    integrity: Literal["auto", "all", "size"],
    has_crc32c: bool,
    crc32c_installed: bool,
    wanted: tuple[bool, bool],
) -> None:
    if not crc32c_installed:
        monkeypatch.setattr(_integrity, "_CRC32C_EXTEND", None)
    announced = RemoteObject(size=1, md5=MD5, crc32c=CRC32C if has_crc32c else None)
    assert wanted_digests(announced, integrity) == wanted


class Answer:
    """The one thing ``_range_problem`` reads from a storage answer: its headers."""

    def __init__(self, content_range: str | None) -> None:
        self.content_range = content_range

    def header(self, name: str) -> str | None:
        assert name == "Content-Range"
        return self.content_range


@pytest.mark.parametrize(
    ("content_range", "size", "fits"),
    [
        ("bytes 100-999/1000", 1000, True),
        ("bytes 100-999/*", None, True),
        ("bytes 100-999/1000", None, True),
        ("bytes 107-999/1000", 1000, False),  # starts elsewhere
        ("bytes 100-998/1000", 1000, False),  # stops short of the end
        ("bytes 100-999/2000", 1000, False),  # another object's size
        ("bytes 100-999/*", 1000, False),
        ("items 100-999/1000", 1000, False),
        ("bytes 100-50/1000", None, False),
        ("bytes abc-999/1000", 1000, False),
        (None, 1000, False),
    ],
)
def test_a_ranged_answer_must_continue_the_object_exactly(
    content_range: str | None, size: int | None, fits: bool
) -> None:
    problem = _range_problem(Answer(content_range), 100, size)  # type: ignore[arg-type]
    assert (problem is None) == fits


@pytest.mark.skipif(_integrity._CRC32C_EXTEND is None, reason="google-crc32c's C extension")
def test_slices_crc32c_compose_to_the_whole_objects() -> None:
    rng = random.Random(3)
    data = rng.randbytes(3 << 20)
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(data)), rng.randrange(1, 8)))
        pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        total = google_crc32c.value(pieces[0])
        for piece in pieces[1:]:
            total = _integrity.crc32c_combine(total, google_crc32c.value(piece), len(piece))
        assert total == google_crc32c.value(data)
    assert _integrity.crc32c_combine(0x1234, 0, 0) == 0x1234  # an empty slice adds nothing
