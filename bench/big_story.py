"""Does one event told many times stay one story? The dev corpora cannot say.

    .venv/bin/python bench/big_story.py [--events 5] [--sizes 30,100,300] [--batch 100] [--max-candidates N]

ECB+ events hold about 11 reports, NeuS stories 3 and SemEval pairs 2, but a breaking story
is told hundreds of times in a day. For each of the ECB+ events with the most reports, this
holds every other ECB+ report (the news around it, the same kind of event among it), then
writes ``N`` reports of the event, each most sentences of one of its real reports and a
sentence of another (numbers kept: one event), and feeds them to the in-memory
``StoryIndex`` in batches of ``--batch``, as ``newsflow cluster`` would. It prints how many
stories the event's reports end in, the largest one's share of them, B-cubed recall and
precision over the event's reports (precision: how much of their stories is other news), and
how many same-story edges each of them has. The first row of each event feeds its real
reports instead: what the model makes of the event's variety before anything is repeated.
Texts come from ../shared at run time and are never written to the repo.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import sys
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from newsflow.dedup import DedupOptions, DedupState
from newsflow.dedup.batch import InputArticle, ReadReport, to_signals

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
_DAY = datetime(2024, 1, 1, tzinfo=UTC)


def ecb_events() -> dict[str, list[list[str]]]:
    """Every ECB+ event's reports, each report as its sentences."""
    events: dict[str, list[list[str]]] = {}
    with (SHARED / "eval/clustering/ecbplus.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            sentences = [s for s in row["text"].split("\n") if s.strip()]
            events.setdefault(row["event_cluster"], []).append(sentences)
    return events


def largest(events: dict[str, list[list[str]]], count: int) -> list[str]:
    """The ``count`` events with the most reports."""
    return sorted(events, key=lambda e: (-len(events[e]), e))[:count]


def retold(name: str, reports: list[list[str]], n: int, seed: int = 0) -> list[InputArticle]:
    """``n`` reports of one event within a day (see the module docstring)."""
    rng = random.Random(f"{name}/{n}/{seed}")
    out = []
    for k in range(n):
        base = reports[rng.randrange(len(reports))]
        # Its own opening line kept (an outlet's headline and lede are its own), then most of
        # the rest, with a sentence of another report somewhere after the opening.
        keep = base[:1] + [s for s in base[1:] if rng.random() < 0.7]
        keep.insert(1 + rng.randrange(len(keep)), rng.choice(reports[rng.randrange(len(reports))]))
        published = (_DAY + timedelta(seconds=rng.randrange(86_400))).isoformat()
        out.append(InputArticle(id=f"{name}-{k}", text="\n".join(keep), published=published, language="en"))
    return out


def as_reports(name: str, reports: list[list[str]]) -> list[InputArticle]:
    """Reports as they are, undated as ECB+ is."""
    return [
        InputArticle(id=f"{name}-real-{k}", text="\n".join(r), language="en") for k, r in enumerate(reports)
    ]


def neus_ledes() -> list[InputArticle]:
    """NeuS dev's reports (title and lede), undated: political news of the same years."""
    with (SHARED / "eval/clustering/neus_dev.jsonl").open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    return [
        InputArticle(id=f"neus-{r['id']}", text=f"{r['title']}\n{r['text']}", language="en") for r in rows
    ]


def held(around: list[InputArticle], options: DedupOptions) -> bytes:
    """A ``DedupState`` holding ``around``, pickled, so every row starts from the same one."""
    state = DedupState(options)
    report = ReadReport()
    for start in range(0, len(around), 1000):
        state.add([to_signals(a, options, report) for a in around[start : start + 1000]])
    return pickle.dumps(state)


@dataclass(frozen=True)
class Outcome:
    stories: int  # stories the event's reports end in
    largest: float  # the largest one's share of the event's reports
    recall: float  # B-cubed, over the event's reports
    precision: float  # B-cubed, over the event's reports: their stories' share of the event
    degree: float  # same-story edges an event report has


def stories_of(
    event: list[InputArticle], around: list[InputArticle], start: bytes, options: DedupOptions, batch: int
) -> Outcome:
    """The event's reports fed in batches to ``start`` (``held(around)``)."""
    state: DedupState = pickle.loads(start)  # made by ``held`` in this process
    report = ReadReport()
    for first in range(0, len(event), batch):
        state.add([to_signals(a, options, report) for a in event[first : first + batch]])
    ids = {a.id for a in event}
    assigned = state.assignments([*ids, *(a.id for a in around)])
    story_of = {i: assigned[i].story_id for i in ids}
    sizes = Counter(story_of.values())
    whole = Counter(a.story_id for a in assigned.values())
    n = len(ids)
    edges = sum(1 for e in state.source.edges_of(ids) if e.kind == "same_story" and e.a in ids and e.b in ids)
    return Outcome(
        stories=len(sizes),
        largest=max(sizes.values()) / n,
        recall=sum(s * s for s in sizes.values()) / (n * n),
        precision=sum(sizes[story_of[i]] / whole[story_of[i]] for i in ids) / n,
        degree=2 * edges / n,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=5)
    parser.add_argument("--sizes", default="30,100,300")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument(
        "--max-candidates", type=int, default=None, help="override DedupOptions.max_candidates"
    )
    parser.add_argument(
        "--with-neus", action="store_true", help="hold NeuS dev's 8,277 ledes too, as a larger index would"
    )
    parser.add_argument(
        "--edge-threshold", type=float, default=None, help="override DedupOptions.edge_threshold"
    )
    args = parser.parse_args()
    options = DedupOptions()
    if args.max_candidates is not None:
        options = replace(options, max_candidates=args.max_candidates)
    if args.edge_threshold is not None:
        options = replace(options, edge_threshold=args.edge_threshold)
    sizes = [int(s) for s in args.sizes.split(",")]
    events = ecb_events()
    background = neus_ledes() if args.with_neus else []
    print(
        f"max_candidates {options.max_candidates}, edge_threshold {options.edge_threshold}, "
        f"batch {args.batch}"
    )
    columns = ("stories", "largest", "recall", "precision", "edges")
    print(f"{'event':<10} {'reports':>8} " + " ".join(f"{c:>{max(7, len(c))}}" for c in columns))
    totals: dict[str, list[Outcome]] = {}
    for name in largest(events, args.events):
        around = [a for other in sorted(events) if other != name for a in as_reports(other, events[other])]
        around += background
        start = held(around, options)
        rows = [("real", as_reports(name, events[name]))] + [
            (str(n), retold(name, events[name], n)) for n in sizes
        ]
        for label, articles in rows:
            got = stories_of(articles, around, start, options, args.batch)
            totals.setdefault(label, []).append(got)
            shown = f"{len(articles)}" + (" real" if label == "real" else "")
            print(
                f"{name:<10} {shown:>8} {got.stories:>7} {got.largest:>7.2f} {got.recall:>7.3f} "
                f"{got.precision:>9.3f} {got.degree:>7.1f}"
            )
    print("mean over the events (reports: stories, B-cubed recall, precision):")
    for label, outcomes in totals.items():
        mean = {
            f: sum(getattr(o, f) for o in outcomes) / len(outcomes)
            for f in ("stories", "recall", "precision")
        }
        print(f"  {label:>5}: {mean['stories']:.1f}, {mean['recall']:.3f}, {mean['precision']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
