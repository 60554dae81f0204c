"""`make demo`'s script runs the main job end to end on the sandbox and writes what it says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_runs_the_main_job_and_writes_its_outputs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UP42_")}
    command = [sys.executable, str(ROOT / "demo" / "main_job.py"), "--speed", "20"]
    finished = subprocess.run(
        [*command, "--output", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stdout + finished.stderr
    out = finished.stdout
    for step in ("SUCCEEDED", "files unpacked", "result footprints", "credits used", "done in"):
        assert step in out, step
    assert (tmp_path / "results" / "data.json").is_file()
    for picture in ("quicklooks.png", "coverage.png"):
        with Image.open(tmp_path / picture) as image:
            assert image.size[0] > 300 and image.size[1] > 300
            low, high = image.convert("L").getextrema()
            assert high - low > 50  # drawn, not blank
    html = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert "FeatureCollection" in html or "Polygon" in html
    assert "Traceback" not in finished.stderr
