"""Where results go: the classic SDK's folders, and names from the server made safe."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ._archive_rules import RESERVED_PREFIX

__all__ = ["FALLBACK_NAME", "default_directory", "safe_filename"]

#: The archive's name when neither Content-Disposition nor the URL path gives one.
FALLBACK_NAME = "output.tgz"


def default_directory(project_id: str, job_id: str, *parts: str) -> Path:
    """The classic SDK's download folder: ``project_<id>/job_<id>[/...]`` under the cwd."""
    return Path.cwd().joinpath(f"project_{project_id}", f"job_{job_id}", *parts)


def safe_filename(name: str | None) -> str | None:
    """The last component of a server-given name, or None if nothing usable is left."""
    if not name:
        return None
    last = PurePosixPath(name.replace("\\", "/")).name.strip()
    last = "".join(ch for ch in last if ch.isprintable())
    if last in ("", ".", "..") or last.startswith(RESERVED_PREFIX):
        return None
    return last
