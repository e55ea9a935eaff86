"""Gradient-boosted trees over the pair features, shipped as data and scored with numpy.

The logistic model weighs each feature the same whatever the others say; trees can learn that
a shared name counts when the texts agree and little when they do not, which is what NeuS's
neighbouring political stories need. Out of fold, the mean of the two models' probabilities
beats the logistic model alone on NeuS and SemEval and ties on ECB+ (``docs/stories.md``).

The trees are fitted by scikit-learn in ``bench/storyfit.py`` and stored in
``pair_model.json`` as plain node lists, never pickled, so the package needs no scikit-learn
at run time and a reader can see what was shipped.

Scoring does not walk the trees. The shipped model is the mean of four fits, some 300 trees of
depth 2, and walking them all was a sixth of offline dedup's time. A tree's leaf depends only
on where each of its features falls among its thresholds, so trees over the same features are
summed, once, into a table over those intervals: scoring looks up one cell per table, 8 times
faster than the walk on one article's candidates (``bench/bench_trees.py``), with the walk's
sums (the tables are filled by walking the trees). docs/stories.md, "The trees as tables".
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from newsflow.errors import ConfigError

# A node is [feature, threshold, left, right, value]; a leaf has feature -1. A pair goes left
# when its feature value is at most the threshold.
Node = tuple[int, float, int, int, float]


@dataclass(frozen=True, slots=True)
class Trees:
    """Boosted trees: the probability is the logistic of ``baseline`` plus one leaf per tree."""

    features: tuple[str, ...]
    baseline: float
    trees: tuple[tuple[Node, ...], ...] = field(compare=False, repr=False)
    digest: str = ""  # compared instead of the nodes, so hashing a model stays cheap
    _feature: npt.NDArray[np.intp] = field(init=False, compare=False, repr=False)
    _threshold: npt.NDArray[np.float64] = field(init=False, compare=False, repr=False)
    _left: npt.NDArray[np.intp] = field(init=False, compare=False, repr=False)
    _right: npt.NDArray[np.intp] = field(init=False, compare=False, repr=False)
    _value: npt.NDArray[np.float64] = field(init=False, compare=False, repr=False)
    _depth: int = field(init=False, compare=False, repr=False)
    _tables: _Tables = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.trees or not self.features:
            raise ConfigError("pair model trees: no trees or no features; refit it")
        width = max(len(tree) for tree in self.trees)
        shape = (len(self.trees), width)
        feature = np.full(shape, -1, dtype=np.intp)
        threshold = np.zeros(shape)
        left, right = np.zeros(shape, dtype=np.intp), np.zeros(shape, dtype=np.intp)
        value = np.zeros(shape)
        for t, tree in enumerate(self.trees):
            for n, (f, thr, lo, hi, v) in enumerate(tree):
                leaf = f < 0
                # Children come after their parent (as scikit-learn stores them), so no tree
                # can loop and its depth is at most its length.
                if not leaf and not (
                    0 <= f < len(self.features) and n < lo < len(tree) and n < hi < len(tree)
                ):
                    raise ConfigError(
                        f"pair model trees: tree {t} node {n} points outside the tree "
                        "or back to an earlier node; refit it"
                    )
                feature[t, n], threshold[t, n], value[t, n] = f, thr, v
                left[t, n], right[t, n] = (n, n) if leaf else (lo, hi)
        digest = hashlib.sha256(json.dumps([self.baseline, self.trees]).encode()).hexdigest()[:16]
        object.__setattr__(self, "digest", self.digest or digest)
        for name, array in (
            ("_feature", feature),
            ("_threshold", threshold),
            ("_left", left),
            ("_right", right),
            ("_value", value),
        ):
            object.__setattr__(self, name, array)
        object.__setattr__(self, "_depth", _depth(self.trees))
        object.__setattr__(self, "_tables", _tabulate(self))

    @property
    def table_count(self) -> int:
        """How many tables the trees are summed into (``TABLE_CELLS`` bounds each)."""
        return len(self._tables.table_at)

    def raw(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The summed leaf values (a logit) of each row of a (pairs x ``features``) array."""
        return np.asarray(self.baseline + self._tables.lookup(rows), dtype=np.float64)

    def walk(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """``raw`` by walking every tree from its root: what tests and ``bench_trees.py``
        check the tables against."""
        return self.baseline + self.leaf_sums(rows, np.arange(self._feature.shape[0]))

    def leaf_sums(
        self, rows: npt.NDArray[np.float64], which: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.float64]:
        """The leaf values the trees numbered in ``which`` give each row, summed, without the
        baseline: what a table's cells are filled from."""
        node = np.zeros((rows.shape[0], len(which)), dtype=np.intp)
        for _ in range(self._depth):
            feature = self._feature[which, node]
            x = np.take_along_axis(rows, np.maximum(feature, 0), axis=1)
            go_left = x <= self._threshold[which, node]
            node = np.where(go_left, self._left[which, node], self._right[which, node])
        return np.asarray(self._value[which, node].sum(axis=1), dtype=np.float64)

    def probabilities(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        z = np.clip(self.raw(rows), -60.0, 60.0)
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def to_dict(self) -> dict[str, object]:
        return {
            "features": list(self.features),
            "baseline": self.baseline,  # unrounded: a threshold must split exactly where it was fitted
            "trees": [[list(node) for node in tree] for tree in self.trees],
        }

    @classmethod
    def from_dict(cls, data: object) -> Trees:
        if not isinstance(data, dict):
            raise ConfigError("pair model trees must be an object; refit it")
        features, baseline, trees = data.get("features"), data.get("baseline"), data.get("trees")
        if not (isinstance(features, list) and isinstance(baseline, int | float) and isinstance(trees, list)):
            raise ConfigError("pair model trees are malformed (features, baseline, trees); refit it")
        try:
            nodes = tuple(
                tuple((int(f), float(thr), int(lo), int(hi), float(v)) for f, thr, lo, hi, v in tree)
                for tree in trees
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError("pair model trees are malformed (features, baseline, trees); refit it") from exc
        if not all(math.isfinite(v) for tree in nodes for node in tree for v in (node[1], node[4])):
            raise ConfigError("pair model trees hold a value that is not finite; refit it")
        return cls(features=tuple(str(f) for f in features), baseline=float(baseline), trees=nodes)


def _depth(trees: tuple[tuple[Node, ...], ...]) -> int:
    """Splits on the longest path from a root to a leaf, over all trees."""
    deepest = 0
    for tree in trees:
        stack = [(0, 0)]
        while stack:
            n, depth = stack.pop()
            f, _, lo, hi, _ = tree[n]
            if f < 0:
                deepest = max(deepest, depth)
            else:
                stack += [(lo, depth + 1), (hi, depth + 1)]
    return deepest


# Trees over the same features share a table until it has this many cells; more trees start
# another. A depth-2 tree alone needs at most 8; the shipped model's tables hold about 7,100.
TABLE_CELLS = 4096
# One tree whose own table would be larger than this is refused: only very deep trees reach it.
TREE_CELLS_LIMIT = 1 << 20


@dataclass(frozen=True, slots=True)
class _Tables:
    """Leaf sums over intervals of the features. A value's interval on feature f is the number
    of f's thresholds (over all trees) below it; ``remap`` turns that into the interval among
    one table's own thresholds, and ``stride`` places it in the table's flat cells."""

    cuts: tuple[npt.NDArray[np.float64], ...]  # each feature's thresholds, sorted
    feature: npt.NDArray[np.intp]  # (tables, slots): the features a table is over
    stride: npt.NDArray[np.intp]  # (tables, slots); 0 in a slot a table does not use
    remap_at: npt.NDArray[np.intp]  # (tables, slots): where each slot's remap starts
    remap: npt.NDArray[np.intp]
    table_at: npt.NDArray[np.intp]  # (tables,): where each table's cells start
    cells: npt.NDArray[np.float64]

    def lookup(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        interval = np.empty(rows.shape, dtype=np.intp)
        for f, cuts in enumerate(self.cuts):
            # "left" counts the thresholds strictly below x: x <= threshold goes left.
            interval[:, f] = np.searchsorted(cuts, rows[:, f], side="left")
        cell = np.broadcast_to(self.table_at, (rows.shape[0], len(self.table_at))).copy()
        for slot in range(self.feature.shape[1]):
            local = self.remap[self.remap_at[:, slot] + interval[:, self.feature[:, slot]]]
            cell += local * self.stride[:, slot]
        return np.asarray(self.cells[cell].sum(axis=1), dtype=np.float64)


def _tabulate(trees: Trees) -> _Tables:
    """Group the trees by the features they split on, and fill one table per group by walking
    its trees at one point of each cell (a cell's own upper thresholds, or infinity)."""
    width = len(trees.features)
    thresholds: list[list[set[float]]] = [
        [{thr for f, thr, *_ in tree if f == i} for i in range(width)] for tree in trees.trees
    ]
    cuts = tuple(np.array(sorted(set().union(*(t[i] for t in thresholds)))) for i in range(width))
    # remap starts with zeros that a slot a table does not use reads (times a stride of 0).
    remap = [np.zeros(max(len(c) for c in cuts) + 1, dtype=np.intp)]
    remap_size = len(remap[0])
    by_features: dict[tuple[int, ...], list[int]] = {}
    for t, splits in enumerate(thresholds):
        by_features.setdefault(tuple(i for i in range(width) if splits[i]), []).append(t)
    groups: list[tuple[tuple[int, ...], list[int]]] = []
    for features, members in by_features.items():
        group: list[int] = []
        for t in members:
            if _cells(thresholds, features, [t]) > TREE_CELLS_LIMIT:
                raise ConfigError(f"pair model trees: tree {t} is too deep to tabulate; refit it")
            if group and _cells(thresholds, features, [*group, t]) > TABLE_CELLS:
                groups.append((features, group))
                group = []
            group.append(t)
        groups.append((features, group))
    slots = max((len(features) for features, _ in groups), default=0) or 1
    feature = np.zeros((len(groups), slots), dtype=np.intp)
    stride = np.zeros((len(groups), slots), dtype=np.intp)
    remap_at = np.zeros((len(groups), slots), dtype=np.intp)
    table_at, cells = np.zeros(len(groups), dtype=np.intp), []
    cells_size = 0
    for g, (features, group) in enumerate(groups):
        own = [np.array(sorted(set().union(*(thresholds[t][f] for t in group)))) for f in features]
        points = [np.append(o, np.inf) for o in own]
        step = 1
        for slot in reversed(range(len(features))):
            feature[g, slot], stride[g, slot], remap_at[g, slot] = features[slot], step, remap_size
            step *= len(points[slot])
            mapped = np.concatenate([[0], np.searchsorted(own[slot], cuts[features[slot]], side="right")])
            remap.append(mapped.astype(np.intp))
            remap_size += len(mapped)
        grid = np.zeros((step, width))
        for slot, axis in enumerate(np.meshgrid(*points, indexing="ij")):
            grid[:, features[slot]] = axis.ravel()
        cells.append(trees.leaf_sums(grid, np.array(group, dtype=np.intp)))
        table_at[g] = cells_size
        cells_size += step
    return _Tables(cuts, feature, stride, remap_at, np.concatenate(remap), table_at, np.concatenate(cells))


def _cells(thresholds: list[list[set[float]]], features: tuple[int, ...], group: list[int]) -> int:
    return math.prod(len(set().union(*(thresholds[t][f] for t in group))) + 1 for f in features)
