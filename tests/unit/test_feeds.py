"""Feed registry validation and feed parsing (RSS 2.0, RDF, Atom, JSON Feed, malformed, entity bombs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsflow.errors import ConfigError
from newsflow.feeds import (
    FeedEntry,
    FeedSpec,
    has_entity_declarations,
    load_registry,
    parse_feed,
    parse_interval,
)

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
feeds:
  - name: one
    url: https://example.org/feed.xml
    language: en
    poll_interval: 15m
    tags: [world]
  - name: two
    outlet: Two News
    url: http://example.net/rss
    language: en-GB
    poll_interval: 1h
    tags: []
    enabled: false
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_registry_loads_valid_file(tmp_path: Path) -> None:
    registry = load_registry(_write(tmp_path, GOOD))
    assert [f.name for f in registry] == ["one", "two"]
    assert registry.get("two").outlet == "Two News"
    assert registry.get("one").poll_seconds == 900
    assert [f.name for f in registry.enabled()] == ["one"]
    assert isinstance(registry.feeds[0], FeedSpec)
    with pytest.raises(ConfigError, match="no feed named"):
        registry.get("three")


@pytest.mark.parametrize(
    ("old", "new", "line", "field"),
    [
        ("url: http://example.net/rss", "url: ftp://example.net/rss", 9, "url"),
        ("poll_interval: 1h", "poll_interval: soon", 11, "poll_interval"),
        ("language: en-GB", "language: English", 10, "language"),
        ("name: two", "name: one", 7, "name"),
        ("    tags: []\n", "    tags: nope\n", 12, "tags"),
        ("    enabled: false\n", "    enabled: maybe\n", 13, "enabled"),
        ("    outlet: Two News\n", "    colour: blue\n", 8, "colour"),
    ],
)
def test_registry_errors_name_file_line_and_field(
    tmp_path: Path, old: str, new: str, line: int, field: str
) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ConfigError) as info:
        load_registry(path)
    message = str(info.value)
    assert f"{path}:{line}" in message
    assert field in message


def test_registry_missing_field_and_bad_shape(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("    language: en\n", "", 1))
    with pytest.raises(ConfigError, match=r":2: missing field 'language'"):
        load_registry(path)
    with pytest.raises(ConfigError, match="top-level 'feeds:' list"):
        load_registry(_write(tmp_path, "feeds: 3\n"))
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_registry(_write(tmp_path, "feeds: [\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_registry(tmp_path / "absent.yaml")


def test_parse_interval() -> None:
    assert parse_interval("30s") == 30
    assert parse_interval("2h") == 7200
    assert parse_interval("1d") == 86400
    assert parse_interval("1w") == 7 * 86400, "the notation of backfill windows and relative dates"
    for bad in ("0m", "15", "m", "1y", "5w"):
        with pytest.raises(ValueError, match=r"interval|zero|maximum"):
            parse_interval(bad)


def test_repository_registry_is_valid_and_real() -> None:
    registry = load_registry(REPO / "seeds" / "feeds.yaml")
    assert 20 <= len(registry) <= 40
    assert all(f.url.startswith(("https://", "http://")) for f in registry)
    assert all(f.language.startswith("en") for f in registry)
    assert len({f.outlet for f in registry}) >= 15, "many distinct outlets"


RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Example</title><link>https://news.example.org/</link>
<item><title>First &amp; best</title><link>/2026/11/first?utm_source=rss#top</link>
<guid isPermaLink="false">id-1</guid><pubDate>Sun, 22 Nov 2026 08:30:00 +0100</pubDate>
<description>&lt;p&gt;Some &lt;b&gt;bold&lt;/b&gt; summary&lt;/p&gt;</description>
<category>World</category><category>Europe</category></item>
<item><title>No link at all</title><description>nothing to fetch</description></item>
<item><title>Mail link</title><link>mailto:editor@example.org</link></item>
</channel></rss>
"""


def test_parse_rss20_entries() -> None:
    parsed = parse_feed(RSS, feed="ex", base_url="https://news.example.org/feed.xml")
    assert parsed.format == "rss20" and not parsed.bozo
    assert parsed.skipped == 2
    (entry,) = parsed.entries
    assert entry.url == "https://news.example.org/2026/11/first?utm_source=rss#top"
    assert entry.canonical_url == "https://news.example.org/2026/11/first"
    assert entry.title == "First & best"
    assert entry.summary == "Some bold summary"
    assert entry.published == "2026-11-22T07:30:00Z"
    assert entry.updated is None, "updated must not silently copy published"
    assert entry.guid == "id-1"
    assert entry.tags == ("World", "Europe")
    assert FeedEntry.from_dict(json.loads(json.dumps(entry.to_dict()))) == entry


def test_parse_atom_and_rdf() -> None:
    atom = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
    <entry><title>Atom entry</title><id>tag:a,2026:1</id>
    <link rel="alternate" href="https://a.example/x"/><link rel="enclosure" href="https://a.example/x.mp3"/>
    <published>2026-11-21T10:00:00Z</published><updated>2026-11-21T12:00:00-02:00</updated>
    <summary type="html">&lt;i&gt;hi&lt;/i&gt;</summary></entry></feed>"""
    parsed = parse_feed(atom, feed="a", base_url="https://a.example/feed")
    assert parsed.format == "atom10"
    (entry,) = parsed.entries
    assert (entry.url, entry.published, entry.updated) == (
        "https://a.example/x",
        "2026-11-21T10:00:00Z",
        "2026-11-21T14:00:00Z",
    )
    rdf = b"""<?xml version="1.0"?>
    <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
      xmlns:dc="http://purl.org/dc/elements/1.1/">
    <channel rdf:about="https://r.example/"><title>R</title><link>https://r.example/</link></channel>
    <item rdf:about="https://r.example/1"><title>RDF one</title><link>https://r.example/1</link>
    <dc:date>2026-11-20T09:00:00Z</dc:date></item></rdf:RDF>"""
    parsed = parse_feed(rdf, feed="r", base_url="https://r.example/rss")
    assert parsed.format == "rss10"
    assert [(e.url, e.published) for e in parsed.entries] == [("https://r.example/1", "2026-11-20T09:00:00Z")]


def test_parse_json_feed() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "J",
            "items": [
                {"id": 1, "url": "/p/1", "title": "One", "content_html": "<p>x &amp; y</p>", "tags": ["t"]},
                {
                    "id": "2",
                    "external_url": "https://elsewhere.example/2",
                    "date_published": "2026-11-01T00:00:00Z",
                },
                {"id": "3", "title": "no url"},
                "junk",
            ],
        }
    ).encode()
    parsed = parse_feed(body, feed="j", base_url="https://j.example/feed.json")
    assert parsed.format == "json11" and not parsed.bozo
    assert [e.url for e in parsed.entries] == ["https://j.example/p/1", "https://elsewhere.example/2"]
    assert parsed.entries[0].summary == "x & y"
    assert parsed.entries[0].tags == ("t",)
    assert parsed.entries[1].published == "2026-11-01T00:00:00Z"
    assert parsed.skipped == 2
    broken = parse_feed(
        b'{"version": "https://jsonfeed.org/version/1", "items": [', feed="j", base_url="https://j/"
    )
    assert broken.error == "malformed" and broken.entries == ()


def test_malformed_feed_keeps_recoverable_entries() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Bad & worse</title>'
        b"<item><title>one</title><link>https://m.example/1</link></item>"
        b"<item><title>two</title><link>https://m.example/2</link>"
    )
    parsed = parse_feed(body, feed="m", base_url="https://m.example/rss")
    assert parsed.bozo and parsed.error == "malformed"
    assert [e.url for e in parsed.entries] == ["https://m.example/1", "https://m.example/2"]


def test_garbage_is_reported_not_raised() -> None:
    for body in (b"", b"\x00\x01\x02", b"<html><body>not a feed</body></html>", b"http://127.0.0.1:9/feed"):
        parsed = parse_feed(body, feed="g", base_url="https://g.example/")
        assert parsed.entries == ()
        assert parsed.bozo, body


def test_entity_declarations_are_refused() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<rss version="2.0"><channel><title>&lol1;</title>
<item><title>x</title><link>https://b.example/1</link></item></channel></rss>"""
    assert has_entity_declarations(bomb)
    parsed = parse_feed(bomb, feed="b", base_url="https://b.example/")
    assert parsed.error == "entity_declarations" and parsed.entries == ()
    external = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss/>'
    assert parse_feed(external, feed="b", base_url="https://b.example/").error == "entity_declarations"
    # A plain DOCTYPE without entities is harmless and still parsed.
    plain = b'<?xml version="1.0"?><!DOCTYPE rss><rss version="2.0"><channel><title>t</title>' + (
        b"<item><link>https://b.example/2</link></item></channel></rss>"
    )
    assert not has_entity_declarations(plain)
    assert [e.url for e in parse_feed(plain, feed="b", base_url="https://b.example/").entries] == [
        "https://b.example/2"
    ]
