"""Where unpacking stages an archive: one folder, emptied when the archive starts over, and
nothing of it (nor of the entries a second download replaced) stays behind."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from up42_facade import _unpack
from up42_facade._unpack import unpack_archive

FILES = {
    "output/data.json": b"{}",
    "output/a1/a1_0-0.tif": b"tif-a1",
    "output/b2/b2_0-0.tif": b"tif-b2",
}


def make_tgz(
    path: Path, files: dict[str, bytes], folders: tuple[str, ...] = ("output/a1", "output/b2")
) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for folder in ("output", *folders):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def test_unpacking_again_leaves_no_staging_or_trash_folder_behind(tmp_path: Path) -> None:
    target = tmp_path / "job"
    unpack_archive(make_tgz(tmp_path / "one.tgz", FILES), target)
    unpack_archive(make_tgz(tmp_path / "two.tgz", {"output/data.json": b"[]"}), target)

    assert sorted(entry.name for entry in target.iterdir()) == ["a1", "b2", "data.json"]
    assert (target / "data.json").read_bytes() == b"[]"


def test_a_restarted_archive_empties_the_staging_folder_and_keeps_it(tmp_path: Path) -> None:
    with _unpack.Staging(tmp_path / "job") as staging:
        with make_tgz(tmp_path / "one.tgz", FILES).open("rb") as source:
            staging.extract_tar(source)
        staging.clear()
        assert staging.path.is_dir() and list(staging.path.iterdir()) == []
        second = make_tgz(tmp_path / "two.tgz", {"output/data.json": b"[]"}, folders=())
        with second.open("rb") as source:
            staging.extract_tar(source)
        files = staging.commit()
    assert files == [tmp_path / "job" / "data.json"]
    assert sorted(entry.name for entry in (tmp_path / "job").iterdir()) == ["data.json"]


def test_the_entries_a_second_unpack_replaces_wait_where_a_killed_runs_staging_is_swept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "job"
    unpack_archive(make_tgz(tmp_path / "one.tgz", FILES), target)
    moves: list[tuple[Path, Path]] = []
    real_rename = Path.rename

    def rename(self: Path, destination: Path) -> Path:
        moves.append((self, Path(destination)))
        return real_rename(self, destination)

    monkeypatch.setattr(Path, "rename", rename)
    unpack_archive(make_tgz(tmp_path / "two.tgz", {"output/data.json": b"[]"}, folders=()), target)

    (aside,) = [to for source, to in moves if source == target / "data.json"]
    assert aside.parent.parent == target
    assert aside.parent.name.startswith(".up42-unpack-")  # what the next download sweeps
    assert not aside.parent.exists()
