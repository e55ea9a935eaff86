"""Elasticsearch down, unreachable or hanging: clear errors, the way out, and never a password.

Issue 15, items 8 and 12: credentials inside ``NEWSFLOW_ES_URL`` were printed by
``es status``, ``--json`` and the ``index`` errors; ``es status`` called an unreachable
external cluster "running" with rc 0; ``search``/``stories`` with Elasticsearch down
printed a raw connection error without the ``newsflow es up`` hint.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

from newsflow.cli import main
from tests.faults.hostile import Request, drill, serving

SECRET = "s3cr3t-pa55"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _silent(request: Request) -> None:
    request.server.stopping.wait(120)


@pytest.fixture
def es_down(monkeypatch: pytest.MonkeyPatch) -> int:
    """The local node's port points at nothing (NEWSFLOW_ES_URL unset)."""
    port = _closed_port()
    monkeypatch.delenv("NEWSFLOW_ES_URL", raising=False)
    monkeypatch.setenv("NEWSFLOW_ES_PORT", str(port))
    return port


def test_es_status_of_unreachable_external_cluster_is_nonzero_and_masks_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://elastic:{SECRET}@127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("NEWSFLOW_ES_URL", url)
    with drill(
        "es status, external cluster down",
        tried="NEWSFLOW_ES_URL=http://elastic:<password>@127.0.0.1:<closed port>; es status, --json, -vv",
        expected="rc 1 'unreachable' both ways; the password never printed (masked ***)",
    ) as report:
        code = main(["-vv", "es", "status"])
        out, err = capsys.readouterr()
        code_json = main(["es", "status", "--json"])
        out_json, err_json = capsys.readouterr()
        state = json.loads(out_json)
        report.found = f"rc {code} / {code_json}; {' '.join(err.split())[-200:]!r}"
        assert (code, code_json) == (1, 1)
        assert "unreachable" in err and state["running"] is False and state["problem"]
        assert SECRET not in out + err + out_json + err_json
        assert "elastic:***@" in err and "elastic:***@" in state["url"]


def test_es_status_of_a_hanging_cluster_is_bounded(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving({"*": _silent}, lifetime=120) as hole:
        monkeypatch.setenv("NEWSFLOW_ES_URL", f"http://elastic:{SECRET}@127.0.0.1:{hole.port}")
        with drill(
            "es status, external cluster hangs",
            tried="NEWSFLOW_ES_URL at a server that accepts and never answers",
            expected="rc 1 'unreachable' after the 10s status timeout, no retries, password masked",
            bound=25,
        ) as report:
            started = time.monotonic()
            code = main(["es", "status"])
            report.elapsed = time.monotonic() - started
            err = capsys.readouterr().err
            report.found = f"rc {code} after {report.elapsed:.1f}s, {sum(hole.hits.values())} request(s)"
            report.error = " ".join(err.split())
            assert code == 1 and "unreachable" in err and SECRET not in err
            assert report.elapsed < 25
            assert sum(hole.hits.values()) == 1


def test_index_errors_mask_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWSFLOW_ES_URL", f"https://elastic:{SECRET}@127.0.0.1:{_closed_port()}")
    with drill(
        "index setup/status, credentials in the URL",
        tried="newsflow -vv index setup --wait 1 and index status --wait 1 against a closed port, "
        "password in NEWSFLOW_ES_URL",
        expected="rc 2, 'not reachable' with the URL masked, in messages and logs",
    ) as report:
        codes = [main(["-vv", "index", action, "--wait", "1"]) for action in ("setup", "status")]
        out, err = capsys.readouterr()
        report.found = f"rc {codes}; {' '.join(err.split())[-220:]!r}"
        assert codes == [2, 2]
        assert "not reachable" in err and "elastic:***@" in err
        assert SECRET not in out + err


@pytest.mark.parametrize("command", [["search", "harbour"], ["stories"], ["stories", "--history", "s-1"]])
def test_search_and_stories_with_es_down_say_how_to_start_it(
    command: list[str], es_down: int, capsys: pytest.CaptureFixture[str]
) -> None:
    with drill(
        f"{' '.join(command)} with Elasticsearch down",
        tried=f"newsflow {' '.join(command)} with nothing on the local port {es_down}",
        expected="rc 2, 'not reachable' and 'start it with `newsflow es up`', no raw traceback",
        bound=60,
    ) as report:
        started = time.monotonic()
        code = main(command)
        report.elapsed = time.monotonic() - started
        err = capsys.readouterr().err
        report.found = f"rc {code} after {report.elapsed:.1f}s"
        report.error = " ".join(err.split())
        assert code == 2
        assert "not reachable" in err and "newsflow es up" in err and "Traceback" not in err
