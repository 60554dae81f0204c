"""Safe unpacking: the right files, or nothing at all (hand-built archives, no server)."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

import pytest

from up42_facade._errors import DownloadError, UnsafeArchiveError
from up42_facade._unpack import member_path, unpack_archive

Member = tuple[str, bytes | None]  # (name, data); None data: a folder
Maker = Callable[[Path, Iterable[Member]], Path]


def make_tgz(
    path: Path, members: Iterable[Member], *, extra: Iterable[tarfile.TarInfo] = ()
) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.mtime = 1_600_000_000
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return path


def make_zip(path: Path, members: Iterable[Member]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            if data is None:
                archive.writestr(name.rstrip("/") + "/", b"")
            else:
                archive.writestr(name, data)
    return path


def special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, 0o644
    return info


def tree(folder: Path) -> dict[str, bytes]:
    """Every regular file under ``folder`` (hidden ones too) with its bytes."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


RESULTS: list[Member] = [
    ("output", None),
    ("output/data.json", b'{"type": "FeatureCollection"}'),
    ("output/a1", None),
    ("output/a1/a1_0-0.tif", b"tif-a1" * 1000),
    ("output/b2/b2_0-0.tif", b"tif-b2"),
]
EXPECTED = {
    "data.json": b'{"type": "FeatureCollection"}',
    "a1/a1_0-0.tif": b"tif-a1" * 1000,
    "b2/b2_0-0.tif": b"tif-b2",
}


# -- what lands where --------------------------------------------------------------------------


def test_a_tgz_unpacks_without_its_leading_output_folder(tmp_path: Path) -> None:
    archive = make_tgz(tmp_path / "output.tgz", RESULTS)
    files = unpack_archive(archive, tmp_path / "job")
    assert [p.relative_to(tmp_path / "job").as_posix() for p in files] == list(EXPECTED)
    assert tree(tmp_path / "job") == EXPECTED


def test_a_zip_unpacks_the_same_way(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "output.zip", RESULTS)
    files = unpack_archive(archive, tmp_path / "job")
    assert sorted(p.relative_to(tmp_path / "job").as_posix() for p in files) == sorted(EXPECTED)
    assert tree(tmp_path / "job") == EXPECTED


@pytest.mark.parametrize("maker", [make_tgz, make_zip], ids=["tgz", "zip"])
def test_archives_without_an_output_folder_unpack_as_they_are(tmp_path: Path, maker: Maker) -> None:
    members = [(name.removeprefix("output/"), data) for name, data in RESULTS[1:]]
    archive = maker(tmp_path / "archive", members)
    unpack_archive(archive, tmp_path / "job")
    assert tree(tmp_path / "job") == EXPECTED


def test_plain_and_dot_slash_tar_archives_unpack_too(tmp_path: Path) -> None:
    archive = tmp_path / "plain.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("./output/data.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    assert unpack_archive(archive, tmp_path / "job") == [tmp_path / "job" / "data.json"]


def test_unpacking_again_replaces_the_files_without_nesting_or_stale_entries(
    tmp_path: Path,
) -> None:
    target = tmp_path / "job"
    unpack_archive(make_tgz(tmp_path / "one.tgz", RESULTS), target)
    (target / "a1" / "left-over.txt").write_bytes(b"from an earlier download")
    second = [("output/data.json", b"new"), ("output/a1/a1_0-0.tif", b"new tif")]
    files = unpack_archive(make_tgz(tmp_path / "two.tgz", second), target)
    assert files == [target / "data.json", target / "a1" / "a1_0-0.tif"]
    # a1/ was replaced as a whole (no a1/a1, no left-over); b2/ was not in the archive.
    assert tree(target) == {
        "data.json": b"new",
        "a1/a1_0-0.tif": b"new tif",
        "b2/b2_0-0.tif": b"tif-b2",
    }


def test_a_move_that_fails_midway_puts_every_earlier_file_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "job"
    unpack_archive(make_tgz(tmp_path / "one.tgz", RESULTS), target)
    before = tree(target)
    second = [("output/a1/a1_0-0.tif", b"new"), ("output/b2/b2_0-0.tif", b"new"),
              ("output/data.json", b"new")]  # fmt: skip
    real_rename = Path.rename
    staged = tmp_path / "job" / ".up42-"

    def rename(self: Path, destination: Path) -> Path:
        # The last entry of the archive cannot move in (a file in use, say).
        moving_in = str(self).startswith(str(staged)) and "replaced" not in str(self)
        if moving_in and Path(destination) == target / "data.json":
            raise PermissionError(13, "in use", str(destination))
        return real_rename(self, destination)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(DownloadError, match="could not move"):
        unpack_archive(make_tgz(tmp_path / "two.tgz", second), target)
    monkeypatch.undo()
    assert tree(target) == before  # a1/ and b2/ were back in place before the staging went


def test_nothing_but_the_files_is_left_in_the_target(tmp_path: Path) -> None:
    unpack_archive(make_tgz(tmp_path / "output.tgz", RESULTS), tmp_path / "job")
    assert sorted(p.name for p in (tmp_path / "job").iterdir()) == ["a1", "b2", "data.json"]


def test_a_later_duplicate_member_wins_and_is_reported_once(tmp_path: Path) -> None:
    members: list[Member] = [("output/x.txt", b"first"), ("output/x.txt", b"second")]
    files = unpack_archive(make_tgz(tmp_path / "dup.tgz", members), tmp_path / "job")
    assert files == [tmp_path / "job" / "x.txt"]
    assert (tmp_path / "job" / "x.txt").read_bytes() == b"second"


def test_tar_modes_are_kept_within_the_data_filter_rules(tmp_path: Path) -> None:
    archive = tmp_path / "modes.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("output/run.sh")
        info.size, info.mode, info.mtime = 2, 0o4777, 1_600_000_000  # setuid, world-writable
        tar.addfile(info, io.BytesIO(b"#!"))
    (path,) = unpack_archive(archive, tmp_path / "job")
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode & 0o755 == 0o755
    assert not mode & (stat.S_ISUID | stat.S_IWOTH | stat.S_IWGRP)
    assert path.stat().st_mtime == 1_600_000_000


# -- hostile archives: refused, naming the member, nothing left -------------------------------


def assert_untouched(target: Path, before: dict[str, bytes] | None = None) -> None:
    assert tree(target) == (before or {})
    assert not [p for p in target.iterdir() if p.name.startswith(".up42-")]


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("output/../../escape.txt", "'..'"),
        ("output/a/../../escape.txt", "'..'"),
        ("../escape.txt", "'..'"),
        ("/tmp/escape.txt", "absolute"),
        ("C:/escape.txt", "absolute"),
        ("output\\..\\escape.txt", "'..'"),
        ("output/.up42-unpack-x/evil", "reserved"),
    ],
)
@pytest.mark.parametrize("maker", [make_tgz, make_zip], ids=["tgz", "zip"])
def test_members_escaping_the_target_are_refused(
    tmp_path: Path, maker: Maker, name: str, why: str
) -> None:
    target = tmp_path / "job"
    archive = maker(tmp_path / "hostile", [*RESULTS[1:], (name, b"escaped")])
    with pytest.raises(UnsafeArchiveError, match=why) as caught:
        unpack_archive(archive, target)
    assert caught.value.member == name
    assert_untouched(target)
    assert not (tmp_path / "escape.txt").exists()


@pytest.mark.parametrize(
    ("info", "what"),
    [
        (special("output/link", tarfile.SYMTYPE, "../../../../etc"), "symbolic link"),
        (special("output/inside-link", tarfile.SYMTYPE, "data.json"), "symbolic link"),
        (special("output/hard", tarfile.LNKTYPE, "/etc/passwd"), "hard link"),
        (special("output/hard-inside", tarfile.LNKTYPE, "output/data.json"), "hard link"),
        (special("output/tty", tarfile.CHRTYPE), "device file"),
        (special("output/disk", tarfile.BLKTYPE), "device file"),
        (special("output/pipe", tarfile.FIFOTYPE), "FIFO"),
    ],
    ids=["symlink-out", "symlink-in", "hardlink-out", "hardlink-in", "chr", "blk", "fifo"],
)
def test_tar_members_other_than_files_and_folders_are_refused(
    tmp_path: Path, info: tarfile.TarInfo, what: str
) -> None:
    target = tmp_path / "job"
    target.mkdir()
    (target / "mine.txt").write_bytes(b"the user's own file")
    archive = make_tgz(tmp_path / "hostile.tgz", RESULTS, extra=[info])
    with pytest.raises(UnsafeArchiveError, match=what) as caught:
        unpack_archive(archive, target)
    assert caught.value.member == info.name
    assert_untouched(target, {"mine.txt": b"the user's own file"})


def test_a_file_written_through_an_earlier_symlink_never_happens(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    link = special("output/escape", tarfile.SYMTYPE, str(outside))
    archive = tmp_path / "hostile.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.addfile(link)
        info = tarfile.TarInfo("output/escape/pwned.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"pwned"))
    with pytest.raises(UnsafeArchiveError):
        unpack_archive(archive, tmp_path / "job")
    assert list(outside.iterdir()) == []


def test_zip_symlinks_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "hostile.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("output/data.json", b"{}")
        info = zipfile.ZipInfo("output/link")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zipped.writestr(info, "../../../etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="symbolic link") as caught:
        unpack_archive(archive, tmp_path / "job")
    assert caught.value.member == "output/link"
    assert_untouched(tmp_path / "job")


def test_the_tarfile_data_filter_is_a_second_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(member: tarfile.TarInfo, dest_path: str) -> tarfile.TarInfo:
        raise tarfile.OutsideDestinationError(member, str(Path(dest_path, member.name)))

    monkeypatch.setattr(tarfile, "data_filter", refuse)
    with pytest.raises(UnsafeArchiveError, match="data filter") as caught:
        unpack_archive(make_tgz(tmp_path / "a.tgz", RESULTS), tmp_path / "job")
    assert caught.value.member == "output"
    assert_untouched(tmp_path / "job")


@pytest.mark.parametrize("maker", [make_tgz, make_zip], ids=["tgz", "zip"])
def test_too_many_members_stop_unpacking(tmp_path: Path, maker: Maker) -> None:
    members = [(f"output/f{i}.txt", b"x") for i in range(20)]
    with pytest.raises(UnsafeArchiveError, match="more than 10 members") as caught:
        unpack_archive(maker(tmp_path / "many", members), tmp_path / "job", max_members=10)
    assert caught.value.member == "output/f10.txt"
    assert_untouched(tmp_path / "job")


@pytest.mark.parametrize("maker", [make_tgz, make_zip], ids=["tgz", "zip"])
def test_a_decompression_bomb_stops_at_the_size_cap(tmp_path: Path, maker: Maker) -> None:
    # 8 MiB of zeros compress to a few KiB: the cap, not the archive size, must stop it.
    members = [("output/small.txt", b"x" * 100), ("output/bomb.bin", bytes(8 << 20))]
    archive = maker(tmp_path / "bomb", members)
    assert archive.stat().st_size < 64 * 1024
    with pytest.raises(UnsafeArchiveError, match="more than 1048576 bytes") as caught:
        unpack_archive(archive, tmp_path / "job", max_total_size=1 << 20)
    assert caught.value.member == "output/bomb.bin"
    assert_untouched(tmp_path / "job")


def test_a_zip_member_larger_than_it_declares_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "liar.zip", [("output/a.bin", b"a" * 1000)])
    data = bytearray(archive.read_bytes())
    # Lower the uncompressed size in the central directory (the entry that zipfile trusts).
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises((UnsafeArchiveError, DownloadError)):
        unpack_archive(archive, tmp_path / "job")
    assert_untouched(tmp_path / "job")


@pytest.mark.parametrize("maker", [make_tgz, make_zip], ids=["tgz", "zip"])
def test_a_truncated_archive_leaves_nothing_behind(tmp_path: Path, maker: Maker) -> None:
    members = [("output/data.json", b"{}"), ("output/big.bin", os.urandom(200_000))]
    archive = maker(tmp_path / "cut", members)
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(DownloadError, match=r"damaged|truncated"):
        unpack_archive(archive, tmp_path / "job")
    assert_untouched(tmp_path / "job")


def test_something_that_is_no_archive_is_a_download_error(tmp_path: Path) -> None:
    page = tmp_path / "output.tgz"
    page.write_bytes(b"<html><body>Access denied</body></html>")
    with pytest.raises(DownloadError, match="unpacking=False"):
        unpack_archive(page, tmp_path / "job")
    assert_untouched(tmp_path / "job")


def test_a_refused_archive_keeps_the_previous_download(tmp_path: Path) -> None:
    target = tmp_path / "job"
    unpack_archive(make_tgz(tmp_path / "good.tgz", RESULTS), target)
    bad = make_tgz(
        tmp_path / "bad.tgz",
        [("output/data.json", b"evil")],
        extra=[special("output/l", tarfile.SYMTYPE, "/")],
    )
    with pytest.raises(UnsafeArchiveError):
        unpack_archive(bad, target)
    assert_untouched(target, EXPECTED)


def test_a_file_where_the_archive_needs_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    members: list[Member] = [("output/a", b"file"), ("output/a/b.txt", b"nested")]
    with pytest.raises(DownloadError, match=r"output/a/b\.txt"):
        unpack_archive(make_tgz(tmp_path / "clash.tgz", members), tmp_path / "job")
    assert_untouched(tmp_path / "job")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("output/data.json", PurePosixPath("data.json")),
        ("output/", None),
        ("output", None),
        ("./output/a/b.tif", PurePosixPath("a/b.tif")),
        ("data.json", PurePosixPath("data.json")),
        ("a//b/./c", PurePosixPath("a/b/c")),
        ("outputs/x", PurePosixPath("outputs/x")),
        ("win\\style\\name.txt", PurePosixPath("win/style/name.txt")),
    ],
)
def test_member_names_map_to_paths_inside_the_target(
    name: str, expected: PurePosixPath | None
) -> None:
    assert member_path(name) == expected
