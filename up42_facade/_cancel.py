"""Stopping blocking work from another thread: how the async front door cancels a download.

A download runs on a worker thread and blocks in socket reads. ``Cancel.set()`` (called on
the event loop's thread when the awaiting task is cancelled) runs the hooks the work
registered, which close its connections so a blocked read returns at once; the work then
meets ``check()`` and stops with ``Cancelled``, cleaning up as for any other failure.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

__all__ = ["NEVER", "Cancel", "Cancelled"]


class Cancelled(Exception):  # noqa: N818 - a signal to a worker thread, never shown
    """The work was cancelled by whoever awaited it."""


class Cancel:
    """Set once, from any thread, to stop the work that checks it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._set = False
        self._hooks: list[Callable[[], object]] = []

    def set(self) -> None:
        """Cancel: run every registered hook (once) and make ``check`` raise from now on."""
        with self._lock:
            self._set = True
            hooks, self._hooks = self._hooks, []
        for hook in hooks:
            with contextlib.suppress(OSError):
                hook()

    @property
    def is_set(self) -> bool:
        """Whether the work was cancelled."""
        return self._set

    def check(self) -> None:
        """Raise ``Cancelled`` if the work was cancelled."""
        if self._set:
            raise Cancelled

    @contextlib.contextmanager
    def hook(self, function: Callable[[], object]) -> Iterator[None]:
        """Call ``function`` if the work is cancelled while the block runs (at once if it
        already was)."""
        with self._lock:
            registered = not self._set
            if registered:
                self._hooks.append(function)
        if not registered:
            function()
        try:
            yield
        finally:
            with self._lock, contextlib.suppress(ValueError):
                self._hooks.remove(function)


NEVER = Cancel()
"""A ``Cancel`` nobody sets (the sync front door's)."""
