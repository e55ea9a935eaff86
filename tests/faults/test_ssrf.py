"""A feed cannot make us fetch other services on an allowed private host, metadata or private ranges.

Issue 15, item 3: with ``NEWSFLOW_ALLOW_PRIVATE_HOSTS=127.0.0.1`` a feed item linking to
``http://127.0.0.1:9200/news-articles/_search`` was fetched and the index archived. Here a
stand-in "Elasticsearch" runs on 127.0.0.1 next to the fixture site, and the drills
check it is never reached when the allow-list names the site's port.
"""

from __future__ import annotations

import json

import pytest

from newsflow.cli import main
from newsflow.errors import ConfigError
from newsflow.feeds import parse_feed
from newsflow.fetch import Fetcher, FetchFailure, FetchOptions
from newsflow.fetch_policy import parse_allow_entry
from tests.faults.hostile import Request, drill, serving


def _es_search(request: Request) -> None:
    request.respond(
        200, json.dumps({"hits": {"hits": [{"_source": {"secret": 1}}]}}).encode(), "application/json"
    )


def _options(*allow: str) -> FetchOptions:
    return FetchOptions(
        allow_private_hosts=frozenset(allow), respect_robots=False, per_host_delay=0.0, retries=0, deadline=10
    )


def test_allowed_site_port_does_not_open_other_services_on_the_same_host() -> None:
    with serving({"*": _es_search}, lifetime=120) as es:

        def feed(request: Request) -> None:
            items = [{"id": "1", "url": f"{es.base_url}/news-articles/_search", "title": "steal the index"}]
            body = {"version": "https://jsonfeed.org/version/1.1", "title": "evil", "items": items}
            request.respond(200, json.dumps(body).encode(), "application/feed+json")

        with (
            serving({"/feed.json": feed}, lifetime=120) as site,
            Fetcher(_options(f"127.0.0.1:{site.port}")) as fetcher,
            drill(
                "SSRF to a neighbour service",
                tried=f"allow-list 127.0.0.1:{site.port}; a feed item links to a stand-in Elasticsearch "
                f"at 127.0.0.1:{es.port}/news-articles/_search",
                expected="feed fetched; the item refused 'refused_private_address'; 0 requests reach ES",
            ) as report,
        ):
            result = fetcher.fetch(f"{site.base_url}/feed.json")
            parsed = parse_feed(
                result.body, feed="evil", base_url=result.final_url, content_type="application/json"
            )
            (entry,) = parsed.entries
            with pytest.raises(FetchFailure) as info:
                fetcher.fetch(entry.url)
            report.found = (
                f"item refused '{info.value.reason}', {sum(es.hits.values())} request(s) reached ES"
            )
            report.error = str(info.value)
            assert info.value.reason == "refused_private_address"
            assert sum(es.hits.values()) == 0


def test_host_only_entry_keeps_its_old_meaning_any_port() -> None:
    with (
        serving({"*": _es_search}, lifetime=120) as es,
        Fetcher(_options("127.0.0.1")) as fetcher,
        drill(
            "host-only allow-list entry",
            tried="allow-list '127.0.0.1' (no port), fetch a service on another port of 127.0.0.1",
            expected="allowed: an entry without a port means any port (documented; name a port to narrow it)",
        ) as report,
    ):
        result = fetcher.fetch(f"{es.base_url}/news-articles/_search")
        report.found = f"HTTP {result.status}, {es.hits['/news-articles/_search']} request(s)"
        assert result.status == 200


def test_redirect_from_allowed_port_to_another_port_is_refused() -> None:
    with serving({"*": _es_search}, lifetime=120) as es:

        def hop(request: Request) -> None:
            request.respond(302, b"", "text/plain", Location=f"{es.base_url}/_cat/indices")

        with (
            serving({"/go": hop}, lifetime=120) as site,
            Fetcher(_options(f"127.0.0.1:{site.port}")) as fetcher,
            drill(
                "SSRF through a redirect",
                tried=f"allow-list 127.0.0.1:{site.port}; the site redirects to 127.0.0.1:{es.port}",
                expected="the hop is refused before connecting; 0 requests reach the other port",
            ) as report,
        ):
            with pytest.raises(FetchFailure) as info:
                fetcher.fetch(f"{site.base_url}/go")
            report.found = f"'{info.value.reason}', {sum(es.hits.values())} request(s) reached the other port"
            report.error = str(info.value)
            assert info.value.reason == "refused_private_address"
            assert sum(es.hits.values()) == 0


@pytest.mark.parametrize(
    ("url", "allow"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/", "169.254.0.0/16"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "fd00::/8"),
        ("http://10.0.0.1/internal.html", "127.0.0.1"),
        ("http://192.168.1.1/admin", ""),
        ("http://[::ffff:127.0.0.1]:9200/", "127.0.0.1:8765"),
        ("http://0.0.0.0:9200/", ""),
    ],
)
def test_metadata_and_private_ranges_are_refused_before_connecting(url: str, allow: str) -> None:
    with (
        Fetcher(_options(*([allow] if allow else []))) as fetcher,
        drill(
            f"SSRF to {url}",
            tried=f"fetch {url} with allow-list {allow!r}",
            expected="refused_private_address before any connection (metadata only by its exact address)",
        ) as report,
    ):
        with pytest.raises(FetchFailure) as info:
            fetcher.fetch(url)
        report.found = info.value.reason
        report.error = str(info.value)
        assert info.value.reason == "refused_private_address"


def test_connection_goes_to_the_checked_address_not_a_second_lookup() -> None:
    with serving({"/page": lambda r: r.respond(200, b"<html>pinned</html>")}, lifetime=120) as site:
        resolved: list[str] = []

        def resolver(host: str, port: int) -> list[str]:
            resolved.append(host)
            return ["127.0.0.1"]

        options = _options(f"127.0.0.1:{site.port}")
        with (
            Fetcher(options, resolver=resolver) as fetcher,
            drill(
                "DNS answer pinned",
                tried="a host the system cannot resolve ('rebind.invalid'); the policy's resolver: 127.0.0.1",
                expected="the connection goes to the address the policy checked (no second DNS lookup)",
            ) as report,
        ):
            result = fetcher.fetch(f"http://rebind.invalid:{site.port}/page")
            report.found = f"HTTP {result.status} from the checked address; resolver asked for {resolved}"
            assert result.body == b"<html>pinned</html>"
            assert resolved == ["rebind.invalid"]


def test_fetch_feed_honours_the_allow_list_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = b'<?xml version="1.0"?><rss version="2.0"><channel><title>ok</title></channel></rss>'
    with (
        serving({"/feed.xml": lambda r: r.respond(200, feed, "application/rss+xml")}, lifetime=120) as site,
        drill(
            "fetch-feed and NEWSFLOW_ALLOW_PRIVATE_HOSTS",
            tried="fetch-feed of a 127.0.0.1 feed without --allow-private, variable naming the site's port, "
            "then another port",
            expected="fetched with the site's port (rc 0); refused with another port (rc 2)",
        ) as report,
    ):
        url = f"{site.base_url}/feed.xml"
        monkeypatch.setenv("NEWSFLOW_ALLOW_PRIVATE_HOSTS", f"127.0.0.1:{site.port}")
        allowed = main(["fetch-feed", url, "--no-robots"])
        monkeypatch.setenv("NEWSFLOW_ALLOW_PRIVATE_HOSTS", f"127.0.0.1:{site.port + 1}")
        refused = main(["fetch-feed", url, "--no-robots"])
        err = capsys.readouterr().err
        report.found = f"rc {allowed} with the site's port, rc {refused} with another"
        report.error = " ".join(err.split())
        assert (allowed, refused) == (0, 2)
        assert "refused_private_address" in err
        assert site.hits["/feed.xml"] == 1


def test_local_airflow_keeps_an_empty_allow_list_and_defaults_to_the_site_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from newsflow.devstack import demo_site
    from newsflow.devstack.local_airflow import airflow_env

    monkeypatch.setenv("NEWSFLOW_ALLOW_PRIVATE_HOSTS", "")
    empty = airflow_env()["NEWSFLOW_ALLOW_PRIVATE_HOSTS"]
    monkeypatch.delenv("NEWSFLOW_ALLOW_PRIVATE_HOSTS")
    default = airflow_env()["NEWSFLOW_ALLOW_PRIVATE_HOSTS"]
    assert empty == ""
    assert default == f"127.0.0.1:{demo_site.DEFAULT_PORT}"
    entry = parse_allow_entry(default)
    assert entry.port == demo_site.DEFAULT_PORT


@pytest.mark.parametrize("bad", ["127.0.0.1:99999", "127.0.0.1:", "[::1", "10.0.0.0/99", ":80", "a b"])
def test_bad_allow_list_entries_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError, match="allow-list entry"):
        FetchOptions(allow_private_hosts=frozenset({bad}))
