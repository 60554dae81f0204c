"""The pieces a sliced, resumable download stands on: the slice plan, the part file that takes
bytes out of order and publishes its contiguous prefix, and the journal a resume reads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from up42_facade._errors import DownloadError
from up42_facade._integrity import RemoteObject
from up42_facade._journal import Journal
from up42_facade._partfile import PartFile
from up42_facade._slices import MAX_SLICE, MIN_SLICE, plan_slices

MiB = 1 << 20


@pytest.mark.parametrize(
    ("missing", "connections"),
    [
        ([(0, 256 * MiB)], 8),
        ([(0, 20 * MiB + 7)], 8),
        ([(0, 10 << 30)], 8),
        ([(3, 5), (MiB, 9 * MiB), (30 * MiB, 31 * MiB + 1)], 4),
        ([(0, 1)], 1),
    ],
)
def test_slices_cover_what_is_missing_once_in_order_within_their_bounds(
    missing: list[tuple[int, int]], connections: int
) -> None:
    slices = plan_slices(missing, connections)

    assert slices == sorted(slices)
    for first, last in missing:  # every missing byte in exactly one slice
        inside = [(a, b) for a, b in slices if first <= a < last]
        assert inside[0][0] == first and inside[-1][1] == last
        assert all(inside[i][1] == inside[i + 1][0] for i in range(len(inside) - 1))
    assert sum(b - a for a, b in slices) == sum(b - a for a, b in missing)
    assert all(b - a <= MAX_SLICE for a, b in slices)


def test_a_large_object_gets_about_one_slice_per_connection() -> None:
    assert len(plan_slices([(0, 256 * MiB)], 8)) == 8
    assert len(plan_slices([(0, 10 << 30)], 8)) == (10 << 30) // MAX_SLICE
    assert plan_slices([(0, 6 * MiB)], 8) == [(0, MIN_SLICE), (MIN_SLICE, 6 * MiB)]


def test_bytes_out_of_order_publish_only_the_contiguous_prefix(tmp_path: Path) -> None:
    with PartFile(tmp_path) as part:
        part.write_at(4, memoryview(b"efgh"))
        assert (part.size, part.bytes_on_disk) == (0, 4)
        assert part.missing(12) == [(0, 4), (8, 12)]
        part.write_at(0, memoryview(b"abcd"))
        assert (part.size, part.spans) == (8, [(0, 8)])
        part.write_at(8, memoryview(b"ijkl"))
        assert part.missing(12) == []
        assert part.path.read_bytes() == b"abcdefghijkl"


def test_a_follower_reads_the_prefix_and_waits_for_the_gap(tmp_path: Path) -> None:
    with PartFile(tmp_path) as part:
        part.write_at(0, memoryview(b"0123"))
        part.write_at(8, memoryview(b"89"))
        read: list[bytes] = []
        with part.follow(end=10) as reader:
            read.append(reader.read())
            filler = threading.Timer(0.05, part.write_at, (4, memoryview(b"4567")))
            filler.start()
            read.append(reader.read())  # waits until the gap is filled
            read.append(reader.read())
            filler.join()
        assert read == [b"0123", b"456789", b""]


def test_a_named_part_file_is_locked_against_a_second_download(tmp_path: Path) -> None:
    with PartFile(path=tmp_path / ".up42-download.part") as first:
        first.write_at(0, memoryview(b"abc"))
        with pytest.raises(DownloadError, match="another download into"):
            PartFile(path=first.path)
        first.keep()
    again = PartFile(path=tmp_path / ".up42-download.part")  # the lock went with the first
    again.adopt([(0, 3), (2, 99)])  # a range past the file's end is not on disk
    assert again.spans == [(0, 3)]
    again.discard()
    assert not again.path.exists()


def test_the_journal_gives_back_what_was_saved_for_its_object_only(tmp_path: Path) -> None:
    part = tmp_path / ".up42-download.part"
    known = RemoteObject(size=99, md5=b"\x01" * 16, crc32c=7, validator='"abc"', filename="x.tgz")
    journal = Journal(part, "http://storage/bucket/x.tgz")
    journal.save(known, [(0, 10), (20, 30)])

    assert journal.load() == (known, [(0, 10), (20, 30)])
    assert Journal(part, "http://storage/bucket/other.tgz").load() is None
    journal.path.write_text("{not json")
    assert journal.load() is None
    (tmp_path / "..up42-download.part.json.0123.part").write_text("half written")
    journal.remove()
    assert list(tmp_path.iterdir()) == []


def test_no_journal_is_kept_for_an_object_without_an_etag(tmp_path: Path) -> None:
    journal = Journal(tmp_path / ".up42-download.part", "http://storage/x")
    journal.save(RemoteObject(size=10), [(0, 5)])
    assert not journal.path.exists()
