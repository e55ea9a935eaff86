"""An absurd or ambiguous feed registry is refused with every error at once, before it can stop polling.

Issue 15, items 4 and 12: ``poll_interval: 3000000d`` passed validation and later made
``plan_poll_batches`` raise ``OverflowError`` for every feed; a key repeated inside one
feed silently won.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from newsflow.errors import ConfigError
from newsflow.feeds import FeedSpec, RegistryError, check_registry, load_registry, parse_interval
from tests.faults.hostile import drill

FEED = """\
  - name: {name}
    url: https://example.org/{name}.xml
    language: en
    poll_interval: {interval}
    tags: [world]
"""


def _registry(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n" + body, encoding="utf-8")
    return path


def test_absurd_poll_interval_is_refused(tmp_path: Path) -> None:
    path = _registry(tmp_path, FEED.format(name="slow", interval="3000000d"))
    with drill(
        "poll_interval 3000000d",
        tried="a registry whose feed polls every 3,000,000 days",
        expected="ConfigError naming file:line, field poll_interval and the 30d maximum",
    ) as report:
        with pytest.raises(ConfigError) as info:
            load_registry(path)
        report.found = "refused"
        report.error = str(info.value)
        assert f"{path}:5" in str(info.value) and "poll_interval" in str(info.value)
        assert "30d" in str(info.value)
    for bad in ("31d", "745h", "9" * 5000 + "s"):
        with pytest.raises(ValueError, match="maximum"):
            parse_interval(bad)
    assert parse_interval("30d") == 30 * 86400
    with pytest.raises(ConfigError, match="poll_interval"):
        FeedSpec(name="x", url="https://example.org/", language="en", poll_interval="3000000d")


def test_key_repeated_inside_one_feed_is_an_error(tmp_path: Path) -> None:
    body = FEED.format(name="twice", interval="15m") + "    url: https://evil.example/other.xml\n"
    path = _registry(tmp_path, body)
    with drill(
        "key repeated inside one feed",
        tried="a feed giving 'url' twice (YAML keeps the last one silently)",
        expected="ConfigError at the second key's line, naming the first",
    ) as report:
        with pytest.raises(ConfigError) as info:
            load_registry(path)
        report.found = "refused"
        report.error = str(info.value)
        assert f"{path}:7" in str(info.value) and "'url'" in str(info.value) and "line 3" in str(info.value)


def test_check_registry_reports_every_error_at_once(tmp_path: Path) -> None:
    body = (
        FEED.format(name="ok", interval="15m")
        + FEED.format(name="slow", interval="3000000d")
        + FEED.format(name="Bad Name", interval="soon")
        + FEED.format(name="ok", interval="5m")
        + "  - name: partial\n    url: ftp://example.org/\n"
    )
    path = _registry(tmp_path, body)
    with drill(
        "registry with many errors",
        tried="5 feeds: one good, a 3000000d interval, a bad name and interval, a reused name, "
        "a feed missing fields with an ftp URL",
        expected="check_registry lists all 8 errors with lines; load_registry raises one error listing them",
    ) as report:
        errors = check_registry(path)
        report.found = f"{len(errors)} errors: " + "; ".join(str(e).replace(str(path), "F") for e in errors)
        assert all(isinstance(e, RegistryError) for e in errors)
        assert [(e.line, e.field) for e in errors] == [
            (10, "poll_interval"),
            (12, "name"),
            (15, "poll_interval"),
            (17, "name"),
            (22, None),
            (22, None),
            (22, None),
            (23, "url"),
        ]
        with pytest.raises(ConfigError) as info:
            load_registry(path)
        assert "8 errors" in str(info.value)
    assert check_registry(_registry(tmp_path, FEED.format(name="fine", interval="1h"))) == []
    (missing,) = check_registry(tmp_path / "absent.yaml")
    assert str(missing).endswith(
        "cannot read feed registry ([Errno 2] No such file or directory: "
        + repr(str(tmp_path / "absent.yaml"))
        + ")"
    )


def test_shipped_registries_check_clean() -> None:
    seeds = Path(__file__).resolve().parents[2] / "seeds"
    for name in ("feeds.yaml", "feeds-demo.yaml"):
        assert check_registry(seeds / name) == [], name


def test_a_feed_urls_credentials_are_not_in_its_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A feed URL may carry a password or a key; an error about that URL names it masked, in
    the check's text and JSON alike (``feeds status`` masked it already)."""
    from newsflow.cli import main

    body = "".join(
        FEED.format(name=name, interval="15m").replace(f"https://example.org/{name}.xml", url)
        for name, url in (
            ("port", "http://user:s3cret@example.com:99999/feed"),
            ("scheme", "ftp://bob:s3cret@example.com/feed?token=tok3n"),
        )
    )
    path = _registry(tmp_path, body)
    problems = " ".join(str(error) for error in check_registry(path))
    assert "user:***@example.com" in problems and "token=***" in problems
    for argv in (["feeds", "check", str(path)], ["feeds", "check", "--json", str(path)]):
        assert main(argv) == 1
        said = capsys.readouterr()
        assert "s3cret" not in said.out + said.err and "tok3n" not in said.out + said.err
