"""``newsflow demo`` is never silent while it starts services, and says where the password is, never what.

The services themselves are replaced here (the real demo is ``make demo`` and the e2e tests):
what is under test is what an operator sees in a terminal or a log.
"""

from __future__ import annotations

import json
import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from newsflow.cli.demo_cmd import DemoProgress

PASSWORD = "Zq8[bold]v2-Xk9pLm4Rt7Yw1Nc5Hb3Jd6Fg0Se2Ua8Vi"  # longer than the narrow console below


def _console() -> tuple[Console, StringIO]:
    out = StringIO()
    return Console(file=out, width=60, color_system=None, force_terminal=False), out


def test_each_step_is_a_line_with_the_time_so_far() -> None:
    console, out = _console()
    with DemoProgress(console) as progress:
        progress.step("Elasticsearch: starting")
        progress.step("Airflow: starting [red]now[/]")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("[") and "s] Elasticsearch: starting" in lines[0]
    assert "Airflow: starting [red]now[/]" in lines[1], "a step's text is shown as it is, not as markup"


def test_a_long_step_prints_a_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DemoProgress, "HEARTBEAT_S", 0.05)
    console, out = _console()
    with DemoProgress(console) as progress:
        progress.step("Airflow: migrating")
        deadline = time.monotonic() + 30  # generous on a loaded machine; usually a fraction of a second
        while "still on" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert "still on: Airflow: migrating (" in out.getvalue()


def test_the_password_is_never_printed_and_its_place_is_on_a_line_of_its_own(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import newsflow.cli
    from newsflow.cli import main
    from newsflow.devstack import airflow_api, demo
    from newsflow.devstack.local_airflow import LocalAirflowOptions

    options = LocalAirflowOptions(state_dir=tmp_path / "a-long-folder-name-for-the-state")
    options.home.mkdir(parents=True)
    (options.home / airflow_api.GENERATED_PASSWORDS).write_text(json.dumps({"admin": PASSWORD}))
    monkeypatch.delenv("NEWSFLOW_AIRFLOW_PASSWORD", raising=False)
    assert airflow_api.local_password(options) == PASSWORD  # the place named holds it

    def fake_demo(progress: Any = None) -> demo.DemoReport:
        progress("Elasticsearch: starting or reusing the local node")
        return demo.DemoReport(
            es_url="http://127.0.0.1:9200",
            airflow_url="http://127.0.0.1:8080",
            airflow_password_at=airflow_api.password_at(options),
            site_url="http://127.0.0.1:8765",
            poll_run="scheduled__x",
            poll_state="success",
            process_run="asset_triggered__x",
            process_state="success",
            documents=5,
        )

    real_main = newsflow.cli.main
    monkeypatch.setattr(demo, "run_demo", fake_demo)
    monkeypatch.setattr(newsflow.cli, "main", lambda argv: 0 if argv[0] == "search" else real_main(argv))
    monkeypatch.setenv("COLUMNS", "40")
    assert main(["demo"]) == 0
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert PASSWORD[:8] not in err and PASSWORD[-8:] not in err, "credentials are never printed"
    place = f'the "admin" entry of {options.home / airflow_api.GENERATED_PASSWORDS}'
    assert place in lines, "where the password is must be whole on one line"
    box = [line for line in lines if line.startswith(("│", "╭", "╰"))]
    assert box and not any(str(options.home)[:20] in line for line in box)
