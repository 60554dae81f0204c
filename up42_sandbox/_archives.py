"""Result files that look and open like the real ones: data.json, GeoTIFFs, quicklooks, archives.

Everything is generated from a ``random.Random`` so a seeded sandbox produces the same ids and
metadata on every run (cassettes re-record identically). Only the padding bytes of big benchmark
archives come from ``os.urandom``: they must be incompressible and never sit whole in memory.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import random
import tarfile
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import google_crc32c
from PIL import Image, ImageChops, TiffImagePlugin, TiffTags

__all__ = [
    "HOSTILE_KINDS",
    "Archive",
    "ArchiveFormat",
    "build_archive",
    "make_features",
    "png_bytes",
    "seeded_uuid",
    "tiff_bytes",
]

ArchiveFormat = Literal["tgz", "zip"]

#: Hostile variants of an archive; "all" puts every escape attempt in one archive.
HOSTILE_KINDS = frozenset({"dotdot", "absolute", "symlink", "hardlink", "truncated", "all"})

#: Berlin, where the real API's examples live: footprints are drawn around this point.
BERLIN_LON, BERLIN_LAT = 13.404954, 52.520008
#: Half the side of a footprint in degrees (about 2-4 km), like a small Sentinel-2 clip.
FOOTPRINT_HALF_SIDE = (0.01, 0.03)
#: Pixels per side of each result image: real enough to open, small enough to build in ms.
IMAGE_SIZE = 64
#: Pixels per side of each quicklook PNG.
QUICKLOOK_SIZE = 128
#: Read and write chunk size for padding and hashing: large enough for near-disk speed.
CHUNK = 1 << 20
#: Compression of normal archives, and of padded ones (random bytes do not compress, and
#: deflate level 1 on them runs at ~50 MiB/s versus ~900 MiB/s for level 0).
GZIP_LEVEL, GZIP_LEVEL_PADDED = 6, 0
#: Sentinel-2 tiles around Berlin, for realistic identification metadata.
TILES = ("33UUU", "33UVU", "32UQD", "33UUT")
#: 2019-12-20, the acquisition date of the real API's example; acquisitions spread after it.
BASE_TIMESTAMP_MS = 1576836871024


def seeded_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng`` (deterministic when the sandbox is seeded)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def make_features(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """GeoJSON features shaped like the real ``data.json`` (see api-examples/data-json.json)."""
    features = []
    for _ in range(count):
        uid = seeded_uuid(rng)
        half = rng.uniform(*FOOTPRINT_HALF_SIDE)
        lon = round(BERLIN_LON + rng.uniform(-0.08, 0.08), 6)
        lat = round(BERLIN_LAT + rng.uniform(-0.05, 0.05), 6)
        west, south = round(lon - half, 6), round(lat - half * 0.6, 6)
        east, north = round(lon + half, 6), round(lat + half * 0.6, 6)
        timestamp = BASE_TIMESTAMP_MS + rng.randrange(0, 600) * 86_400_000 + rng.randrange(86_400)
        mission_code = rng.choice(("S2A", "S2B"))
        tile = rng.choice(TILES)
        day = time.strftime("%Y%m%dT%H%M%S", time.gmtime(timestamp / 1000))
        orbit = rng.randrange(1, 143)
        features.append(
            {
                "type": "Feature",
                "bbox": [west, south, east, north],
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[west, south], [west, north], [east, north], [east, south], [west, south]]
                    ],
                },
                "properties": {
                    "uid": uid,
                    "timeStamp": timestamp,
                    "acquisition": {
                        "mission": "Sentinel-2",
                        "missionCode": mission_code,
                        "sensorId": "MSI",
                        "beginViewingDate": timestamp,
                        "endViewingDate": timestamp + 1000,
                    },
                    "identification": {
                        "externalId": (
                            f"{mission_code}_MSIL2A_{day}_N0213_R{orbit:03d}_T{tile}_{day}"
                        ),
                        "collection": "Sentinel-2",
                        "tileId": tile,
                        "type": "S2MSI2A",
                    },
                    "contentDescription": {"cloudCoverPercentage": round(rng.uniform(0, 20), 4)},
                    "orbit": {"relativeNumber": orbit, "direction": "DESCENDING"},
                    "up42.data_path": f"{uid}/{uid}_0-0.tif",
                },
            }
        )
    return features


def _pixels(rng: random.Random, size: int) -> Image.Image:
    """An RGB image of seeded gradients and noise: looks like something, builds in under 1 ms."""
    noise = Image.frombytes("L", (size, size), rng.randbytes(size * size)).point(lambda v: v // 8)
    down = Image.linear_gradient("L").resize((size, size))
    across = down.transpose(Image.Transpose.ROTATE_90)
    diagonal = ImageChops.add(down, across, scale=2.0)
    bands = []
    for base in (across, down, diagonal):
        tint = rng.randrange(256)
        tinted = ImageChops.add_modulo(base, noise).point(lambda v, t=tint: (v + t) % 256)
        bands.append(tinted)
    return Image.merge("RGB", bands)


def tiff_bytes(rng: random.Random, bbox: list[float]) -> bytes:
    """A small GeoTIFF (EPSG:4326) of the footprint: Pillow, rasterio and GDAL open it."""
    image = _pixels(rng, IMAGE_SIZE)
    west, south, east, north = bbox
    info = TiffImagePlugin.ImageFileDirectory_v2()
    # GeoTIFF tags: pixel scale, one tie point at the upper left, and a key directory saying
    # "geographic, WGS 84" so GIS tools place the image where the footprint is.
    info[33550] = ((east - west) / IMAGE_SIZE, (north - south) / IMAGE_SIZE, 0.0)
    info.tagtype[33550] = TiffTags.DOUBLE
    info[33922] = (0.0, 0.0, 0.0, west, north, 0.0)
    info.tagtype[33922] = TiffTags.DOUBLE
    info[34735] = (1, 1, 0, 3, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326)
    info.tagtype[34735] = TiffTags.SHORT
    buffer = io.BytesIO()
    image.save(buffer, format="TIFF", tiffinfo=info)
    return buffer.getvalue()


def png_bytes(rng: random.Random) -> bytes:
    """A quicklook: a small real PNG."""
    buffer = io.BytesIO()
    _pixels(rng, QUICKLOOK_SIZE).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


@dataclass(frozen=True)
class Archive:
    """A built archive on disk and the hashes the storage listener announces for it."""

    path: Path
    size: int
    md5: bytes
    crc32c: bytes
    content_type: str
    filename: str

    @property
    def etag(self) -> str:
        """The quoted md5 hex, as GCS sends for non-composite objects."""
        return f'"{self.md5.hex()}"'

    @property
    def goog_hash(self) -> str:
        """The ``x-goog-hash`` header value."""
        crc = base64.b64encode(self.crc32c).decode()
        md5 = base64.b64encode(self.md5).decode()
        return f"crc32c={crc},md5={md5}"


class _RandomReader(io.RawIOBase):
    """A file-like source of ``size`` incompressible bytes, produced chunk by chunk."""

    def __init__(self, size: int) -> None:
        self._left = size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        self._left -= n
        return os.urandom(n)


def _hash_file(path: Path) -> tuple[int, bytes, bytes]:
    """Size, md5 and crc32c (big-endian, as GCS encodes it) of a file, read in chunks."""
    md5 = hashlib.md5()  # noqa: S324 - GCS's content hash, not a security measure
    crc = google_crc32c.Checksum()  # type: ignore[no-untyped-call]
    size = 0
    with path.open("rb") as source:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            md5.update(chunk)
            crc.update(chunk)  # type: ignore[no-untyped-call]
            size += len(chunk)
    return size, md5.digest(), crc.digest()  # type: ignore[no-untyped-call]


def _hostile_members(kind: str, root: str) -> Iterator[tuple[str, bytes, str, str]]:
    """Escape attempts as ``(kind, type, name, target)``: each points outside the target folder."""
    kinds = ("dotdot", "absolute", "symlink", "hardlink") if kind == "all" else (kind,)
    for each in kinds:
        if each == "dotdot":
            yield "file", tarfile.REGTYPE, f"{root}../../sandbox-escape-dotdot.txt", ""
        elif each == "absolute":
            # Only ever a member name inside the archive: the sandbox writes nothing there.
            yield "file", tarfile.REGTYPE, "/tmp/sandbox-escape-absolute.txt", ""  # noqa: S108
        elif each == "symlink":
            yield "link", tarfile.SYMTYPE, f"{root}escape-symlink", "../../../../../../../../tmp"
            yield "file", tarfile.REGTYPE, f"{root}escape-symlink/sandbox-escape-symlink.txt", ""
        elif each == "hardlink":
            yield "link", tarfile.LNKTYPE, f"{root}escape-hardlink", "/etc/passwd"


ESCAPE_TEXT = b"written outside the output folder by a hostile archive\n"


def build_archive(
    dest: Path,
    *,
    files: dict[str, bytes],
    fmt: ArchiveFormat = "tgz",
    root: str = "output/",
    padding: int = 0,
    hostile: str | None = None,
    mtime: float | None = None,
) -> Archive:
    """Write a results archive to ``dest`` and hash it.

    Args:
        dest: the file to write (its folder must exist).
        files: archive member names (relative to ``root``) and their bytes.
        fmt: "tgz" or "zip".
        root: the leading folder of every member, "output/" like the real archives, or "".
        padding: extra incompressible bytes in ``<root>padding.bin``, streamed in chunks.
        hostile: None or one of ``HOSTILE_KINDS``.
        mtime: member modification time (defaults to now).

    Returns:
        The archive with the size and hashes of the bytes actually on disk (for "truncated",
        of the truncated bytes, so the storage listener's headers match what it sends).
    """
    if hostile is not None and hostile not in HOSTILE_KINDS:
        raise ValueError(f"hostile must be None or one of {sorted(HOSTILE_KINDS)}")
    if fmt == "zip" and hostile in {"hardlink", "all"}:
        raise ValueError("zip archives cannot hold hard links; use archive='tgz'")
    stamp = time.time() if mtime is None else mtime
    members = {f"{root}{name}": data for name, data in files.items()}
    escapes = [] if hostile in {None, "truncated"} else list(_hostile_members(str(hostile), root))
    if fmt == "tgz":
        _write_tgz(dest, members, escapes, padding, root, stamp)
        content_type = "application/x-gzip"
    elif fmt == "zip":
        _write_zip(dest, members, escapes, padding, root, stamp)
        content_type = "application/zip"
    else:
        raise ValueError(f"archive must be 'tgz' or 'zip', not {fmt!r}")
    if hostile == "truncated":
        full = dest.stat().st_size
        # Two thirds in falls inside the image members' data: a valid prefix cut mid-member.
        os.truncate(dest, max(full * 2 // 3, 1))
    size, md5, crc = _hash_file(dest)
    return Archive(dest, size, md5, crc, content_type, dest.name)


def _write_tgz(
    dest: Path,
    members: dict[str, bytes],
    escapes: list[tuple[str, bytes, str, str]],
    padding: int,
    root: str,
    stamp: float,
) -> None:
    level = GZIP_LEVEL_PADDED if padding else GZIP_LEVEL
    with tarfile.open(dest, "w:gz", compresslevel=level) as tar:
        folders = sorted({name.rsplit("/", 1)[0] + "/" for name in members if "/" in name})
        for folder in folders:
            info = tarfile.TarInfo(folder.rstrip("/"))
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, int(stamp)
            tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, int(stamp)
            tar.addfile(info, io.BytesIO(data))
        if padding:
            info = tarfile.TarInfo(f"{root}padding.bin")
            info.size, info.mode, info.mtime = padding, 0o644, int(stamp)
            tar.addfile(info, _RandomReader(padding))
        for what, kind, name, target in escapes:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = kind, 0o644, int(stamp)
            if what == "link":
                info.linkname = target
                tar.addfile(info)
            else:
                info.size = len(ESCAPE_TEXT)
                tar.addfile(info, io.BytesIO(ESCAPE_TEXT))


def _write_zip(
    dest: Path,
    members: dict[str, bytes],
    escapes: list[tuple[str, bytes, str, str]],
    padding: int,
    root: str,
    stamp: float,
) -> None:
    date_time = time.localtime(stamp)[:6]
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time), data, zipfile.ZIP_DEFLATED)
        if padding:
            info = zipfile.ZipInfo(f"{root}padding.bin", date_time)
            info.compress_type = zipfile.ZIP_STORED
            source = _RandomReader(padding)
            with archive.open(info, "w", force_zip64=padding > 0x7FFFFFFF) as sink:
                for chunk in iter(lambda: source.read(CHUNK), b""):
                    sink.write(chunk)
        for what, kind, name, target in escapes:
            info = zipfile.ZipInfo(name, date_time)
            if what == "link" and kind == tarfile.SYMTYPE:
                info.create_system = 3  # Unix, so the mode bits below mean "symlink"
                info.external_attr = (0o120777 << 16) | 0x20
                archive.writestr(info, target)
            elif what == "file":
                archive.writestr(info, ESCAPE_TEXT)
