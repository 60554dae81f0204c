"""Fixtures of the replay tests: the vcr setup, the target of a recording, its session.

``recording.py`` says where traffic goes in each mode; ``scrub.py`` what never reaches a
cassette. Replay is the default: ``pytest tests/replay --record-mode=none --block-network``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import up42_facade as up42
from tests.replay.conformance import CASSETTES
from tests.replay.recording import IDS_FILE, IdBook, Target, mode_of, open_target
from tests.replay.scrub import SCRUBBED, SIGNED_URL_SECRETS, scrub_authorization, scrub_response


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sandbox_only(reason): needs a sandbox trick (expired tokens, injected faults); "
        "not re-recorded against the real API",
    )
    config.addinivalue_line(
        "markers",
        "sandbox_options(**options): record against a sandbox made with these options "
        "(e.g. dialect='classic', page_size=2)",
    )
    config.addinivalue_line(
        "markers",
        "replays(test): replays the cassette and ids that `test` (`<module>/<test name>`) "
        "recorded; skipped while recording, since that test re-records them",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before any fixture: in rewrite mode pytest-recording deletes the cassette while setting up,
    # and a skipped test must keep the one recorded against the sandbox.
    marker = item.get_closest_marker("sandbox_only")
    if marker is not None and mode_of(item.config) == "real":
        pytest.skip(f"recording against the real API: {marker.args[0]}; its sandbox cassette stays")
    # Same reason: the cassette a `replays` test would name for deletion is its twin's.
    replayed = item.get_closest_marker("replays")
    if replayed is not None and mode_of(item.config) != "replay":
        pytest.skip(f"replay only: {replayed.args[0]} records the cassette this test replays")


# -- vcr ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    """What vcrpy records and how: scrubbed secrets, no volatile headers, readable bodies.

    Requests match on method, path and query, never host or port: sandbox ports are random,
    replay sends to ``REPLAY_BASE_URL``, and the storage host differs from the API's.
    """
    return {
        "match_on": ("method", "path", "query"),
        # httpx would send back a cookie a real API set; it never belongs in a cassette.
        "filter_headers": [("authorization", scrub_authorization), ("cookie", None)],
        "filter_query_parameters": [(name, SCRUBBED) for name in SIGNED_URL_SECRETS],
        "before_record_response": scrub_response,
        "decode_compressed_response": True,
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """``tests/cassettes/<test module>/``."""
    return str(CASSETTES / Path(str(request.module.__file__)).stem)


# -- where the traffic goes ---------------------------------------------------------------


@pytest.fixture
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The API this test talks to and the ids it uses; a passing recording saves them for replay."""
    mode = mode_of(request.config)
    test = f"{Path(str(request.path)).stem}/{request.node.name}"
    book = IdBook(IDS_FILE)
    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("sandbox_options"))):
        options.update(marker.kwargs)
    with open_target(mode, book.get(test) if mode == "replay" else None, **options) as target:
        yield target
    if mode != "replay" and _passed(request):
        book.put(test, target.entry())


def _passed(request: pytest.FixtureRequest) -> bool:
    report = getattr(request.node, "rep_call", None)
    return report is not None and report.passed


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # Fixtures see how the test itself went (only a passing recording updates ids.json).
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


@pytest.fixture
def session(target: Target) -> Iterator[up42.Up42]:
    """A session against the target, closed after the test."""
    with target.session() as session:
        yield session


@pytest.fixture(autouse=True)
def _cassette_tells_the_whole_story(
    request: pytest.FixtureRequest,
    vcr: Any,
    record_mode: str,
    vcr_cassette_dir: str,
    default_cassette_name: str,
) -> Iterator[None]:
    """A replay needs its cassette and must use all of it; a failed recording saves nothing."""
    cassette = Path(vcr_cassette_dir) / f"{default_cassette_name}.yaml"
    if vcr is not None and record_mode == "none" and not cassette.exists():
        pytest.fail(f"no cassette {cassette.relative_to(CASSETTES)}: record it with `make record`")
    yield
    if vcr is None:
        return
    if record_mode != "none":
        if not _passed(request):
            vcr.dirty = False  # vcrpy saves only dirty cassettes
        return
    if _passed(request) and not vcr.all_played:
        unplayed = [
            f"{r.method} {r.path}" for i, (r, _) in enumerate(vcr.data) if vcr.play_counts[i] == 0
        ]
        pytest.fail(f"recorded but never requested: {unplayed}; re-record with `make record`")
