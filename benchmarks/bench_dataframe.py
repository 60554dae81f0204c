"""GeoDataFrame benchmark: ``get_results_json(as_dataframe=True)``, classic against ours.

Run ``python benchmarks/bench_dataframe.py --features 50000 --runs 3`` (or ``python -m
benchmarks.bench_dataframe``) for the row; ``run()`` gives it to ``python -m benchmarks``.

A FeatureCollection shaped like the API's data-json (polygon footprints of 5 to 40 vertices,
the nested ``acquisition``/``identification``/... properties of the API example) is written
to a file once. Each run starts one process per side, baseline and ours alternating: the
child imports everything and reads the bytes untimed, then times the conversion alone,
``GeoDataFrame.from_features(json.loads(raw), crs="EPSG:4326")`` (what the classic SDK did)
or ``feature_collection_to_geodataframe(raw)``. The row holds the median times, the speed-up
(``ratio`` = baseline / ours) and each side's peak RSS.

Peak RSS is the child's own high-water mark (``VmHWM`` in ``/proc/self/status``). Linux's
``ru_maxrss`` of a child, from ``getrusage`` or ``wait4``, starts at the RSS of the process it
was forked from, so it would report the benchmark's own size (or pytest's) for both sides;
it is used only where ``/proc`` does not exist. The children also digest their frames, and
the run fails if the two sides' frames differ.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["make_collection", "run"]

ROOT = Path(__file__).resolve().parent.parent
#: The issue's figure: 50,000 footprints.
DEFAULT_FEATURES = 50_000
#: The issue's goal, checked by ``python -m benchmarks``.
GOAL = "speed-up >= 4x"
#: Seeded, so every run and every machine converts the same document.
SEED = 42
#: Vertices per footprint ring, closing one included: the API example's rectangle has 5,
#: scene footprints of irregular outline a few dozen.
DEFAULT_VERTICES = (5, 40)
SIDES = ("baseline", "ours")


def make_collection(
    features: int, seed: int = SEED, vertices: tuple[int, int] = DEFAULT_VERTICES
) -> bytes:
    """A data-json body of ``features`` polygon footprints, serialised as the API does.

    Args:
        features: How many features.
        seed: Seed of the random shapes and values.
        vertices: Fewest and most vertices per ring, the closing vertex included.

    Returns:
        The FeatureCollection as UTF-8 JSON bytes.
    """
    rng = random.Random(seed)
    collection = []
    for index in range(features):
        x, y = rng.uniform(-170, 170), rng.uniform(-80, 80)
        sides = rng.randint(vertices[0] - 1, vertices[1] - 1)
        ring = []
        for step in range(sides):
            angle = 2 * math.pi * step / sides
            radius = rng.uniform(0.05, 0.2)
            ring.append(
                [round(x + radius * math.cos(angle), 6), round(y + radius * math.sin(angle), 6)]
            )
        ring.append(ring[0])
        uid = f"{rng.getrandbits(128):032x}"
        uid = f"{uid[:8]}-{uid[8:12]}-{uid[12:16]}-{uid[16:20]}-{uid[20:]}"
        stamp = 1576836871024 + index * 1000
        collection.append(
            {
                "type": "Feature",
                "bbox": [
                    min(p[0] for p in ring),
                    min(p[1] for p in ring),
                    max(p[0] for p in ring),
                    max(p[1] for p in ring),
                ],
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {
                    "uid": uid,
                    "timeStamp": stamp,
                    "acquisition": {
                        "mission": "Sentinel-2",
                        "missionCode": "S2A",
                        "sensorId": "MSI",
                        "beginViewingDate": stamp,
                    },
                    "identification": {
                        "externalId": f"S2A_MSIL1C_20191220T101431_N0208_R022_T33UUU_{index:08d}",
                        "collection": "Sentinel-2",
                        "tileId": "33UUU",
                        "type": "S2MSI1C",
                    },
                    "contentDescription": {"cloudCoverPercentage": round(rng.uniform(0, 100), 4)},
                    "orbit": {
                        "relativeNumber": rng.randint(1, 143),
                        "direction": rng.choice(["ASCENDING", "DESCENDING"]),
                    },
                    "up42.data_path": f"{uid}/{uid}_0-0.tif",
                },
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": collection}).encode()


def _peak_rss_mb() -> float:
    """This process's own peak resident memory in MB (see the module docstring)."""
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024  # bytes on macOS


def _digest(frame: Any) -> str:
    """A fingerprint of a frame: columns, dtypes, properties and geometry bytes."""
    import shapely

    digest = hashlib.sha256()
    digest.update(repr([(name, str(dtype)) for name, dtype in frame.dtypes.items()]).encode())
    digest.update(str(frame.crs).encode())
    digest.update(frame.drop(columns="geometry").to_json(orient="split").encode())
    for wkb in shapely.to_wkb(frame.geometry.array, flavor="iso").tolist():
        digest.update(b"-" if wkb is None else wkb)
    return digest.hexdigest()


def _child(side: str, path: str) -> None:
    """One measured conversion in this process; prints a JSON report as the last line."""
    import gc

    import geopandas
    import numpy  # noqa: F401 - imported before timing, on both sides
    import pandas  # noqa: F401
    import shapely  # noqa: F401

    from up42_facade._results import feature_collection_to_geodataframe

    raw = Path(path).read_bytes()
    gc.collect()
    start = time.perf_counter()
    if side == "baseline":
        frame = geopandas.GeoDataFrame.from_features(json.loads(raw), crs="EPSG:4326")
    else:
        frame = feature_collection_to_geodataframe(raw)
    seconds = time.perf_counter() - start
    report = {"seconds": seconds, "rss_mb": _peak_rss_mb(), "digest": _digest(frame)}
    print(json.dumps(report), flush=True)


def _measure_once(side: str, path: Path) -> dict[str, Any]:
    """Run one child and return its report."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "benchmarks.bench_dataframe", "--child", side, str(path)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the {side} client failed:\n{done.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def run(
    features: int = DEFAULT_FEATURES,
    runs: int = 3,
    vertices: tuple[int, int] = DEFAULT_VERTICES,
) -> list[dict[str, Any]]:
    """Measure both sides on one generated collection; return the table row.

    Args:
        features: Footprints in the collection.
        runs: Processes per side; the row holds the median time and the highest peak RSS.
        vertices: Fewest and most vertices per ring (``make_collection``).

    Returns:
        One row with ``what, baseline_s, ours_s, ratio, baseline_rss_mb, ours_rss_mb``;
        ``ratio`` is the speed-up, baseline time over ours.

    Raises:
        RuntimeError: A child failed, or the two sides built different frames.
    """
    reports: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "data.json"
        path.write_bytes(make_collection(features, vertices=vertices))
        for _ in range(runs):
            for side in SIDES:
                reports[side].append(_measure_once(side, path))
        size_mb = path.stat().st_size / (1 << 20)
    digests = {report["digest"] for side in SIDES for report in reports[side]}
    if len(digests) != 1:
        raise RuntimeError("the classic and the fast conversion built different frames")
    seconds = {side: statistics.median(r["seconds"] for r in reports[side]) for side in SIDES}
    return [
        {
            "what": (
                f"GeoDataFrame of {features:,} features, {vertices[0]}-{vertices[1]} vertices"
                f" ({size_mb:.3g} MB of data-json)"
            ),
            "baseline": "from_features(json.loads())",
            "baseline_s": seconds["baseline"],
            "ours_s": seconds["ours"],
            "ratio": seconds["baseline"] / seconds["ours"],
            "ratio_kind": "speed-up",
            "goal": GOAL,
            "baseline_rss_mb": max(r["rss_mb"] for r in reports["baseline"]),
            "ours_rss_mb": max(r["rss_mb"] for r in reports["ours"]),
            "baseline_runs_s": [r["seconds"] for r in reports["baseline"]],
            "ours_runs_s": [r["seconds"] for r in reports["ours"]],
        }
    ]


def _print_table(rows: list[dict[str, Any]]) -> None:
    width = max(len("what"), *(len(row["what"]) for row in rows))
    header = (
        f"{'what':<{width}} {'baseline s':>10} {'ours s':>8} {'speed-up':>9}"
        f" {'RSS MB base/ours':>17}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        rss = f"{row['baseline_rss_mb']:.0f} / {row['ours_rss_mb']:.0f}"
        print(
            f"{row['what']:<{width}} {row['baseline_s']:>10.3f} {row['ours_s']:>8.3f} "
            f"{row['ratio']:>8.2f}x {rss:>17}"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--features", type=int, default=DEFAULT_FEATURES)
    parser.add_argument("--runs", type=int, default=3, help="processes per side (median taken)")
    parser.add_argument(
        "--vertices",
        type=int,
        nargs=2,
        default=DEFAULT_VERTICES,
        metavar=("MIN", "MAX"),
        help="vertices per ring, closing vertex included (default: 5 40)",
    )
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "PATH"), help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.child:
        _child(*options.child)
        return 0
    _print_table(
        run(features=options.features, runs=options.runs, vertices=tuple(options.vertices))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
