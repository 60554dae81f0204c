"""The ``sandbox`` extra: whether the server's packages are installed, and what to say if not.

Imports nothing of the server itself, so the package and its command can check first.
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["main", "missing_server_modules", "require_server"]

#: What the sandbox's web server needs beyond the client: the ``sandbox`` extra.
SERVER_MODULES = ("starlette", "uvicorn", "PIL")
INSTALL_HINT = "pip install 'up42-facade[sandbox]'"


def missing_server_modules() -> list[str]:
    """The server's modules that are not installed."""
    return [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]


def _message(missing: list[str]) -> str:
    return (
        f"the UP42 sandbox needs {', '.join(missing)}, which come with the sandbox extra: "
        f"{INSTALL_HINT}"
    )


def require_server() -> None:
    """Raise a ``ModuleNotFoundError`` naming the extra when a server module is missing."""
    missing = missing_server_modules()
    if missing:
        raise ModuleNotFoundError(_message(missing), name=missing[0])


def main() -> int:
    """``up42-sandbox``: without the extra, one line saying what to install (exit 2)."""
    missing = missing_server_modules()
    if missing:
        print(f"up42-sandbox: {_message(missing)}", file=sys.stderr)
        return 2
    from ._cli import main as run

    return run()
