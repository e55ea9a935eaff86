"""Fitting and measuring the same-story model on the dev corpora.

Shared by ``fit_story_model.py`` (which writes ``pair_model.json``) and
``eval_stories.py`` (which reports, including leave-one-corpus-out). Training pairs are
the pairs the model meets at run time: each article with the candidates the in-memory
source hands it, labelled by the gold stories, plus SemEval's rated pairs. Copies (same
URL, same text, near-copy sketch) are decided by rule before the model and are left out.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.story_corpora import SHARED, Corpus
from bench.storyfolds import folds, subset
from newsflow.dedup import DedupOptions, DedupState, InMemoryCandidateSource
from newsflow.dedup.batch import ReadReport, to_signals
from newsflow.dedup.clusterer import partition_under
from newsflow.dedup.features import FEATURES, WEIGHT_SIGNS, feature_matrix
from newsflow.dedup.model import Curvature, PairModel
from newsflow.dedup.signals import ArticleSignals
from newsflow.dedup.similarity import Edge, decide_copies
from newsflow.dedup.trees import Trees
from newsflow.dedup.weighting import Prepared, prepare

log = logging.getLogger(__name__)


def shared_scorer(name: str) -> Any:
    """A scorer from ../shared/eval, loaded as it is (one scorer for every figure)."""
    path = SHARED / "eval" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True, slots=True)
class Scores:
    precision: float
    recall: float
    f1: float


def evaluate(corpus: Corpus, stories: dict[str, str], languages: str | None = None) -> Scores:
    """B-cubed (gold stories) or pair P/R/F1 (rated pairs; ``languages``: same / cross / None,
    or one language pair such as ``de-en``)."""
    if corpus.metric == "bcubed":
        pred = {i: stories.get(i, f"__alone__{i}") for i in corpus.gold}
        p, r, f = shared_scorer("score_clustering").bcubed(pred, corpus.gold)
        return Scores(p, r, f)

    def wanted(languages_of_pair: tuple[str, str]) -> bool:
        if languages in (None, "same", "cross"):
            same = languages_of_pair[0] == languages_of_pair[1]
            return languages is None or same == (languages == "same")
        return "-".join(languages_of_pair) == languages

    pairs = [
        {"a": p.a, "b": p.b, "overall": 1.0 if p.same else 4.0} for p in corpus.pairs if wanted(p.languages)
    ]
    result = shared_scorer("score_pairs").score(pairs, stories)
    return Scores(result["pair_precision"], result["pair_recall"], result["pair_f1"])


@dataclass
class PreparedCorpus:
    """A corpus as the model sees it: candidate pairs and labelled pairs with their features."""

    corpus: Corpus
    signals: list[ArticleSignals]
    candidates: list[tuple[int, int]]  # (i, j), i < j, not decided as copies
    candidate_x: npt.NDArray[np.float64]
    train_x: npt.NDArray[np.float64]
    train_y: npt.NDArray[np.int64]


def prepare_corpus(corpus: Corpus, options: DedupOptions) -> PreparedCorpus:
    """Every article is held, then meets its candidates as ``score_many`` would have it meet
    them: pairs decided as copies are left out, the rest get the model's features
    (``feature_matrix``); a pair is kept once, from its first article."""
    report = ReadReport()
    signals = [to_signals(a, options, report) for a in corpus.articles]
    source = InMemoryCandidateSource()
    source.count(signals)
    for sig in signals:
        source.put(sig, [])
    memo: dict[str, float] = {}
    prepared = [prepare(s, source, memo) for s in signals]
    index = {s.id: i for i, s in enumerate(signals)}
    neighbourhoods: list[list[int]] = []
    for i, sig in enumerate(signals):
        found = [index[c.id] for c in source.candidates(sig, options)]
        _, modelled, _ = decide_copies(prepared[i], [prepared[j] for j in found], options)
        neighbourhoods.append([found[n] for n in modelled])
    seen: set[tuple[int, int]] = set()
    pairs: list[tuple[int, int]] = []
    rows: list[npt.NDArray[np.float64]] = []
    for i, others in enumerate(neighbourhoods):
        if not others:
            continue
        x = feature_matrix(prepared[i], [prepared[j] for j in others])
        keep = [n for n, j in enumerate(others) if (min(i, j), max(i, j)) not in seen]
        for n in keep:
            pair = (min(i, others[n]), max(i, others[n]))
            seen.add(pair)
            pairs.append(pair)
        rows.append(x[keep])
    candidate_x = np.vstack(rows) if rows else np.zeros((0, len(FEATURES)))
    if corpus.metric == "bcubed":
        train_x = candidate_x
        train_y = np.array(
            [corpus.gold[signals[i].id] == corpus.gold[signals[j].id] for i, j in pairs], dtype=np.int64
        )
    else:
        labelled = [(index[p.a], index[p.b], p.same) for p in corpus.pairs if p.a in index and p.b in index]
        train_x = _pair_rows(prepared, [(i, j) for i, j, _ in labelled])
        train_y = np.array([int(same) for _, _, same in labelled], dtype=np.int64)
    return PreparedCorpus(corpus, signals, pairs, candidate_x, train_x, train_y)


def _pair_rows(prepared: Sequence[Prepared], pairs: Sequence[tuple[int, int]]) -> npt.NDArray[np.float64]:
    """Each rated pair's features (a pair's features do not depend on its other candidates)."""
    rows = [feature_matrix(prepared[i], [prepared[j]])[0] for i, j in pairs]
    return np.vstack(rows) if rows else np.zeros((0, len(FEATURES)))


# The weight signs every fit keeps (evidence >= 0, conflicts <= 0), as the package defines them.
SIGNS = WEIGHT_SIGNS


# Fitted after the others, with their weights held: a feature that is zero on every pair in
# one language then cannot move a same-language score, so cross-language linking never costs
# same-language precision (fitted together, it re-weighed every other feature: leave-one-out
# ECB+ fell from 0.894 to 0.859).
SECOND_STAGE: tuple[str, ...] = ("names_across_languages",)


def fit(
    corpora: Sequence[PreparedCorpus],
    *,
    c: float,
    corpus_weight: dict[str, float] | None = None,
    link_threshold: float = 0.5,
    features: Sequence[str] = FEATURES,
) -> PairModel:
    """Logistic regression (L2, strength ``1/c``) on every corpus's labelled pairs, each corpus
    weighing the same (times ``corpus_weight``) so the largest does not decide alone, with
    the weight signs of ``SIGNS`` (evidence features >= 0); ``SECOND_STAGE`` features are
    fitted last, against the rest held fixed."""
    first = [f for f in features if f not in SECOND_STAGE]
    model = _fit_stage(corpora, c, corpus_weight, first, None)
    later = [f for f in features if f in SECOND_STAGE]
    if later:
        model = _fit_stage(corpora, c, corpus_weight, later, model)
    weights = dict(zip(model.features, model.weights, strict=True))
    return PairModel(
        features=tuple(features),
        weights=tuple(weights[f] for f in features),
        intercept=model.intercept,
        link_threshold=link_threshold,
    )


# The trees blended with the logistic model (``dedup/trees.py``): shallow, so a tree can say
# "a shared name counts when the texts agree" without learning one corpus's pairs; without
# the product ``tfidf_x_names`` (trees find interactions themselves) and ``jaccard`` (weight 0
# in the logistic fit); never decreasing in an evidence feature, as ``SIGNS`` keeps the
# logistic weights.
TREE_FEATURES = tuple(f for f in FEATURES if f not in ("tfidf_x_names", "jaccard"))
TREE_ROUNDS = 100  # a ceiling: the fit stops early on its own (``fit_trees``)
TREE_DEPTH = 2


def fit_trees(corpora: Sequence[PreparedCorpus], *, c: float = 1.0) -> Trees:
    """Gradient-boosted trees (scikit-learn) on the labelled pairs, each corpus weighing the
    same as in ``fit``, exported as ``Trees`` data; ``c`` scales the ceiling on rounds.

    With more than 10,000 pairs (every fit here) scikit-learn holds a tenth of them out and
    stops once the loss there has not improved for 10 rounds (``early_stopping="auto"``), so
    the rounds actually fitted can be fewer: 100 on all three corpora, 79 on ECB+ and
    SemEval alone (2026-12-05). ``TREE_ROUNDS`` 200 gave the same figures as 100.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    columns = [FEATURES.index(f) for f in TREE_FEATURES]
    x = np.vstack([p.train_x[:, columns] for p in corpora])
    y = np.concatenate([p.train_y for p in corpora])
    w = np.concatenate([np.full(len(p.train_y), 1.0 / len(p.train_y)) for p in corpora])
    classifier = HistGradientBoostingClassifier(
        max_depth=TREE_DEPTH,
        learning_rate=0.1,
        max_iter=round(TREE_ROUNDS * c),
        l2_regularization=1.0,
        monotonic_cst=[SIGNS.get(f, 1) for f in TREE_FEATURES],
        early_stopping="auto",  # scikit-learn's default, named: see the docstring
        random_state=0,
    )
    classifier.fit(x, y, sample_weight=w / w.mean())
    return trees_from_sklearn(classifier, TREE_FEATURES, x[:: max(1, len(x) // 5000)])


def trees_from_sklearn(classifier: Any, features: Sequence[str], sample: npt.NDArray[np.float64]) -> Trees:
    """A fitted ``HistGradientBoostingClassifier`` (binary, no missing values) as ``Trees``;
    raises unless the exported nodes give scikit-learn's probabilities on ``sample``."""
    # scikit-learn has no public accessor for the fitted nodes and the starting logit.
    trees = Trees(
        features=tuple(features),
        baseline=float(np.ravel(classifier._baseline_prediction)[0]),
        trees=tuple(
            tuple(
                (
                    -1 if node["is_leaf"] else int(node["feature_idx"]),
                    float(node["num_threshold"]),
                    int(node["left"]),
                    int(node["right"]),
                    float(node["value"]),
                )
                for node in predictors[0].nodes
            )
            for predictors in classifier._predictors
        ),
    )
    drift = float(np.abs(trees.probabilities(sample) - classifier.predict_proba(sample)[:, 1]).max())
    if drift > 1e-9:
        raise RuntimeError(f"exported trees differ from scikit-learn's probabilities by {drift}")
    return trees


# Ways of cutting each corpus in two for the fits the shipped model averages, salted apart
# from the out-of-fold splits (0 to 3) so a fold measured out of fold is cut afresh.
BAG_SPLITS = (100, 101)


def fit_blend(corpora: Sequence[PreparedCorpus], *, c: float) -> PairModel:
    """The logistic model (strength ``c``) with the trees blended in, as the mean of the fits
    on each half of each cut in ``BAG_SPLITS`` (four fits on half the pairs).

    One fit on all the pairs swung ECB+ by 0.05 with which pairs it saw: the weight of a
    feature few pairs carry and where the trees stop early depend on a handful of pairs
    (docs/stories.md, "The mean of fits on halves"). The mean of four fits does not swing so.
    """
    cuts = [[subset(p, folds(p, split), k) for p in corpora] for split in BAG_SPLITS for k in (0, 1)]
    return mean_model([replace(fit(halves, c=c), trees=fit_trees(halves)) for halves in cuts])


def mean_model(fits: Sequence[PairModel]) -> PairModel:
    """One model whose logistic logit is the mean of the fits' and whose trees' logit is the
    mean of theirs (each fit's leaves divided by their number), so the shipped file is still
    one logistic model and one list of trees."""
    first = fits[0]
    trees = [m.trees for m in fits if m.trees is not None]
    if any(m.features != first.features for m in fits) or len({t.features for t in trees}) > 1:
        raise ValueError("fits over different features cannot be averaged")
    weights = tuple(float(np.mean([m.weights[i] for m in fits])) for i in range(len(first.features)))
    mean_trees = None
    if trees:
        mean_trees = Trees(
            features=trees[0].features,
            baseline=float(np.mean([t.baseline for t in trees])),
            trees=tuple(
                tuple((f, thr, lo, hi, v / len(trees)) for f, thr, lo, hi, v in tree)
                for t in trees
                for tree in t.trees
            ),
        )
    intercept = float(np.mean([m.intercept for m in fits]))
    return replace(first, weights=weights, intercept=intercept, trees=mean_trees)


def _fit_stage(
    corpora: Sequence[PreparedCorpus],
    c: float,
    corpus_weight: dict[str, float] | None,
    features: Sequence[str],
    held: PairModel | None,
) -> PairModel:
    """Fit ``features`` (and the intercept, unless ``held`` gives it with fixed weights that
    add to every pair's logit)."""
    from scipy.optimize import minimize

    columns = [FEATURES.index(f) for f in features]
    held_columns = [FEATURES.index(f) for f in held.features] if held else []
    xs, ys, ws, offsets = [], [], [], []
    for prepared in corpora:
        n = len(prepared.train_y)
        xs.append(prepared.train_x[:, columns])
        ys.append(prepared.train_y)
        ws.append(np.full(n, (corpus_weight or {}).get(prepared.corpus.name, 1.0) / n))
        offsets.append(held.logits(prepared.train_x[:, held_columns]) if held else np.zeros(n))
    x, y, w = np.vstack(xs), np.concatenate(ys).astype(np.float64), np.concatenate(ws)
    offset = np.concatenate(offsets)
    w = w / w.sum()
    free_intercept = 0.0 if held else 1.0

    def loss(params: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        z = offset + x @ params[:-1] + free_intercept * params[-1]
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
        value = float(np.sum(w * (np.logaddexp(0.0, z) - y * z))) + 0.5 / (c * len(y)) * float(
            params[:-1] @ params[:-1]
        )
        gradient_z = w * (p - y)
        gradient = np.append(x.T @ gradient_z + params[:-1] / (c * len(y)), free_intercept * gradient_z.sum())
        return value, gradient

    bounds = []
    for name in features:
        sign = SIGNS.get(name, 1)
        bounds.append((0.0, None) if sign > 0 else (None, 0.0) if sign < 0 else (None, None))
    bounds.append((None, None))  # intercept
    result = minimize(loss, np.zeros(len(columns) + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    if not result.success:
        log.warning("pair model fit did not converge: %s", result.message)
    if held:
        return PairModel(
            features=(*held.features, *features),
            weights=(*held.weights, *(float(v) for v in result.x[:-1])),
            intercept=held.intercept,
            link_threshold=held.link_threshold,
        )
    return PairModel(
        features=tuple(features),
        weights=tuple(float(v) for v in result.x[:-1]),
        intercept=float(result.x[-1]),
        link_threshold=0.5,
    )


def curvature_of(model: PairModel, corpora: Sequence[PreparedCorpus]) -> Curvature:
    """The Hessian, at ``model``'s logistic weights and intercept, of the loss the fit
    minimises (each corpus's mean logistic loss, the corpora weighing the same), so a
    deployment can refit on its verdicts without the corpora (``newsflow.dedup.refit``)."""
    columns = [FEATURES.index(f) for f in model.features]
    at = np.append(model.weight_array, model.intercept)
    hessian = np.zeros((len(at), len(at)))
    for prepared in corpora:
        x = np.hstack([prepared.train_x[:, columns], np.ones((len(prepared.train_y), 1))])
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ at, -40.0, 40.0)))
        hessian += (x * (p * (1.0 - p))[:, None]).T @ x / len(corpora) / len(prepared.train_y)
    return Curvature(
        features=model.features,
        at=tuple(at.tolist()),
        hessian=tuple(tuple(row) for row in hessian.tolist()),
        corpora=len(corpora),
    )


def quick_stories(prepared: PreparedCorpus, model: PairModel, options: DedupOptions) -> dict[str, str]:
    """Stories from the cached candidate pairs (for choosing settings; the reported figures
    come from ``stories_through_dedup``, the pipeline's own path)."""
    columns = [FEATURES.index(f) for f in model.features]
    probabilities = model.probabilities(prepared.candidate_x[:, columns])
    ids = [s.id for s in prepared.signals]
    edges = [
        Edge(ids[i], ids[j], "same_story", float(p), ())
        for (i, j), p in zip(prepared.candidates, probabilities.tolist(), strict=True)
        if p >= options.edge_threshold
    ]
    languages = {s.id: s.language for s in prepared.signals}
    settings = replace(
        options,
        link_threshold=model.link_threshold,
        fragment_mean=model.fragment_mean,
        fragment_max=model.fragment_max,
    )
    groups = partition_under(settings, ids, edges, languages=languages)
    return {m: f"g{n}" for n, group in enumerate(groups) for m in group}


def stories_through_dedup(corpus: Corpus, options: DedupOptions) -> dict[str, str]:
    """Stories as ``newsflow cluster`` makes them: one batch through ``DedupState``."""
    report = ReadReport()
    signals = [to_signals(a, options, report) for a in corpus.articles]
    state = DedupState(options)
    state.add(signals)
    return {i: a.story_id for i, a in state.assignments([s.id for s in signals]).items()}
