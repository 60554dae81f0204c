"""MkDocs hooks of the documentation site: the pages that build steps make.

- ``notebooks/quickstart.ipynb``: examples/quickstart.ipynb as ``make notebook`` ran it
  (build/notebooks/), rendered by mkdocs-jupyter with its outputs;
- ``reference/api.html``: the Redocly reference of the HTTP API (``make docs-spec``),
  which reference/http-api.md embeds.

A missing one fails the build and names the make target that makes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
# site path -> (built file, the make target that builds it)
GENERATED = {
    "notebooks/quickstart.ipynb": (BUILD / "notebooks" / "quickstart.ipynb", "notebook"),
    "reference/api.html": (BUILD / "api.html", "docs-spec"),
}


# Before mkdocs-jupyter's on_files, which turns the notebooks it finds into pages.
@event_priority(100)
def on_files(files: Files, config: Any) -> Files:
    for site_path, (built, target) in GENERATED.items():
        if not built.is_file():
            raise PluginError(f"{built.relative_to(ROOT)} is missing: run `make {target}` first")
        if site_path.endswith(".ipynb"):
            # A plain file under build/: mkdocs-jupyter's wrapper finds a virtual file's
            # source path only through src_dir.
            assert built == BUILD / site_path
            files.append(
                File(site_path, str(BUILD), config["site_dir"], config["use_directory_urls"])
            )
        else:
            files.append(File.generated(config, site_path, abs_src_path=str(built)))
    return files
