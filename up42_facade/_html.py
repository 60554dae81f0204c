"""The notebook view of jobs, tasks and collections: compact HTML, drawn from what they hold.

Jupyter calls ``_repr_html_`` to show the last value of a cell. It must not send a request
(a notebook redraws outputs at will, and a view that blocks or fails on the network is
worse than a stale one), so these functions only lay out the info an object already has:
the job's info as last fetched, the tasks of its last ``get_jobtasks``. The plain
``__repr__`` stays the classic SDK's (scripts parse it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any

from ._collection_rules import Summary
from ._status import CANCELLED_STATUSES, FAILED_STATUSES, JobStatus

__all__ = ["MAX_ROWS", "collection_html", "duration", "job_html", "task_html"]

#: Jobs listed in a collection's view; more would make the notebook heavy to scroll and save.
MAX_ROWS = 50

# Colours readable on light and dark notebook themes (white text on a mid-tone badge).
_GREEN, _RED, _GREY, _BLUE = "#2e7d32", "#c62828", "#757575", "#1565c0"
_STYLE = "font-family: var(--jp-ui-font-family, sans-serif); font-size: 0.9em"
_CELL = "padding: 1px 8px; text-align: left"


def duration(started: object, finished: object) -> str:
    """How long between two ISO timestamps, e.g. ``"1 min 05 s"``; ``""`` when one is missing
    or unreadable."""
    if not isinstance(started, str) or not isinstance(finished, str):
        return ""
    try:
        elapsed = datetime.fromisoformat(finished) - datetime.fromisoformat(started)
    except (TypeError, ValueError):  # unreadable, or one naive and one aware
        return ""
    seconds = elapsed.total_seconds()
    if seconds < 0:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _badge(status: object) -> str:
    text = "unknown" if status is None else str(status)
    parsed = JobStatus.parse(text)
    if parsed == JobStatus.SUCCEEDED:
        colour = _GREEN
    elif parsed in FAILED_STATUSES:
        colour = _RED
    elif parsed in CANCELLED_STATUSES:
        colour = _GREY
    else:
        colour = _BLUE
    return (
        f'<span style="background: {colour}; color: white; border-radius: 3px; '
        f'padding: 0 5px; font-size: 0.85em">{escape(text)}</span>'
    )


def _text(value: object) -> str:
    return "" if value is None else escape(str(value))


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table of cells that are already HTML."""
    head = "".join(f'<th style="{_CELL}">{escape(header)}</th>' for header in headers)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{cell}</td>' for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fields(pairs: Sequence[tuple[str, str]]) -> str:
    """Name and value, one line each (values are already HTML)."""
    rows = "".join(
        f'<tr><th style="{_CELL}">{escape(name)}</th><td style="{_CELL}">{value}</td></tr>'
        for name, value in pairs
    )
    return f"<table>{rows}</table>"


def _task_rows(tasks: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    rows = []
    for task in tasks:
        block = task.get("block") or {}
        rows.append(
            [
                _text(task.get("name")),
                _text(block.get("name") if isinstance(block, Mapping) else None),
                _text(task.get("blockVersion")),
                _badge(task.get("status")),
                _text(task.get("startedAt")),
                escape(duration(task.get("startedAt"), task.get("finishedAt"))),
            ]
        )
    return rows


def job_html(
    info: Mapping[str, Any],
    job_id: str,
    tasks: Sequence[Mapping[str, Any]] | None,
    kind: str = "Job",
) -> str:
    """A job's status, timings and tasks, as last fetched.

    Args:
        info: The job's info dict (as the API last sent it).
        job_id: The job's id.
        tasks: The tasks' dicts of the last ``get_jobtasks``, or None when never fetched.
        kind: The class named in the heading.
    """
    heading = (
        f"<strong>{escape(kind)}</strong> {_text(info.get('name'))} {_badge(info.get('status'))}"
    )
    fields = _fields(
        [
            ("job_id", f"<code>{escape(job_id)}</code>"),
            ("mode", _text(info.get("mode"))),
            ("workflow", _text(info.get("workflowName"))),
            ("started", _text(info.get("startedAt"))),
            ("finished", _text(info.get("finishedAt"))),
            ("took", escape(duration(info.get("startedAt"), info.get("finishedAt")))),
        ]
    )
    if tasks is None:
        task_part = "<p>tasks: not fetched yet (<code>get_jobtasks()</code> lists them)</p>"
    elif not tasks:
        task_part = "<p>tasks: none</p>"
    else:
        headers = ("task", "block", "version", "status", "started", "took")
        task_part = _table(headers, _task_rows(tasks))
    note = "<p><small>as last fetched; <code>status</code> asks the API again</small></p>"
    return f'<div style="{_STYLE}">{heading}{fields}{task_part}{note}</div>'


def task_html(info: Mapping[str, Any], jobtask_id: str, kind: str = "JobTask") -> str:
    """A task's status and timings, as last fetched."""
    block = info.get("block") or {}
    block_name = block.get("name") if isinstance(block, Mapping) else None
    heading = (
        f"<strong>{escape(kind)}</strong> {_text(info.get('name'))} {_badge(info.get('status'))}"
    )
    fields = _fields(
        [
            ("jobtask_id", f"<code>{escape(jobtask_id)}</code>"),
            ("block", f"{_text(block_name)} {_text(info.get('blockVersion'))}".strip()),
            ("started", _text(info.get("startedAt"))),
            ("finished", _text(info.get("finishedAt"))),
            ("took", escape(duration(info.get("startedAt"), info.get("finishedAt")))),
        ]
    )
    return f'<div style="{_STYLE}">{heading}{fields}</div>'


def collection_html(kind: str, jobs: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """A collection's jobs: a summary line and one row per job (the first ``MAX_ROWS``).

    Args:
        kind: The class named in the heading.
        jobs: ``(job_id, info)`` of every job, info as last fetched.
    """
    statuses = [str(info.get("status")) for _, info in jobs if info.get("status") is not None]
    summary = Summary.of(statuses)
    heading = f"<strong>{escape(kind)}</strong> of {len(jobs)} jobs: {escape(str(summary))}"
    rows = [
        [
            _text(info.get("name")),
            f"<code>{escape(job_id)}</code>",
            _badge(info.get("status")),
            _text(info.get("startedAt")),
            escape(duration(info.get("startedAt"), info.get("finishedAt"))),
        ]
        for job_id, info in jobs[:MAX_ROWS]
    ]
    table = _table(("job", "job_id", "status", "started", "took"), rows) if rows else ""
    more = f"<p>... and {len(jobs) - MAX_ROWS} more</p>" if len(jobs) > MAX_ROWS else ""
    note = "<p><small>as last fetched; <code>status</code> asks the API again</small></p>"
    return f'<div style="{_STYLE}">{heading}{table}{more}{note}</div>'
