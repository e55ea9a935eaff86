"""The fitted same-story model: logistic weights over the pair features, shipped as data.

The weights live in ``pair_model.json`` beside this module, written by
``bench/fit_story_model.py`` from labelled pairs of the dev corpora; the file records the
command, the hash of every training file and the figures the fit reached, so a reader
can tell what the numbers were fitted on and refit them after a signal changes. Nothing
about the decision depends on a corpus at run time.

A model may also carry the curvature of its logistic fit's loss on the dev corpora
(``Curvature``): what ``refit`` needs to refit the weights on a deployment's own verdicts
where the dev corpora are not at hand.

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
class Curvature:
    """How the dev corpora's fitting loss curves around the logistic weights: its Hessian.

    The loss is each corpus's mean logistic loss, the corpora weighing the same (as the fit
    weighs them), over the weights in ``features`` order and then the intercept. A quadratic
    with this Hessian, centred on the shipped weights, stands in for the dev pairs, which are
    third-party data and not shipped: a refit on a deployment's verdicts (``refit``) then
    moves the weights only as far as the verdicts outweigh what the corpora said. Centred on
    the weights rather than on the loss's own minimum (the shipped weights are the mean of
    fits on halves): so a refit moves the weights only for what the verdicts say, and with
    random verdicts it read higher on ECB+ and SemEval held out than a refit that also
    expanded the loss's gradient (docs/stories.md, "Verdicts teach the model").
    """

    features: tuple[str, ...]  # the model's features; the last row and column are the intercept
    at: tuple[float, ...]  # the weights, then the intercept, the Hessian was taken at
    hessian: tuple[tuple[float, ...], ...]
    corpora: int  # how many corpora the loss averages: a refit weighs the verdicts as one more

    def __post_init__(self) -> None:
        size = len(self.features) + 1
        if len(self.at) != size or len(self.hessian) != size or any(len(r) != size for r in self.hessian):
            raise ConfigError(
                f"pair model: the curvature must be {size} x {size} (features and intercept); refit it"
            )
        if self.corpora < 1:
            raise ConfigError("pair model: the curvature must average at least one corpus; refit it")

    def to_dict(self) -> dict[str, object]:
        return {
            "features": list(self.features),
            "at": [float(f"{v:.9g}") for v in self.at],
            "hessian": [[float(f"{v:.9g}") for v in row] for row in self.hessian],
            "corpora": self.corpora,
        }

    @classmethod
    def from_dict(cls, data: object) -> Curvature:
        if not isinstance(data, dict):
            raise ConfigError("pair model: curvature is not an object; refit it")
        features, at, hessian, corpora = (data.get(k) for k in ("features", "at", "hessian", "corpora"))
        if not (
            isinstance(features, list)
            and isinstance(at, list)
            and isinstance(hessian, list)
            and all(isinstance(row, list) for row in hessian)
            and isinstance(corpora, int)
        ):
            raise ConfigError("pair model: curvature is malformed (features, at, hessian, corpora); refit it")
        try:
            return cls(
                features=tuple(str(f) for f in features),
                at=tuple(float(v) for v in at),
                hessian=tuple(tuple(float(v) for v in row) for row in hessian),
                corpora=corpora,
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"pair model: curvature holds a value that is not a number ({exc}); refit it"
            ) from exc


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
    curvature: Curvature | None = None  # for a refit on verdicts (``refit``); None: not refittable

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
        if self.curvature is not None and self.curvature.features != self.features:
            raise ConfigError("pair model: the curvature is over other features than the weights; refit it")

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
            **({"curvature": self.curvature.to_dict()} if self.curvature is not None else {}),
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
            curvature=None if data.get("curvature") is None else Curvature.from_dict(data.get("curvature")),
        )


def load_model(path: Path | str | None = None) -> PairModel:
    """The model at ``path`` (a local path or any fsspec URL, such as the archive's bucket,
    so every worker reads the same file), or the shipped one; read once per process."""
    return _load(str(path or MODEL_PATH))


@lru_cache(maxsize=4)
def _load(path: str) -> PairModel:
    try:
        if "://" in path:
            import fsspec

            with fsspec.open(path, "rt", encoding="utf-8") as handle:
                text = handle.read()
        else:
            text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"pair model {path} cannot be read ({exc}); check the path (NEWSFLOW_PAIR_MODEL), "
            "reinstall newsflow or refit"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"pair model {path} is not a JSON object; refit it")
    return PairModel.from_dict(data)


def write_model(model: PairModel, path: str) -> None:
    """``model`` as JSON at ``path`` (a local path or any fsspec URL)."""
    import fsspec

    text = json.dumps(model.to_dict(), indent=2) + "\n"
    try:
        fs, fs_path = fsspec.core.url_to_fs(path)
        parent = fs_path.rsplit("/", 1)[0] if "/" in fs_path else ""
        if parent:
            fs.makedirs(parent, exist_ok=True)
        with fs.open(fs_path, "w", encoding="utf-8") as out:
            out.write(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: the model cannot be written ({exc}); check the folder or bucket") from exc
