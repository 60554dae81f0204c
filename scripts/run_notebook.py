"""Run a notebook top to bottom in a fresh kernel and keep the run, for the tests and the docs.

    python scripts/run_notebook.py examples/quickstart.ipynb build/notebooks/quickstart.ipynb

The kernel is this interpreter's (ipykernel); its working directory is a temporary folder, so
the files a notebook writes go nowhere near the repository. ``UP42_*`` variables are dropped
unless ``--keep-credentials`` is given: `make test` runs the notebook against its sandbox, not
against whatever API a developer's shell points at. A cell that raises fails the run (exit 1)
and names the cell; the executed notebook is written only when every cell ran.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

# Seconds one cell may take: a sandbox job ends in about 2 s, plots and the map in a few.
CELL_TIMEOUT = 120


def run(source: Path, target: Path, *, keep_credentials: bool = False) -> float:
    """Execute ``source`` and write the executed notebook to ``target``; return the seconds.

    Raises:
        nbclient.exceptions.CellExecutionError: A cell raised.
    """
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    notebook = nbformat.read(source, as_version=4)
    if not keep_credentials:
        for name in [name for name in os.environ if name.startswith("UP42_")]:
            del os.environ[name]
    # Matplotlib's inline backend in the kernel; no configuration of the developer's applies.
    os.environ.pop("MPLBACKEND", None)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="notebook-") as workdir:
        # The kernel talks over Unix sockets in the temporary folder, not over TCP ports.
        kernel = KernelManager(
            kernel_name="python3", transport="ipc", ip=str(Path(workdir, "kernel"))
        )
        client = NotebookClient(
            notebook,
            km=kernel,
            timeout=CELL_TIMEOUT,
            kernel_name="python3",
            resources={"metadata": {"path": workdir}},
        )
        try:
            client.execute()
        finally:
            # nbclient shuts down only the kernels it made itself.
            if kernel.has_kernel:
                kernel.shutdown_kernel()
    elapsed = time.monotonic() - started
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    nbformat.write(notebook, partial)
    partial.replace(target)
    return elapsed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the notebook to run")
    parser.add_argument("target", type=Path, help="where to write the executed notebook")
    parser.add_argument(
        "--keep-credentials", action="store_true", help="keep UP42_* (run against that API)"
    )
    options = parser.parse_args(argv)
    from nbclient.exceptions import CellExecutionError

    try:
        elapsed = run(options.source, options.target, keep_credentials=options.keep_credentials)
    except CellExecutionError as exc:
        print(f"{options.source}: a cell failed\n{exc}", file=sys.stderr)
        return 1
    print(f"ran {options.source} in {elapsed:.1f} s; wrote {options.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
