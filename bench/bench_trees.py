"""What the trees' tables save over walking the trees, in one run.

    .venv/bin/python bench/bench_trees.py [--rows 20,60,200,2000]

Scores the shipped pair model's trees both ways (``Trees.raw``, the tables the package
scores with, and ``Trees.walk``, every tree from its root) on the same rows, for batches of
several sizes: one article's candidate pairs are about 60 (``bench_dedup.py`` scores 3,000
articles in 3,000 calls). Rows are drawn at random, a third of each feature's values on one of
its thresholds, so both sides of every split are taken; the two must agree, or the bench fails.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from newsflow.dedup.model import load_model
from newsflow.dedup.trees import Trees

Scorer = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]


def sample_rows(trees: Trees, n: int, seed: int = 0) -> npt.NDArray[np.float64]:
    """Random rows with about a third of each feature's values on one of its thresholds."""
    rng = np.random.default_rng(seed)
    rows = rng.random((n, len(trees.features)))
    for f in range(len(trees.features)):
        thresholds = sorted({thr for tree in trees.trees for g, thr, *_ in tree if g == f})
        if thresholds:
            on = rng.random(n) < 0.3
            rows[on, f] = rng.choice(thresholds, int(on.sum()))
    return rows


def per_call(score: Scorer, rows: npt.NDArray[np.float64], budget: float = 1.0) -> float:
    """Seconds per call, the best of five rounds of about ``budget`` / 5 seconds each."""
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < budget / 25:
        score(rows)
        calls += 1
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(calls):
            score(rows)
        best = min(best, (time.perf_counter() - started) / calls)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default="20,60,200,2000", help="comma-separated batch sizes")
    args = parser.parse_args()
    trees = load_model().trees
    if trees is None:
        raise SystemExit("the shipped pair model has no trees")
    print(f"{len(trees.trees)} trees over {len(trees.features)} features")
    print(f"{'rows':>6} {'walk us':>10} {'tables us':>10} {'walk / tables':>14}")
    for n in (int(s) for s in args.rows.split(",")):
        rows = sample_rows(trees, n)
        drift = float(np.abs(trees.raw(rows) - trees.walk(rows)).max())
        if drift > 1e-9:
            raise SystemExit(f"the tables differ from the walk by {drift} on {n} rows")
        walk, tables = per_call(trees.walk, rows), per_call(trees.raw, rows)
        print(f"{n:>6} {walk * 1e6:>10.0f} {tables * 1e6:>10.0f} {walk / tables:>14.1f}")


if __name__ == "__main__":
    main()
