"""Gradient-boosted trees over the pair features, shipped as data and scored with numpy.

The logistic model weighs each feature the same whatever the others say; trees can learn that
a shared name counts when the texts agree and little when they do not, which is what NeuS's
neighbouring political stories need. Out of fold, the mean of the two models' probabilities
beats the logistic model alone on NeuS and SemEval and ties on ECB+ (``docs/stories.md``).

The trees are fitted by scikit-learn in ``bench/storyfit.py`` and stored in
``pair_model.json`` as plain node lists, never pickled, so the package needs no scikit-learn
at run time and a reader can see what was shipped. Scoring walks every tree for a whole batch
of candidate pairs at once: one array step per tree level.
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

    def __post_init__(self) -> None:
        if not self.trees:
            raise ConfigError("pair model trees: no trees; refit it")
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

    def raw(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The summed leaf values (a logit) of each row of a (pairs x ``features``) array."""
        n, t = rows.shape[0], self._feature.shape[0]
        tree = np.arange(t)
        node = np.zeros((n, t), dtype=np.intp)
        for _ in range(self._depth):
            feature = self._feature[tree, node]
            x = np.take_along_axis(rows, np.maximum(feature, 0), axis=1)
            go_left = x <= self._threshold[tree, node]
            node = np.where(go_left, self._left[tree, node], self._right[tree, node])
        return np.asarray(self.baseline + self._value[tree, node].sum(axis=1), dtype=np.float64)

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
