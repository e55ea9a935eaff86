"""The step table of ``bench_dedup.py --es --steps`` tells a step's CPU from its waiting."""

from __future__ import annotations

import threading
import time

from bench.dedup_steps import STEPS, StepTimes, _timed


def test_a_waiting_step_shows_no_cpu_and_a_busy_one_does() -> None:
    times = StepTimes()
    waited = _timed(threading.Event().wait, "waiting", times)
    waited(0.05)

    def busy() -> None:
        started = time.thread_time()
        while time.thread_time() - started < 0.05:
            pass

    _timed(busy, "busy", times)()
    assert times.seconds["waiting"] >= 0.05
    assert times.cpu["waiting"] < times.seconds["waiting"] / 2
    assert times.cpu["busy"] >= 0.05
    assert times.calls == {"waiting": 1, "busy": 1}


def test_the_table_sums_the_main_thread_cpu_apart_from_the_threads() -> None:
    times = StepTimes()
    main_step = next(label for label, _, _, threaded in STEPS if not threaded)
    thread_step = next(label for label, _, _, threaded in STEPS if threaded)
    times.add(main_step, 2.0, 1.5)
    times.add(thread_step, 4.0, 0.5)
    times.add("look-up (load_neighbourhood)", 3.0, 2.0)
    times.add("decision (_assign)", 1.0, 1.0)
    lines = times.table(1000)
    assert "of it CPU" in lines[0]
    row = next(line for line in lines if line.startswith(main_step))
    assert row.split()[-3:] == ["2.00", "1.50", "1"]
    other = next(line for line in lines if line.startswith("other main-thread work"))
    assert other.split()[-2:] == ["2.00", "1.50"]  # 4.00 - 2.00 wall, 3.00 - 1.50 CPU
    whole = next(line for line in lines if line.startswith("both passes, main thread"))
    assert whole.split()[-2:] == ["4.00", "3.00"]
