"""The story dev corpora in ../shared/eval/clustering, read into one shape.

ECB+ (with the two seed reports added), NeuS dev and SemEval dev. Texts stay in
../shared: this module reads them at run time and nothing is copied into the repo.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from newsflow.dedup.batch import InputArticle

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CLUSTERING = SHARED / "eval" / "clustering"


@dataclass(frozen=True, slots=True)
class LabelledPair:
    a: str
    b: str
    same: bool  # SemEval Overall <= 1.5; pairs rated >= 3.0 are different stories
    languages: tuple[str, str]


@dataclass(frozen=True, slots=True)
class Corpus:
    """Articles with either gold stories (B-cubed) or rated pairs (pair F1)."""

    name: str
    articles: tuple[InputArticle, ...]
    gold: dict[str, str] = field(default_factory=dict)  # article id -> gold story
    pairs: tuple[LabelledPair, ...] = ()
    files: tuple[Path, ...] = ()

    @property
    def metric(self) -> str:
        return "pair" if self.pairs else "bcubed"

    def digest(self) -> str:
        """SHA-256 of the corpus files, so a fitted model names exactly what it was fitted on."""
        h = hashlib.sha256()
        for path in self.files:
            h.update(path.name.encode())
            h.update(path.read_bytes())
        return h.hexdigest()


def _lines(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def ecbplus(with_seeds: bool = True) -> Corpus:
    """ECB+ articles (English, no dates; two events per topic) and the two seed reports."""
    path = CLUSTERING / "ecbplus.jsonl"
    articles, gold = [], {}
    for row in _lines(path):
        doc_id = str(row["doc_id"])
        url = row.get("url")
        articles.append(
            InputArticle(id=doc_id, text=_text(row["text"]), url=url if isinstance(url, str) else None)
        )
        gold[doc_id] = str(row["event_cluster"])
    files = [path]
    if with_seeds:
        for seed in sorted((SHARED / "seeds").glob("*.txt")):
            articles.append(InputArticle(id=f"seed:{seed.stem}", text=seed.read_text(encoding="utf-8")))
            gold[f"seed:{seed.stem}"] = "seed"
            files.append(seed)
    return Corpus("ecbplus", tuple(articles), gold=gold, files=tuple(files))


def neus_dev() -> Corpus:
    """NeuS dev: ledes of AllSides stories, each told by three outlets (no dates)."""
    path = CLUSTERING / "neus_dev.jsonl"
    articles, gold = [], {}
    for row in _lines(path):
        doc_id = str(row["id"])
        articles.append(InputArticle(id=doc_id, text=_text(row["text"]), title=_text(row["title"])))
        gold[doc_id] = str(row["gold"])
    return Corpus("neus_dev", tuple(articles), gold=gold, files=(path,))


def semeval_dev() -> Corpus:
    """SemEval-2022 Task 8 dev: articles in 10 languages and rated pairs (middle ratings dropped)."""
    path = CLUSTERING / "semeval_dev.jsonl"
    pairs_path = CLUSTERING / "semeval_dev_pairs.jsonl"
    articles = []
    for row in _lines(path):
        url = row.get("url")
        articles.append(
            InputArticle(
                id=str(row["id"]),
                text=_text(row["text"]),
                title=_text(row.get("title")),
                url=url if isinstance(url, str) else None,
                language=_text(row.get("language")) or None,
            )
        )
    pairs = []
    for row in _lines(pairs_path):
        overall = float(str(row["overall"]))
        if 1.5 < overall < 3.0:
            continue
        pairs.append(
            LabelledPair(
                a=str(row["a"]),
                b=str(row["b"]),
                same=overall <= 1.5,
                languages=(str(row.get("lang1", "?")), str(row.get("lang2", "?"))),
            )
        )
    return Corpus("semeval_dev", tuple(articles), pairs=tuple(pairs), files=(path, pairs_path))


def all_corpora() -> list[Corpus]:
    return [ecbplus(), neus_dev(), semeval_dev()]
