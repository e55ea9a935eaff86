"""Publish dates: parsing, dates written for readers, and which source wins, on hand-written input."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from lxml import html as lxml_html

from newsflow.extract import DATE_SOURCES, date_confidence
from newsflow.extract.dates import date_from_url, parse_date
from newsflow.extract.metadata import read_metadata
from newsflow.extract.published import published_date, text_date, time_element
from newsflow.extract.textdates import written_date


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021-03-04T05:06:07Z", "2021-03-04T05:06:07Z"),
        ("2021-03-04T05:06:07+0200", "2021-03-04T03:06:07Z"),
        ("2021-03-04", "2021-03-04T12:00:00Z"),  # a day alone: its middle, the same day in every zone
        ("2019-11-19 02:24:00 UTC", "2019-11-19T02:24:00Z"),
        ("2019-11-18 17:19:53 GMT", "2019-11-18T17:19:53Z"),
        ("2026-05-13 15:44", "2026-05-13T15:44:00Z"),
        ("1715279080", "2024-05-09T18:24:40Z"),  # Unix seconds in a datetime attribute
        ("Tue, 10 Jun 2003 04:00:00 GMT", "2003-06-10T04:00:00Z"),
        ("March 4, 2021", "2021-03-04T12:00:00Z"),
        ("0001-01-01T00:00:00Z", None),
        ("1870-01-01", None),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date(raw: str | None, expected: str | None) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://e.com/2019/11/19/story", datetime(2019, 11, 19, 12)),
        ("https://e.com/news/2020-02-29-leap-day", datetime(2020, 2, 29, 12)),
        ("https://e.com/archive/20210115/item", datetime(2021, 1, 15, 12)),
        ("https://e.com/2019/02/30/impossible", None),
        ("https://e.com/story?date=2019/11/19", None),
        ("https://e.com/item/123456", None),
        (None, None),
    ],
)
def test_date_from_url(url: str | None, expected: datetime | None) -> None:
    assert date_from_url(url) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Veröffentlicht am 13. Mai 2026 um 15:44", datetime(2026, 5, 13, 15, 44)),
        ("Do 25.04.24 | 14:07 Uhr | Von Eva Muster", datetime(2024, 4, 25, 14, 7)),
        ("Datum 28.04.2023", datetime(2023, 4, 28, 12)),
        ("Publicado el 5 de abril de 2025, 10:30", datetime(2025, 4, 5, 10, 30)),
        ("Publié le 5 avril 2025 à 15h30", datetime(2025, 4, 5, 15, 30)),
        ("torsdag 09. mai 2024 - 13:26", datetime(2024, 5, 9, 13, 26)),
        ("15 Nisan 2025", datetime(2025, 4, 15, 12)),
        ("2 listopadu 2025", datetime(2025, 11, 2, 12)),
        ("2025年1月14日 1時28分", datetime(2025, 1, 14, 1, 28)),
        ("입력 2026.01.29 18:40", datetime(2026, 1, 29, 18, 40)),
        ("Posted Nov. 19, 2019 - updated 2019-11-21", datetime(2019, 11, 19, 12)),
        ("Nov 19, 2019 3:45 PM", datetime(2019, 11, 19, 15, 45)),
        ("05.04.2025", datetime(2025, 4, 5, 12)),  # day first, as written outside the US
        ("version 1.2.34", None),
        ("No date here, only 42 numbers", None),
        ("31.02.2024", None),
    ],
)
def test_written_date(text: str, expected: datetime | None) -> None:
    found = written_date(text)
    assert (found.value if found else None) == expected


def test_slashed_dates_are_month_first_only_when_asked() -> None:
    for text, month_first, expected in (
        ("11/05/2019", False, datetime(2019, 5, 11, 12)),
        ("11/05/2019", True, datetime(2019, 11, 5, 12)),
        ("25/12/2019", True, datetime(2019, 12, 25, 12)),
    ):
        found = written_date(text, month_first=month_first)
        assert found is not None and found.value == expected, text


def _tree(body: str, head: str = "") -> object:
    return lxml_html.fromstring(f"<html><head>{head}</head><body>{body}</body></html>")


def test_text_date_reads_date_lines_after_the_headline_not_the_story() -> None:
    tree = _tree(
        "<div class='today'>Heute, 01.01.2030</div><h1>Headline</h1>"
        "<p>The treaty of 1 June 1990 was cited again by the minister in a long paragraph about it.</p>"
        "<ul><li><strong>Datum</strong> 28.04.2023</li></ul>"
    )
    assert text_date(tree) == datetime(2023, 4, 28, 12)
    # a teaser linking to another article carries that article's date
    tree = _tree("<h1>H</h1><a href='/other'><span class='date'>24.04.2023</span></a><span>06.01.2026</span>")
    assert text_date(tree) == datetime(2026, 1, 6, 12)
    assert text_date(_tree("<h1>H</h1><p>May 5, 2021 was the day the council met again to vote.</p>")) is None


def test_time_element_after_headline_and_not_in_links() -> None:
    tree = _tree(
        "<time datetime='2030-01-01T00:00:00Z'>nav</time><h1>H</h1>"
        "<a href='/x'><time datetime='2020-01-01T00:00:00Z'>teaser</time></a>"
        "<time datetime='2020-10-10T10:00:00+02:00'>Sat</time>"
    )
    assert time_element(tree) == datetime.fromisoformat("2020-10-10T10:00:00+02:00")
    assert time_element(_tree("<h1>H</h1><p>no time</p>")) is None


def _published(body: str, head: str = "", url: str | None = None, **kwargs: Any) -> tuple[str | None, str]:
    tree = _tree(body, head)
    return published_date(read_metadata(tree, url), tree, url, **kwargs)


def test_sources_in_order_of_confidence() -> None:
    ld = (
        '<script type="application/ld+json">'
        '{"@type": "NewsArticle", "datePublished": "2022-01-02T03:04:05Z"}</script>'
    )
    meta = '<meta property="article:published_time" content="2021-01-01T00:00:00Z">'
    time_el = "<h1>H</h1><time datetime='2020-05-05T05:05:05Z'>x</time>"
    byline = "<h1>H</h1><p class='byline'>By Ann, 3 March 2019</p>"
    url = "https://e.com/2018/02/02/story"
    feed = "Tue, 10 Jun 2003 04:00:00 GMT"
    assert _published(time_el, ld + meta, url, feed_published=feed) == ("2022-01-02T03:04:05Z", "json-ld")
    assert _published(time_el, meta, url, feed_published=feed) == ("2021-01-01T00:00:00Z", "meta")
    assert _published(time_el, "", url, feed_published=feed) == ("2020-05-05T05:05:05Z", "time-element")
    assert _published(byline, "", url, feed_published=feed) == ("2018-02-02T12:00:00Z", "url")
    assert _published(byline, "", None, feed_published=feed) == ("2019-03-03T12:00:00Z", "text")
    assert _published("<h1>H</h1>", "", None, feed_published=feed) == ("2003-06-10T04:00:00Z", "feed")
    last_modified = "Wed, 11 Jun 2003 08:00:00 GMT"
    assert _published("<h1>H</h1>", last_modified=last_modified) == (
        "2003-06-11T08:00:00Z",
        "http-last-modified",
    )
    assert _published("<h1>H</h1>", fetched_at="2024-05-06T07:08:09Z") == (
        None,
        "none",
    )  # never the fetch time
    assert [date_confidence(s) for s in DATE_SOURCES] == ["high"] * 2 + ["low"] * 5
    assert date_confidence("none") == "none"


def test_page_offset_places_naive_times_and_future_dates_are_skipped() -> None:
    head = '<meta property="article:modified_time" content="2024-04-25T16:00:00+02:00">'
    assert _published("<h1>H</h1><div class='lineinfo'>Do 25.04.24 | 14:07 Uhr</div>", head) == (
        "2024-04-25T12:07:00Z",
        "text",
    )
    # a date after the fetch (plus a day of zone slack) is a misreading, not a publish date
    body = "<h1>H</h1><span class='date'>01.02.2031</span><time datetime='2024-01-31T10:00:00Z'>x</time>"
    assert _published(body, fetched_at="2024-02-01T09:00:00Z") == ("2024-01-31T10:00:00Z", "time-element")
    assert _published(
        "<h1>H</h1><span class='date'>01.02.2031</span>", fetched_at="2024-02-01T09:00:00Z"
    ) == (
        None,
        "none",
    )


def test_text_dates_can_be_switched_off() -> None:
    assert _published("<h1>H</h1><p class='byline'>3 March 2019</p>", search_text=False) == (None, "none")
