"""Hostile feed and file content never crashes a command, and is shown, never obeyed.

Issue 15, items 2, 7 and 9: a lone surrogate escape in a JSON feed crashed ``fetch-feed``
(traceback) and ``newsflow cluster`` (rc 1, no output); one deeply nested JSON line
stopped ``newsflow cluster``; ``[/y]`` in a URL or path raised ``MarkupError``; escape
sequences in feed titles reached the terminal raw.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsflow.cli import main
from newsflow.feeds import parse_feed
from tests.faults.hostile import Request, drill, serving

SURROGATE_FEED = (
    b'{"version": "https://jsonfeed.org/version/1.1", "title": "Lone \\ud800 title", "items": ['
    b'{"id": "1", "url": "/a/1.html", "title": "Broken \\ud800 headline", "summary": "x\\udfff y",'
    b' "tags": ["t\\ud800"]},'
    b'{"id": "2", "url": "/a/\\ud800.html", "title": "link with a surrogate"},'
    b'{"id": "3", "url": "/a/3.html", "title": "Fine headline"}]}'
)
XML_SURROGATE_FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>T &#55296; x</title>'
    b"<item><title>A &#xD800; b</title><link>http://a.example/1</link></item></channel></rss>"
)
ESC_FEED = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Esc</title>'
    b"<item><title>Red \x1b[31malert\x1b[0m \x1b]0;pwned\x07 [/y] [bold]x</title>"
    b"<link>http://127.0.0.1/a/[/y]</link></item></channel></rss>"
)


def _json(request: Request) -> None:
    request.respond(200, SURROGATE_FEED, "application/feed+json")


def _xml(body: bytes) -> object:
    return lambda request: request.respond(200, body, "application/rss+xml")


def _all_strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _all_strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _all_strings(v)]
    return []


def test_json_feed_with_lone_surrogates_parses_to_encodable_entries() -> None:
    parsed = parse_feed(SURROGATE_FEED, feed="evil", base_url="http://news.example/feed.json")
    with drill(
        "lone surrogate in a JSON feed (parse)",
        tried='a JSON Feed whose title, item title, summary, tag and one URL hold "\\ud800"',
        expected="entries with U+FFFD instead, every string UTF-8 encodable; the URL with one skipped",
    ) as report:
        strings = [*_all_strings([e.to_dict() for e in parsed.entries]), parsed.title]
        for text in strings:
            text.encode("utf-8")  # raises on a lone surrogate
        report.found = f"{len(parsed.entries)} entries, {parsed.skipped} skipped, title {parsed.title!r}"
        assert [e.url for e in parsed.entries] == [
            "http://news.example/a/1.html",
            "http://news.example/a/3.html",
        ]
        assert parsed.entries[0].title == "Broken \ufffd headline"
        assert parsed.skipped == 1


def test_fetch_feed_of_surrogate_and_escape_feeds_prints_them_safely(
    capsys: pytest.CaptureFixture[str],
) -> None:
    routes = {"/feed.json": _json, "/esc.xml": _xml(ESC_FEED), "/bad.xml": _xml(XML_SURROGATE_FEED)}
    with serving(routes, lifetime=120) as site:  # type: ignore[arg-type]  # routes are Route callables
        for path, what, expected in [
            (
                "/feed.json",
                "a JSON Feed with lone surrogates",
                "rc 0, entries shown with U+FFFD, no traceback",
            ),
            (
                "/esc.xml",
                "an RSS title with ESC [31m, an OSC title-setting sequence and Rich markup [/y]",
                "rc 0, the sequences shown as \\x1b escapes and brackets shown literally",
            ),
            (
                "/bad.xml",
                "RSS with &#xD800; (crashed feedparser's loose parser)",
                "a parse error, no traceback",
            ),
        ]:
            capsys.readouterr()  # only this command's output below, not the previous drill's report
            with drill(f"fetch-feed {path}", tried=what, expected=expected) as report:
                code = main(["fetch-feed", f"{site.base_url}{path}", "--allow-private", "--no-robots"])
                out, err = capsys.readouterr()
                report.found = f"rc {code}; output {' '.join(out.split())[:160]!r}"
                assert "Traceback" not in out + err
                assert "\x1b]" not in out and "\x1b[31m" not in out
                if path == "/feed.json":
                    assert code == 0 and "Fine headline" in out and "\ufffd" in out
                elif path == "/esc.xml":
                    assert code == 0 and "\\x1b" in out and "[/y]" in out and "[bold]x" in out
                else:
                    assert "parse error" in out and "malformed" in out


def test_cluster_survives_surrogates_and_a_deeply_nested_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "The harbour works reopened on Monday after the storm damaged the quay. " * 3
    lines = [
        json.dumps({"id": "a", "text": text, "title": "Harbour"}),
        "[" * 200_000 + "]" * 200_000,
        '{"id": "b\\ud800", "text": "Broken \\ud800 text. ' + text + '", "title": "T\\udfff"}',
        '{"id": 1' + "1" * 5000 + ', "text": "huge number"}',
        json.dumps({"id": "c", "text": text, "title": "Harbour again"}),
    ]
    source = tmp_path / "articles.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "stories.jsonl"
    with drill(
        "cluster: nested line and lone surrogates",
        tried="newsflow cluster over 5 lines: 200,000 nested '[', lone surrogates in id/text/title, "
        "a 5,000-digit number",
        expected="rc 0; 3 articles clustered; bad_json 2 and lone_surrogate_replaced 1 counted",
    ) as report:
        code = main(["cluster", "--in", str(source), "--out", str(out)])
        err = capsys.readouterr().err
        written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        report.found = f"rc {code}; {len(written)} lines written; {' '.join(err.split())[-160:]}"
        assert code == 0
        assert [w["id"] for w in written] == ["a", "b\ufffd", "c"]
        assert "bad_json 2" in err and "lone_surrogate_replaced 1" in err


def test_markup_in_paths_and_urls_is_shown_not_parsed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with drill(
        "[/y] in a path and a URL",
        tried="newsflow extract '<tmp>/[/y].html' (missing) and fetch-feed 'http://[/y]'",
        expected="rc 2 with the path/URL in the error, no MarkupError traceback",
    ) as report:
        missing = tmp_path / "[/y]"
        code = main(["extract", str(missing / "page.html")])
        err = capsys.readouterr().err
        code_url = main(["fetch-feed", "http://exa[/y]mple/feed"])
        err_url = capsys.readouterr().err
        report.found = f"rc {code} and {code_url}; {' '.join(err.split())[:120]!r}"
        assert code == 2 and "[/y]" in err and "MarkupError" not in err
        assert code_url == 2 and "MarkupError" not in err_url


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://10.0.0.1/[/y]", "refused_private_address"),
        ("http://news.example/[/y]\x1b[2J", "bad_redirect"),
    ],
)
def test_redirect_to_a_hostile_url_reports_cleanly(
    location: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with (
        serving(
            {"/feed.xml": lambda r: r.respond(302, b"", "text/plain", Location=location)}, lifetime=120
        ) as site,
        drill(
            f"redirect to {location.encode('unicode_escape').decode()}",
            tried=f"fetch-feed of a feed redirecting to {location!r} (markup, private address or ESC)",
            expected=f"rc 2, '{reason}' after 1 request, URL shown escaped, no MarkupError",
        ) as report,
    ):
        code = main(["fetch-feed", f"{site.base_url}/feed.xml", "--allow-private", "--no-robots"])
        err = capsys.readouterr().err
        report.found = f"rc {code}, {site.hits['/feed.xml']} request(s); {' '.join(err.split())[:200]!r}"
        assert code == 2
        assert reason in err and "MarkupError" not in err and "\x1b[2J" not in err
        assert site.hits["/feed.xml"] == 1
