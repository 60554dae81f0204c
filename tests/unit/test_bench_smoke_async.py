"""The async benchmark rows run end to end with tiny sizes (rows checked, timings not)."""

from __future__ import annotations

import pytest

from benchmarks import bench_async
from benchmarks.__main__ import _goal

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rows() -> list[dict[str, object]]:
    return bench_async.run(tasks=3, latency=0.001, info_calls=5, runs=1)


def test_the_async_benchmarks_produce_a_row_per_comparison(rows: list[dict[str, object]]) -> None:
    assert [row["what"] for row in rows] == [
        "async get_logs of 3 tasks, 1 ms each",
        "5 await job.info() with 50 in flight",
    ]
    assert [row["baseline"] for row in rows] == [
        "sync Job.get_logs (this facade)",
        "raw httpx.AsyncClient, 50 in flight",
    ]


def test_each_async_row_carries_the_keys_of_the_api_rows(rows: list[dict[str, object]]) -> None:
    keys = {"what", "baseline", "baseline_s", "ours_s", "ratio", "goal"}
    for row in rows:
        assert keys | {"baseline_rss_mb", "ours_rss_mb"} <= set(row)
        assert float(row["baseline_s"]) > 0 and float(row["ours_s"]) > 0
        assert row["ratio"] == pytest.approx(row["ours_s"] / row["baseline_s"])
        # Real Python processes were measured, each side in its own, not this one.
        assert 10 < float(row["baseline_rss_mb"]) < 1000
        assert 10 < float(row["ours_rss_mb"]) < 1000
        assert len(row["baseline_runs_s"]) == len(row["ours_runs_s"]) == 1


def test_the_harness_judges_the_async_rows_by_their_own_goals(
    rows: list[dict[str, object]],
) -> None:
    # "async get_logs" also holds "get_logs", whose goal is a 10x speed-up over sequential calls.
    texts = [_goal(row)[0] for row in rows]
    assert texts == ["time ratio <= 1.0 (sync get_logs)", "time ratio <= 1.3"]
    assert all(_goal(row)[1] in {True, False} for row in rows)
