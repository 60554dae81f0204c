"""Results that open like the real ones: tgz/zip archives, data.json, GeoTIFFs, PNG quicklooks."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import httpx
import pytest
from PIL import Image

from up42_sandbox import Sandbox

from .helpers import job_path


def test_the_archive_holds_data_json_and_one_tiff_per_feature(sandbox: Sandbox) -> None:
    job_id = sandbox.create_job(start_status="SUCCEEDED", features=3)
    with tarfile.open(sandbox.archive_path(job_id)) as archive:
        names = archive.getnames()
        data = json.load(archive.extractfile("output/data.json"))  # type: ignore[arg-type]
        assert data["type"] == "FeatureCollection"
        assert len(data["features"]) == 3
        for feature in data["features"]:
            props = feature["properties"]
            assert feature["geometry"]["type"] == "Polygon"
            west, south, east, north = feature["bbox"]
            assert 13.0 < west < east < 13.8
            assert 52.3 < south < north < 52.7
            assert {"uid", "timeStamp", "acquisition", "identification"} <= set(props)
            assert "cloudCoverPercentage" in props["contentDescription"]
            uid = props["uid"]
            assert props["up42.data_path"] == f"{uid}/{uid}_0-0.tif"
            member = f"output/{props['up42.data_path']}"
            assert member in names
            image = Image.open(io.BytesIO(archive.extractfile(member).read()))  # type: ignore[union-attr]
            image.load()
            assert image.format == "TIFF"
            assert image.size == (64, 64)


def test_data_json_of_the_api_matches_the_archive(sandbox: Sandbox, api: httpx.Client) -> None:
    job_id = sandbox.create_job(start_status="SUCCEEDED")
    from_api = api.get(f"{job_path(sandbox, job_id)}/outputs/data-json/").json()
    with tarfile.open(sandbox.archive_path(job_id)) as archive:
        member = archive.extractfile("output/data.json")
        assert member is not None
        assert json.load(member) == from_api


def test_each_task_has_its_own_archive_and_quicklooks_that_open(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    job_id = sandbox.create_job(start_status="SUCCEEDED", tasks=2, features=2)
    path = job_path(sandbox, job_id)
    first, last = sandbox.task_ids(job_id)
    assert sandbox.archive_path(job_id) == sandbox.archive_path(job_id, last)
    assert sandbox.archive_path(job_id, first) != sandbox.archive_path(job_id, last)
    for task_id in (first, last):
        features = api.get(f"{path}/tasks/{task_id}/outputs/data-json/").json()["features"]
        names = api.get(f"{path}/tasks/{task_id}/outputs/quicklooks/").json()["data"]
        assert names == [f"{f['properties']['uid']}.png" for f in features]
        for name in names:
            png = api.get(f"{path}/tasks/{task_id}/outputs/quicklooks/{name}").content
            image = Image.open(io.BytesIO(png))
            image.load()
            assert image.format == "PNG"
    missing = api.get(f"{path}/tasks/{first}/outputs/quicklooks/nothing.png")
    assert missing.status_code == 404


def test_zip_archives_and_archives_without_output_folder(sandbox: Sandbox) -> None:
    zipped = sandbox.create_job(start_status="SUCCEEDED", archive="zip", features=1)
    with zipfile.ZipFile(sandbox.archive_path(zipped)) as archive:
        names = archive.namelist()
        assert "output/data.json" in names
        tif = next(name for name in names if name.endswith(".tif"))
        Image.open(io.BytesIO(archive.read(tif))).load()
    bare = sandbox.create_job(start_status="SUCCEEDED", archive_root="", features=1)
    with tarfile.open(sandbox.archive_path(bare)) as archive:
        assert "data.json" in archive.getnames()
        assert not any(name.startswith("output") for name in archive.getnames())


def test_padding_makes_a_big_incompressible_archive(sandbox: Sandbox) -> None:
    job_id = sandbox.create_job(start_status="SUCCEEDED", padding=4 << 20)
    assert sandbox.archive_path(job_id).stat().st_size > 4 << 20
    with tarfile.open(sandbox.archive_path(job_id)) as archive:
        assert archive.getmember("output/padding.bin").size == 4 << 20


@pytest.mark.parametrize(
    ("hostile", "member", "check"),
    [
        ("dotdot", "output/../../sandbox-escape-dotdot.txt", "isfile"),
        ("absolute", "/tmp/sandbox-escape-absolute.txt", "isfile"),
        ("symlink", "output/escape-symlink", "issym"),
        ("hardlink", "output/escape-hardlink", "islnk"),
    ],
)
def test_hostile_archives_hold_members_that_point_outside(
    sandbox: Sandbox, hostile: str, member: str, check: str
) -> None:
    job_id = sandbox.create_job(start_status="SUCCEEDED", hostile=hostile)
    with tarfile.open(sandbox.archive_path(job_id)) as archive:
        info = archive.getmember(member)
        assert getattr(info, check)()
        if check != "isfile":
            assert info.linkname.startswith(("/", "../"))
        assert "output/data.json" in archive.getnames()


def test_a_hostile_archive_is_refused_by_tarfiles_data_filter(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    job_id = sandbox.create_job(start_status="SUCCEEDED", hostile="all")
    with (
        tarfile.open(sandbox.archive_path(job_id)) as archive,
        pytest.raises(tarfile.FilterError),
    ):
        archive.extractall(tmp_path / "out", filter="data")


def test_a_truncated_archive_is_a_gzip_prefix_served_with_its_own_hashes(
    sandbox: Sandbox,
) -> None:
    job_id = sandbox.create_job(start_status="SUCCEEDED", hostile="truncated")
    path = sandbox.archive_path(job_id)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    with pytest.raises((EOFError, tarfile.ReadError)), tarfile.open(path) as archive:
        archive.getmembers()
    answer = httpx.get(sandbox.download_url(job_id))
    assert answer.status_code == 200
    assert answer.content == path.read_bytes()
    assert answer.headers["etag"] == sandbox.archive_info(job_id).etag
