"""Quality gates for extraction on both dev sets, measured as ``bench/eval_extract.py`` measures them.

AEB (181 mostly US pages, bodies only) and fundus_ml (179 pages from 35 countries outside the
English-speaking ones, with checked titles, authors and dates) stay in ../shared; the shared
scorers judge both. Floors are the figures newsflow measured, rounded down, so a change that
loses quality on either set fails here. Measured with default ExtractOptions:

    AEB        body F1 0.9757 (bare trafilatura.bare_extraction 0.9582)
    fundus_ml  body F1 0.9585 (bare 0.9459), title 0.9106, date 0.9832, authors 0.8400

The fundus_ml margin is the issue's target (+0.01; measured +0.0126). It rests on the lead
paragraph rule (``extract/lead.py``), where the two sets disagree: fundus_ml's checked bodies
keep a page's lead paragraph, AEB's leave it out. The rule improved 36 fundus_ml pages and
worsened none (0.9536 -> 0.9585); it worsened 5 AEB pages and improved none (0.9764 -> 0.9757),
so the AEB floor went down with it, still far above the issue's 0.965.
``ExtractOptions(keep_lead=False)`` gives AEB's convention back.
Authors were 0.7829 until 2026-12-07 (``extract/authors.py``): two bylines joined by the word
for "and" in the page's language ("und", "og", "et", ...) became two authors and initials after
a name ("(obe)") were dropped (0.8000: four pages gained; one lost, whose truth keeps "Le Figaro
et AFP" as one name); then the visible byline is read where the markup names nobody or only
an address, and "Autor"/"Von"/"Text" before a name goes as "By" did (0.8400: seven more).
Two fundus_ml truths are in NFD while newsflow stores NFC (``textnorm``), and the scorer's word tokens
split decomposed words; those two pages score about 0.5 for newsflow and 1.0 for bare trafilatura.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.eval_extract import Scores, evaluate

pytestmark = pytest.mark.quality

AEB_F1_FLOOR = 0.975
FUNDUS_F1_FLOOR = 0.958
FUNDUS_MARGIN_OVER_BARE = 0.01  # the gate: newsflow's body F1 minus bare's, on the same run
TITLE_FLOOR = 0.91
DATE_FLOOR = 0.98
AUTHORS_FLOOR = 0.84


@pytest.fixture(scope="module")
def scores(shared_dir: Path) -> dict[str, dict[str, Scores]]:
    workers = min(2, os.cpu_count() or 1)
    results = evaluate(("aeb",), ("newsflow",), workers=workers, shared=shared_dir)
    results |= evaluate(("fundus_ml",), ("newsflow", "bare"), workers=workers, shared=shared_dir)
    print(f"extraction quality: {results}")  # shown with -s / -rA, handy when a floor is moved
    return results


def test_aeb_body(scores: dict[str, dict[str, Scores]]) -> None:
    aeb = scores["aeb"]["newsflow"]
    assert aeb.pages == 181
    assert aeb.f1 >= AEB_F1_FLOOR, aeb


def test_fundus_body_beats_bare_trafilatura(scores: dict[str, dict[str, Scores]]) -> None:
    ours, bare = scores["fundus_ml"]["newsflow"], scores["fundus_ml"]["bare"]
    assert ours.pages == 179
    assert ours.f1 >= FUNDUS_F1_FLOOR, ours
    assert ours.f1 - bare.f1 >= FUNDUS_MARGIN_OVER_BARE, (ours, bare)


def test_fundus_metadata(scores: dict[str, dict[str, Scores]]) -> None:
    ours = scores["fundus_ml"]["newsflow"]
    assert ours.title is not None and ours.title >= TITLE_FLOOR, ours
    assert ours.date is not None and ours.date >= DATE_FLOOR, ours
    assert ours.authors is not None and ours.authors >= AUTHORS_FLOOR, ours
