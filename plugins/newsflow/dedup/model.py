"""The fitted same-story model: logistic weights over the pair features, shipped as data.

The weights live in ``pair_model.json`` beside this module, written by
``bench/fit_story_model.py`` from labelled pairs of the dev corpora; the file records the
command, the hash of every training file and the figures the fit reached, so a reader
can tell what the numbers were fitted on and refit them after a signal changes. Nothing
about the decision depends on a corpus at run time.

A logistic model keeps the decision readable: each feature's contribution is its weight
times its value, so ``why`` can name the features that decided a link. A model may also
carry boosted trees (``trees.Trees``); its probability is then the mean of the two, and
``why`` still names the logistic contributions beside what the trees said.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from newsflow.dedup.trees import Trees
from newsflow.errors import ConfigError

MODEL_PATH = Path(__file__).with_name("pair_model.json")
_HAND_SET_FRAGMENT_MEAN = 0.25
_HAND_SET_FRAGMENT_MAX = 0.6


@dataclass(frozen=True, slots=True)
class PairModel:
    """Weights by feature name, the intercept, and the story thresholds chosen with them.

    The thresholds are chosen on the same dev corpora as the weights: a threshold set by
    hand is a weight fitted to whatever its author looked at.
    """

    features: tuple[str, ...]
    weights: tuple[float, ...]
    intercept: float
    link_threshold: float  # mean pair probability at which average link joins two groups
    # A small group joins a larger one when its mean pair probability to it reaches
    # ``fragment_mean`` and one pair reaches ``fragment_max`` (``clusterer.partition``).
    # The defaults are the hand-set values of models fitted before these were chosen.
    fragment_mean: float = _HAND_SET_FRAGMENT_MEAN
    fragment_max: float = _HAND_SET_FRAGMENT_MAX
    fitted: dict[str, object] = field(default_factory=dict, compare=False)  # provenance, for readers
    trees: Trees | None = None  # blended in when present (over a subset of ``features``)

    def __post_init__(self) -> None:
        if len(self.features) != len(self.weights):
            raise ConfigError(
                f"pair model: {len(self.features)} features but {len(self.weights)} weights; refit it"
            )
        for name in ("link_threshold", "fragment_mean", "fragment_max"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ConfigError(f"pair model: {name} must be in (0, 1], got {value}")
        if self.trees is not None and not set(self.trees.features) <= set(self.features):
            raise ConfigError("pair model: the trees use features the model does not list; refit it")

    @property
    def weight_array(self) -> npt.NDArray[np.float64]:
        return np.asarray(self.weights, dtype=np.float64)

    def logits(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """``intercept + rows @ weights`` for a (pairs x features) array."""
        return np.asarray(self.intercept + rows @ self.weight_array, dtype=np.float64)

    def probabilities(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return self.scored(rows)[0]

    def scored(
        self, rows: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None]:
        """The model's probability for (pairs x ``features``) rows, and the trees' own (None
        without trees), which ``why`` shows: the trees are walked once per batch."""
        z = np.clip(self.logits(rows), -60.0, 60.0)
        logistic = np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)
        if self.trees is None:
            return logistic, None
        columns = [self.features.index(f) for f in self.trees.features]
        trees = self.trees.probabilities(rows[:, columns])
        return 0.5 * (logistic + trees), trees

    def top_contributions(self, row: npt.NDArray[np.float64], limit: int) -> list[tuple[str, float]]:
        """The ``limit`` features that moved this pair's score most, as (name, contribution)."""
        return self.top_contributions_many(row[np.newaxis, :], limit)[0]

    def top_contributions_many(
        self, rows: npt.NDArray[np.float64], limit: int
    ) -> list[list[tuple[str, float]]]:
        """``top_contributions`` of each row of a (pairs x features) array, in one pass.

        Every kept edge carries its ``why``, about 18 per article: one sort over all of
        them costs a fraction of a sort per edge (``bench/bench_dedup.py``).
        """
        contributions = rows * self.weight_array
        order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :limit]
        picked = np.take_along_axis(contributions, order, axis=1).tolist()
        names = self.features
        return [
            [(names[i], c) for i, c in zip(columns, values, strict=True) if c]
            for columns, values in zip(order.tolist(), picked, strict=True)
        ]

    def to_dict(self) -> dict[str, object]:
        return {
            "features": list(self.features),
            "weights": [round(w, 6) for w in self.weights],
            "intercept": round(self.intercept, 6),
            "link_threshold": self.link_threshold,
            "fragment_mean": self.fragment_mean,
            "fragment_max": self.fragment_max,
            "fitted": self.fitted,
            **({"trees": self.trees.to_dict()} if self.trees is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> PairModel:
        features, weights = data.get("features"), data.get("weights")
        intercept, link = data.get("intercept"), data.get("link_threshold")
        fragment_mean = data.get("fragment_mean", _HAND_SET_FRAGMENT_MEAN)
        fragment_max = data.get("fragment_max", _HAND_SET_FRAGMENT_MAX)
        fitted = data.get("fitted") or {}
        if not (
            isinstance(features, list)
            and isinstance(weights, list)
            and all(isinstance(w, int | float) for w in weights)
            and isinstance(intercept, int | float)
            and isinstance(link, int | float)
            and isinstance(fragment_mean, int | float)
            and isinstance(fragment_max, int | float)
            and isinstance(fitted, dict)
        ):
            raise ConfigError(
                "pair model data is malformed (features, weights, intercept, link_threshold, "
                "fragment_mean, fragment_max); refit it"
            )
        return cls(
            features=tuple(str(f) for f in features),
            weights=tuple(float(w) for w in weights),
            intercept=float(intercept),
            link_threshold=float(link),
            fragment_mean=float(fragment_mean),
            fragment_max=float(fragment_max),
            fitted=fitted,
            trees=None if data.get("trees") is None else Trees.from_dict(data.get("trees")),
        )


def load_model(path: Path | None = None) -> PairModel:
    """The model at ``path``, or the shipped one (read once per process)."""
    return _load(str(path or MODEL_PATH))


@lru_cache(maxsize=4)
def _load(path: str) -> PairModel:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"pair model {path} cannot be read ({exc}); reinstall newsflow or refit") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"pair model {path} is not a JSON object; refit it")
    return PairModel.from_dict(data)
