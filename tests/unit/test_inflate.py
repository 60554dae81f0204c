"""ISA-L's inflate gives the same files as zlib's: tar.gz streams and zip deflate members,
unpacked both ways and compared byte for byte; damaged input still fails cleanly."""

from __future__ import annotations

import io
import random
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.unit.test_unpack import make_tgz, tree
from up42_facade import _inflate
from up42_facade._errors import DownloadError
from up42_facade._unpack import unpack_archive

pytestmark = pytest.mark.skipif(not _inflate.FAST_INFLATE, reason="isal is a dependency")

RNG = random.Random(7)
#: Incompressible, compressible and empty members, and one bigger than a read (1 MiB).
MEMBERS = [
    ("output/noise.tif", RNG.randbytes(3 << 20)),
    ("output/text.json", b'{"type": "FeatureCollection", "features": []}\n' * 50_000),
    ("output/empty.txt", b""),
    ("output/sub/small.bin", RNG.randbytes(17)),
]


@pytest.fixture
def with_zlib(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback: no isal, so tarfile and zipfile inflate with zlib themselves."""
    monkeypatch.setattr(_inflate, "igzip", None)
    monkeypatch.setattr(_inflate, "isal_zlib", None)


def unpack_both_ways(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    fast = tmp_path / "isal"
    unpack_archive(archive, fast)
    monkeypatch.setattr(_inflate, "igzip", None)
    monkeypatch.setattr(_inflate, "isal_zlib", None)
    slow = tmp_path / "zlib"
    unpack_archive(archive, slow)
    return tree(fast), tree(slow)


def test_a_tgz_unpacks_to_the_same_bytes_with_isal_and_zlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = make_tgz(tmp_path / "results.tgz", MEMBERS)
    fast, slow = unpack_both_ways(archive, tmp_path, monkeypatch)
    assert fast == slow == {name.removeprefix("output/"): data for name, data in MEMBERS}


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_a_zip_unpacks_to_the_same_bytes_with_isal_and_zlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: int
) -> None:
    archive = tmp_path / "results.zip"
    with zipfile.ZipFile(archive, "w", compression=method) as zipped:
        for name, data in MEMBERS:
            zipped.writestr(name, data)
    fast, slow = unpack_both_ways(archive, tmp_path, monkeypatch)
    assert fast == slow == {name.removeprefix("output/"): data for name, data in MEMBERS}


def test_isal_reads_a_deflate_member_exactly_as_zipfile_does(tmp_path: Path) -> None:
    archive = tmp_path / "one.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("a", MEMBERS[1][1])
        zipped.writestr("b", MEMBERS[0][1])
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            with _inflate.open_member(zipped, info) as ours, zipped.open(info) as theirs:
                assert ours.read() == theirs.read()


def test_a_zip_member_with_a_wrong_crc_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("output/a.bin", RNG.randbytes(4096))
    raw = bytearray(archive.read_bytes())
    start = raw.index(b"PK\x03\x04") + 30 + len("output/a.bin")
    raw[start + 100] ^= 0xFF  # flip a byte of the deflated data
    archive.write_bytes(bytes(raw))
    with pytest.raises(DownloadError, match="damaged"):
        unpack_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "a.bin").exists()


def test_a_truncated_tgz_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    archive = make_tgz(tmp_path / "whole.tgz", MEMBERS)
    cut = tmp_path / "cut.tgz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DownloadError):
        unpack_archive(cut, tmp_path / "out")
    assert not (tmp_path / "out").exists() or tree(tmp_path / "out") == {}


@pytest.mark.parametrize("mode", ["w", "w:bz2", "w:xz"])
def test_tar_streams_that_are_not_gzip_still_unpack(tmp_path: Path, mode: str) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for name, data in MEMBERS:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    with _inflate.open_tar(buffer) as tar:
        read = {m.name: tar.extractfile(m).read() for m in tar if m.isreg()}  # type: ignore[union-attr]
    assert read == dict(MEMBERS)


def test_the_inflated_tar_stream_never_goes_backwards() -> None:
    forward = _inflate._Forward(io.BytesIO(b"x" * 1000))
    assert forward.seek(600) == 600 and forward.read(10) == b"x" * 10
    assert forward.seek(2000) == 1000  # past the end: the next read says so
    with pytest.raises(tarfile.ReadError, match="backwards"):
        forward.seek(10)


def test_a_gzip_stream_is_inflated_by_isal_before_tarfile_sees_it(tmp_path: Path) -> None:
    archive = make_tgz(tmp_path / "results.tgz", MEMBERS)
    with archive.open("rb") as source, _inflate.open_tar(source) as tar:
        assert isinstance(tar.fileobj, _inflate._Forward)
        assert [m.name for m in tar] == [name for name, _ in MEMBERS]
