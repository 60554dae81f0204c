"""How a collection paces itself: the listing pages it asks for together, and how many jobs
it downloads side by side by default (pure rules, no server)."""

from __future__ import annotations

from typing import Any

import pytest

from up42_facade._collection_rules import (
    DEFAULT_DOWNLOAD_CONCURRENCY,
    MAX_PAGES_AT_ONCE,
    ListingPages,
    download_concurrency,
)


def page(first: int, count: int, mode: str = "DEFAULT") -> list[dict[str, Any]]:
    return [{"id": f"job-{n}", "mode": mode} for n in range(first, first + count)]


def read_all(listing: ListingPages, pages: list[list[dict[str, Any]]]) -> list[range]:
    """Answer every request of ``listing`` from ``pages`` (empty past their end); the page
    numbers asked for, batch by batch."""
    asked = []
    while (batch := listing.next_pages()) is not None:
        asked.append(batch)
        listing.add([pages[n] if n < len(pages) else [] for n in batch])
    return asked


def test_the_last_pages_a_limit_needs_are_asked_for_together() -> None:
    listing = ListingPages(lambda job: True, limit=50)
    asked = read_all(listing, [page(0, 20), page(20, 20), page(40, 20)])
    assert asked == [range(0, 1), range(1, 3)]
    assert [job["id"] for job in listing.jobs()] == [f"job-{n}" for n in range(50)]
    assert listing.read == 3


def test_a_far_limit_is_read_a_page_at_a_time_until_it_is_near() -> None:
    pages = [page(20 * n, 20) for n in range(10)]
    listing = ListingPages(lambda job: True, limit=20 * (MAX_PAGES_AT_ONCE + 3))
    asked = read_all(listing, pages)
    assert [len(batch) for batch in asked] == [1, 1, 1, MAX_PAGES_AT_ONCE]
    assert len(listing.jobs()) == 20 * (MAX_PAGES_AT_ONCE + 3)


def test_without_a_limit_pages_are_read_one_at_a_time_until_an_empty_one() -> None:
    listing = ListingPages(lambda job: True, limit=None)
    asked = read_all(listing, [page(0, 20), page(20, 5)])
    assert asked == [range(0, 1), range(1, 2), range(2, 3)]
    assert len(listing.jobs()) == 25


def test_pages_asked_for_past_the_end_of_the_listing_only_come_back_empty() -> None:
    listing = ListingPages(lambda job: True, limit=50)
    asked = read_all(listing, [page(0, 20), page(20, 7)])
    assert asked == [range(0, 1), range(1, 3)]
    assert len(listing.jobs()) == 27


def test_jobs_the_filter_drops_make_the_listing_read_on() -> None:
    pages = [page(0, 10) + page(10, 10, "DRY_RUN"), page(20, 20), page(40, 20)]
    listing = ListingPages(lambda job: job["mode"] == "DEFAULT", limit=30)
    asked = read_all(listing, pages)
    assert asked == [range(0, 1), range(1, 2)]
    assert len(listing.jobs()) == 30


def test_a_listing_with_until_reads_one_page_at_a_time_and_stops_when_told() -> None:
    seen: list[dict[str, Any]] = []
    listing = ListingPages(
        lambda job: bool(seen.append(job)), limit=None, until=lambda: len(seen) >= 30
    )
    asked = read_all(listing, [page(20 * n, 20) for n in range(5)])
    assert asked == [range(0, 1), range(1, 2)]
    assert listing.jobs() == []


@pytest.mark.parametrize(("cpus", "downloads"), [(1, 2), (2, 3), (4, 5), (7, 8), (64, 8)])
def test_a_collection_downloads_a_job_per_cpu_and_one_more_side_by_side_at_most_eight(
    cpus: int, downloads: int
) -> None:
    assert download_concurrency(cpus) == downloads
    assert 1 <= download_concurrency() <= DEFAULT_DOWNLOAD_CONCURRENCY
