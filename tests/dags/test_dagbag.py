"""Every DAG loads, with the expected ids, schedules and tags, and does no I/O at import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.dags.conftest import REPO_ROOT

DAGS_DIR = REPO_ROOT / "dags"
EXPECTED = {
    "newsflow_poll": {"tags": {"newsflow", "ingest"}},
    "newsflow_process": {"tags": {"newsflow", "process"}},
}


def test_dagbag_loads_every_dag_without_errors() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == set(EXPECTED)
    for dag_id, expected in EXPECTED.items():
        dag = bag.dags.get(dag_id)
        assert dag is not None
        assert set(dag.tags) == expected["tags"]
        assert dag.max_active_runs is not None
        assert all((t.retries or 0) >= 1 for t in dag.tasks if t.task_id in {"poll", "process"})


def test_schedules_are_time_based_and_asset_driven() -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import AssetOrTimeSchedule, CronDataIntervalTimetable

    bag = DagBag(dag_folder=str(DAGS_DIR))
    process = bag.dags.get("newsflow_process")
    poll = bag.dags.get("newsflow_poll")
    assert process is not None and poll is not None
    # Processing must be backfillable (a data interval) and follow the polling asset.
    assert isinstance(process.timetable, AssetOrTimeSchedule)
    assert isinstance(process.timetable.timetable, CronDataIntervalTimetable)
    assert isinstance(poll.timetable, AssetOrTimeSchedule)
    poll_outlets = {o.name for t in poll.tasks for o in t.outlets}
    assert "newsflow_raw_archive" in poll_outlets
    assert "newsflow_raw_archive" in repr(process.timetable.asset_condition)
    assert "newsflow_feed_ping" in repr(poll.timetable.asset_condition)


AUDIT_SCRIPT = r"""
import importlib.util, json, sys
events = []
WATCH = {"socket.connect", "socket.getaddrinfo", "subprocess.Popen", "os.system", "urllib.Request"}
def hook(event, args):
    if event in WATCH:
        events.append([event, repr(args)[:200]])
    elif event == "open" and isinstance(args[0], str) and not args[0].endswith((".pyc", ".pyc.tmp")):
        if args[1] and any(flag in str(args[1]) for flag in ("w", "a", "x", "+")):
            events.append([event, repr(args)[:200]])
# Airflow's own start-up (croniter runs `file` to learn the word size) is not the DAG files' business.
import airflow.sdk, croniter
from airflow.sdk import AssetOrTimeSchedule, CronDataIntervalTimetable, CronTriggerTimetable
from airflow.sdk import Connection, Variable
def refuse(*a, **k):
    events.append(["connection_or_variable", repr(a)[:200]])
    raise RuntimeError("Connection/Variable read at import time")
Connection.get = refuse
Variable.get = refuse
sys.addaudithook(hook)
for path in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location("dag_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
print(json.dumps(events))
"""


def test_dag_files_do_no_io_at_import(tmp_path: Path) -> None:
    files = sorted(str(p) for p in DAGS_DIR.glob("*.py"))
    assert files, "no DAG files found"
    command = [sys.executable, "-c", AUDIT_SCRIPT, *files]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    events = json.loads(result.stdout.strip().splitlines()[-1])
    assert events == []
