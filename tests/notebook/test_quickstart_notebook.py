"""examples/quickstart.ipynb runs green against the sandbox, top to bottom, and shows what it
says: the job's HTML view, the progress bar in the cell, the GeoDataFrame, the plots, the map."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    target = tmp_path_factory.mktemp("notebook") / "quickstart.ipynb"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "run_notebook.py"), str(NOTEBOOK), str(target)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return nbformat.read(target, as_version=4)


def _outputs(notebook: Any) -> list[dict[str, Any]]:
    return [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]


def test_the_committed_notebook_holds_no_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert all(not cell.outputs and cell.execution_count is None for cell in code)


def test_every_cell_ran_without_an_error(executed: Any) -> None:
    code = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)
    assert not [o for o in _outputs(executed) if o["output_type"] == "error"]
    assert not [o for o in _outputs(executed) if o.get("name") == "stderr"]


def test_the_story_shows_in_the_outputs(executed: Any) -> None:
    plain = "\n".join(o.get("data", {}).get("text/plain", "") for o in _outputs(executed))
    html = "\n".join(o.get("data", {}).get("text/html", "") for o in _outputs(executed))
    streams = "".join(o.get("text", "") for o in _outputs(executed) if o["output_type"] == "stream")
    assert "'SUCCEEDED'" in plain
    assert "<strong>Job</strong> Quickstart job" in html  # the job's notebook view
    assert ">task</th>" in html  # with its tasks once fetched
    assert "results/data.json" in plain
    assert "geometry" in html  # the GeoDataFrame
    assert "folium" in html or "leaflet" in html.lower()  # the map
    assert "{'creditsUsed': 100}" in streams


def test_the_download_progress_bar_is_drawn_in_the_cell(executed: Any) -> None:
    bars = [
        o["data"]
        for o in _outputs(executed)
        if o["output_type"] == "display_data" and "<pre" in o["data"].get("text/html", "")
    ]
    assert any(bar["text/plain"].startswith("results") for bar in bars)
    assert any(bar["text/plain"].startswith("quicklooks") for bar in bars)


def test_the_plots_are_images(executed: Any) -> None:
    images = [o for o in _outputs(executed) if "image/png" in o.get("data", {})]
    assert len(images) == 3  # quicklooks, results, coverage
