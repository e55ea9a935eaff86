"""Story quality on the three dev corpora, through the offline path (``DedupState``).

Floors are the figures the shipped model measured (``bench/eval_stories.py``), rounded
down; the scorers are the shared ones. They are below the targets of the stories issue
(ECB+ F1 0.95, NeuS 0.85, SemEval same-language 0.80 at P 0.90): the closing note of
that issue says why. Shuffled input must meet the same floors, and the seed pair must
be one story of exactly two. No article text is copied into the repo.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.quality

FLOORS = {  # corpus: (F1, precision); SemEval on same-language pairs
    "ecbplus": (0.91, 0.97),
    "neus_dev": (0.66, 0.87),
    "semeval_dev": (0.71, 0.80),
}


@pytest.fixture(scope="module")
def corpora(shared_dir: Path) -> dict[str, Any]:
    from story_corpora import all_corpora

    return {c.name: c for c in all_corpora()}


@pytest.fixture(scope="module")
def runs(corpora: dict[str, Any]) -> dict[tuple[str, int | None], dict[str, str]]:
    """Stories of every corpus, in file order and shuffled (seed 7)."""
    from eval_stories import shuffled
    from newsflow.dedup import DedupOptions
    from storyfit import stories_through_dedup

    options = DedupOptions()
    return {
        (name, seed): stories_through_dedup(shuffled(corpus, seed), options)
        for name, corpus in corpora.items()
        for seed in (None, 7)
    }


@pytest.mark.parametrize("seed", [None, 7], ids=["file-order", "shuffled"])
@pytest.mark.parametrize("name", sorted(FLOORS))
def test_each_corpus_meets_its_floor(
    name: str, seed: int | None, corpora: dict[str, Any], runs: dict[tuple[str, int | None], dict[str, str]]
) -> None:
    from storyfit import evaluate

    corpus = corpora[name]
    scores = evaluate(corpus, runs[(name, seed)], "same" if corpus.pairs else None)
    f1_floor, precision_floor = FLOORS[name]
    print(f"{name} ({seed=}): P {scores.precision:.4f} R {scores.recall:.4f} F1 {scores.f1:.4f}")
    assert scores.precision >= precision_floor
    assert scores.f1 >= f1_floor


@pytest.mark.parametrize("seed", [None, 7], ids=["file-order", "shuffled"])
def test_seed_reports_form_one_story_of_their_own(
    seed: int | None, runs: dict[tuple[str, int | None], dict[str, str]]
) -> None:
    stories = runs[("ecbplus", seed)]
    seeds = sorted(i for i in stories if i.startswith("seed:"))
    assert len(seeds) == 2
    assert stories[seeds[0]] == stories[seeds[1]], "the two seed reports are in different stories"
    assert sorted(i for i, s in stories.items() if s == stories[seeds[0]]) == seeds


def test_shuffled_batch_gives_the_same_ecbplus_partition(
    runs: dict[tuple[str, int | None], dict[str, str]],
) -> None:
    # Story ids too: they derive from the representative, whatever the order of arrival.
    assert runs[("ecbplus", 7)] == runs[("ecbplus", None)]
