"""The WAN benchmark rows run end to end on a tiny archive (rows checked, timings not)."""

from __future__ import annotations

import math
import shutil
from typing import Any

import pytest

from benchmarks import bench_wan
from benchmarks.__main__ import _goal

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("curl") is None or shutil.which("tar") is None,
        reason="the WAN benchmark compares against curl and tar",
    ),
]

LINK = "storage at 2 MiB/s per connection, 40 ms away"


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    # 2 MiB/s: the 1 MiB download lasts long enough to be killed half way; no apt-get here.
    return bench_wan.run(size_mb=1, runs=1, bandwidth=2 * 2**20, install=False)


def test_a_row_per_baseline_and_one_for_resume_each_with_its_goal(
    rows: list[dict[str, Any]],
) -> None:
    assert [row["what"] for row in rows[:3]] == [
        f"download of a 1 MiB archive, {LINK}",
        f"download of a 1 MiB archive, {LINK}",
        f"download and unpack of a 1 MiB archive, {LINK}",
    ]
    assert str(rows[3]["what"]).startswith("resume of a 1 MiB archive download killed at ")
    assert str(rows[3]["what"]).endswith(f"%, {LINK}")
    assert [row["baseline"] for row in (rows[0], rows[2])] == ["curl -o FILE", "curl | tar xz"]
    assert str(rows[1]["baseline"]).startswith("aria2c -x8 -s8")
    assert (
        [_goal(row)[0] for row in rows]
        == [row["goal"] for row in rows]
        == [
            "time ratio <= 0.25, RSS < 200 MB",
            "time ratio <= 1.0, RSS < 200 MB",
            "time ratio <= 0.33, RSS < 200 MB",
            "bytes fetched again <= 0.60 of the object, RSS < 200 MB",
        ]
    )


def test_each_time_row_measured_real_processes_or_says_why_it_could_not(
    rows: list[dict[str, Any]],
) -> None:
    for row in rows[:3]:
        assert row["ours_s"] > 0
        # A real Python process was measured, and a small one: not the benchmark's own RSS.
        assert 10 < row["ours_rss_mb"] < 200
        if math.isnan(row["baseline_s"]):
            assert row["baseline"] == "aria2c -x8 -s8 (not installed)"
            assert _goal(row)[1] is None
            continue
        assert row["ratio"] == pytest.approx(row["ours_s"] / row["baseline_s"])
        assert row["baseline_rss_mb"] > 0
    # Rows 1 and 2 compare the same runs of ours against two baselines.
    assert rows[0]["ours_runs_s"] == rows[1]["ours_runs_s"]


def test_the_resume_row_counts_the_bytes_the_second_run_fetched(
    rows: list[dict[str, Any]],
) -> None:
    resume = rows[3]
    size = resume["object_bytes"]
    assert 0.5 <= resume["killed_at"] < 1.0
    assert 0 < resume["refetched_bytes"] <= size
    assert resume["ratio"] == pytest.approx(resume["refetched_bytes"] / size)
    assert resume["ours_s"] > 0 and 10 < resume["ours_rss_mb"] < 200
    assert resume["baseline_s"] == rows[0]["ours_s"]
