"""The boosted trees blended into the pair model: scored as scikit-learn scores them, read
back from data exactly, and refused when the data is malformed."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from newsflow.dedup.model import PairModel, load_model
from newsflow.dedup.trees import Trees
from newsflow.errors import ConfigError

# One tree: x0 <= 0.5 ? (x1 <= 0.2 ? -1.0 : 0.5) : 2.0
TREE = (
    (0, 0.5, 1, 2, 0.0),
    (1, 0.2, 3, 4, 0.0),
    (-1, 0.0, 0, 0, 2.0),
    (-1, 0.0, 0, 0, -1.0),
    (-1, 0.0, 0, 0, 0.5),
)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def test_rows_follow_their_path_to_a_leaf() -> None:
    trees = Trees(features=("a", "b"), baseline=0.25, trees=(TREE, TREE))
    rows = np.array([[0.1, 0.1], [0.1, 0.9], [0.5, 0.2], [0.9, 0.0]])
    expected = [0.25 + 2 * leaf for leaf in (-1.0, 0.5, -1.0, 2.0)]
    assert trees.raw(rows).tolist() == pytest.approx(expected)
    assert trees.probabilities(rows).tolist() == pytest.approx([_sigmoid(z) for z in expected])


def test_exported_scikit_learn_trees_give_its_probabilities() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    from bench.storyfit import trees_from_sklearn

    rng = np.random.default_rng(3)
    x = rng.random((2000, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] * x[:, 2] + rng.normal(0, 0.2, 2000) > 0.8).astype(int)
    classifier = HistGradientBoostingClassifier(max_depth=3, max_iter=30, random_state=0).fit(x, y)
    trees = trees_from_sklearn(classifier, ("a", "b", "c"), x)  # raises if they differ
    fresh = rng.random((500, 3))
    assert np.abs(trees.probabilities(fresh) - classifier.predict_proba(fresh)[:, 1]).max() < 1e-9


def test_a_model_with_trees_reads_back_exactly_and_blends_the_two() -> None:
    trees = Trees(features=("b", "a"), baseline=-0.3, trees=(TREE,))
    model = PairModel(
        features=("a", "b"), weights=(1.5, -0.5), intercept=0.1, link_threshold=0.5, trees=trees
    )
    again = PairModel.from_dict(json.loads(json.dumps(model.to_dict())))
    rows = np.array([[0.3, 0.7], [0.9, 0.1], [0.0, 0.0]])
    assert again.probabilities(rows).tolist() == model.probabilities(rows).tolist()
    logistic = replace(model, trees=None).probabilities(rows)
    # The trees read their own features by name: column "b" first.
    assert model.probabilities(rows).tolist() == pytest.approx(
        (0.5 * (logistic + trees.probabilities(rows[:, [1, 0]]))).tolist()
    )


def test_the_mean_of_fits_scores_the_mean_of_their_logits() -> None:
    """The shipped model is the mean of fits on halves (``storyfit.mean_model``): one logistic
    model and one list of trees whose logits are the means of the fits' own."""
    from bench.storyfit import mean_model

    other = tuple((f, thr, lo, hi, -v) for f, thr, lo, hi, v in TREE)
    fits = [
        PairModel(("a", "b"), (1.5, -0.5), 0.1, 0.5, trees=Trees(("a", "b"), -0.3, (TREE,))),
        PairModel(("a", "b"), (0.5, 0.5), -0.3, 0.5, trees=Trees(("a", "b"), 0.7, (other, TREE))),
    ]
    mean = mean_model(fits)
    rows = np.array([[0.3, 0.7], [0.9, 0.1], [0.0, 0.0], [0.4, 0.1]])
    assert mean.trees is not None
    logit = np.mean([f.logits(rows) for f in fits], axis=0)
    assert mean.logits(rows).tolist() == pytest.approx(logit.tolist())
    assert mean.trees.raw(rows).tolist() == pytest.approx(
        np.mean([f.trees.raw(rows) for f in fits if f.trees is not None], axis=0).tolist()
    )
    with pytest.raises(ValueError, match="different features"):
        mean_model([fits[0], replace(fits[1], features=("b", "a"))])


@pytest.mark.parametrize(
    ("trees", "message"),
    [
        ({"features": ["a"], "baseline": 0.0, "trees": [[[0, 0.5, 1, 9, 0.0]]]}, "outside the tree"),
        (
            {
                "features": ["a"],
                "baseline": 0.0,
                "trees": [[[0, 0.5, 1, 2, 0.0], [0, 0.5, 0, 2, 0.0], [-1, 0, 0, 0, 1]]],
            },
            "back to an earlier node",
        ),
        ({"features": ["a"], "baseline": 0.0, "trees": [[[-1, 0.0, 0, 0, float("nan")]]]}, "not finite"),
        ({"features": ["a"], "baseline": 0.0, "trees": []}, "no trees"),
        ({"features": [], "baseline": 0.0, "trees": [[[-1, 0.0, 0, 0, 1.0]]]}, "no features"),
        ({"features": ["a"], "trees": [[[-1, 0.0, 0, 0, 1.0]]]}, "malformed"),
        ({"features": ["a"], "baseline": 0.0, "trees": [[[-1, 0.0]]]}, "malformed"),
        ({"features": ["zzz"], "baseline": 0.0, "trees": [[[-1, 0.0, 0, 0, 1.0]]]}, "does not list"),
    ],
)
def test_malformed_trees_are_refused_with_a_clear_error(trees: dict[str, object], message: str) -> None:
    data = {"features": ["a"], "weights": [1.0], "intercept": 0.0, "link_threshold": 0.5, "trees": trees}
    with pytest.raises(ConfigError, match=message):
        PairModel.from_dict(data)


def test_the_shipped_model_blends_trees_over_features_it_lists() -> None:
    model = load_model()
    assert model.trees is not None
    assert set(model.trees.features) <= set(model.features)
    assert model.fitted.get("trees"), "pair_model.json records how its trees were fitted"


def test_the_tables_give_the_walks_sums_on_the_shipped_model(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.bench_trees import sample_rows
    from newsflow.dedup import trees as trees_module

    shipped = load_model().trees
    assert shipped is not None
    rows = sample_rows(shipped, 5000, seed=7)
    rows[::50] = np.inf  # past every threshold
    rows[1::50] = -np.inf
    assert np.abs(shipped.raw(rows) - shipped.walk(rows)).max() < 1e-12
    # Tables cut small (many tables per feature set) still give the walk's sums.
    monkeypatch.setattr(trees_module, "TABLE_CELLS", 8)
    small = Trees(shipped.features, shipped.baseline, shipped.trees)
    assert small.table_count > 2 * shipped.table_count
    assert np.abs(small.raw(rows) - shipped.walk(rows)).max() < 1e-12


def test_a_tree_too_deep_to_tabulate_is_refused() -> None:
    # A chain of 21 splits, each on its own feature: its table would have 2**21 cells.
    depth = 21
    chain: list[tuple[int, float, int, int, float]] = []
    for i in range(depth):  # split i at node 2i: a leaf to its left, the next split to its right
        chain += [(i, 0.5, 2 * i + 1, 2 * i + 2, 0.0), (-1, 0.0, 0, 0, float(i))]
    chain.append((-1, 0.0, 0, 0, -1.0))
    with pytest.raises(ConfigError, match="too deep to tabulate"):
        Trees(tuple(f"f{i}" for i in range(depth)), 0.0, (tuple(chain),))
