"""Where the Elasticsearch path's dedup time goes, step by step (``bench_dedup.py --es --steps``).

``docs/scaling.md`` plans the next speed-up from this breakdown, so it has to be
reproducible rather than a scratch harness. Each step is a package function wrapped, for
the run only, with a timer at the name its caller looks it up by; nothing in the package
changes. Steps that run in the look-up threads overlap the main thread's work, so their
time is shown apart and is not part of the sum of the main thread's steps.
"""

from __future__ import annotations

import functools
import importlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# (label, module where the caller looks the function up, its name there (a method as
# Class.name), runs in a thread)
STEPS = (
    ("the batch's own signals", "newsflow.dedup.story_index", "compute_signals", False),
    ("candidate msearch", "newsflow.dedup.neighbourhood", "_ranked_in_chunk", True),
    ("statistics sample", "newsflow.dedup.neighbourhood", "term_sample", True),
    ("the batch's stored stories", "newsflow.dedup.neighbourhood", "_stored_assignments", True),
    ("candidate ranking (waits for msearch)", "newsflow.dedup.neighbourhood", "_merge_ranked", False),
    ("story read (candidates' stories)", "newsflow.dedup.neighbourhood", "_candidates_and_stories", False),
    ("counting term statistics", "newsflow.dedup.candidates", "InMemoryCandidateSource.count_keys", False),
    ("holding the neighbourhood", "newsflow.dedup.candidates", "InMemoryCandidateSource.put", False),
    ("weighting articles (prepare)", "newsflow.dedup.state", "prepare", False),
    ("scoring", "newsflow.dedup.state", "score_many", False),
    ("re-partition", "newsflow.dedup.state", "partition_under", False),
)
# The two halves of a pass; what the steps above leave of them is shown as "other".
PASS_PARTS = (
    ("look-up (load_neighbourhood)", "newsflow.dedup.es_stories", "load_neighbourhood"),
    ("decision (_assign)", "newsflow.dedup.es_stories", "_assign"),
)


@dataclass
class StepTimes:
    seconds: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # the calling thread's CPU time
    calls: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, label: str, seconds: float, cpu: float = 0.0) -> None:
        with self.lock:
            self.seconds[label] = self.seconds.get(label, 0.0) + seconds
            self.cpu[label] = self.cpu.get(label, 0.0) + cpu
            self.calls[label] = self.calls.get(label, 0) + 1

    def table(self, articles: int) -> list[str]:
        """Lines of a table: each step's ms per article of ``articles``, of which the CPU time
        of the thread it ran in (the rest is waiting: on Elasticsearch, or for the GIL), and its
        calls. The worker CPU the gate is read on is the CPU column's main-thread sum plus the
        threads' rows."""
        lines = [f"{'step':<44} {'ms/article':>11} {'of it CPU':>10} {'calls':>8}"]
        main = main_cpu = 0.0
        for label, _, _, threaded in STEPS:
            ms = self.seconds.get(label, 0.0) * 1000 / articles
            cpu = self.cpu.get(label, 0.0) * 1000 / articles
            if not threaded:
                main += ms
                main_cpu += cpu
            where = " (in a thread)" if threaded else ""
            lines.append(f"{label + where:<44} {ms:>11.2f} {cpu:>10.2f} {self.calls.get(label, 0):>8}")
        whole = sum(self.seconds.get(label, 0.0) for label, _, _ in PASS_PARTS) * 1000 / articles
        whole_cpu = sum(self.cpu.get(label, 0.0) for label, _, _ in PASS_PARTS) * 1000 / articles
        lines.append(f"{'other main-thread work':<44} {whole - main:>11.2f} {whole_cpu - main_cpu:>10.2f}")
        lines.append(f"{'both passes, main thread':<44} {whole:>11.2f} {whole_cpu:>10.2f}")
        return lines


def _timed(function: Callable[..., Any], label: str, times: StepTimes) -> Callable[..., Any]:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            times.add(label, time.perf_counter() - started, time.thread_time() - cpu)

    return timed


@contextmanager
def timing_steps() -> Iterator[StepTimes]:
    """Wrap every step for the duration of the block; the originals are put back after."""
    times = StepTimes()
    originals: list[tuple[Any, str, Any]] = []
    try:
        for label, module_name, name, *_ in (*STEPS, *PASS_PARTS):
            owner: Any = importlib.import_module(module_name)
            *path, attribute = name.split(".")
            for part in path:
                owner = getattr(owner, part)
            original = getattr(owner, attribute)
            originals.append((owner, attribute, original))
            setattr(owner, attribute, _timed(original, label, times))
        yield times
    finally:
        for owner, attribute, original in reversed(originals):
            setattr(owner, attribute, original)
