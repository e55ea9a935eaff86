"""Throughput of dedup, how it grows with held articles, and its cost against extraction.

    .venv/bin/python bench/bench_dedup.py [--sizes 10000,100000] [--batch 1000] [--es [--spaced] [--steps]]

Without ``--es`` it measures the offline path (``newsflow cluster``): the default runs 10k
articles (about 2 minutes on one busy core); ``--sizes 10000,100000`` adds the 100k run.
With ``--es`` it measures the pipeline's path: each batch loads its neighbourhood from a real
Elasticsearch index (the local node is started if NEWSFLOW_ES_URL is unset), is clustered with
it, indexed, and reconciled, exactly as ``StoryIndex.add`` does on ``ElasticStories``. Only the dedup
steps are timed (neighbourhood look-up, clustering, story rewrites, the reconcile pass);
the bulk indexing of the articles themselves is reported separately. The first pass and
the reconcile are shown apart, with how many reconciles ran in full: batches that follow
each other within the visibility margin (the default, back-to-back) make every reconcile
run in full, as concurrent mapped batches do; ``--spaced`` waits the margin out between
batches (untimed), as hourly runs that do not overlap would, so the reconcile takes its
cheap path. ``--steps`` also prints where each size's dedup time went, step by step
(``dedup_steps.py``). Each ``--es`` row also gives the CPU time the bench process itself spent
(the worker's share; the node's work is in its own process) against extraction's CPU time,
and the time Python's garbage collector took during the dedup phases.

Articles are synthesised at run time from ECB+ texts in ../shared (never written to the
repo): each takes most sentences of one source article, a sentence of another, and
fresh numbers, and gets a publish time spread so about 1,000 articles fall on each day.
For each size the articles are fed in batches of ``--batch`` (signals + candidates +
decision + re-partition, the whole path) and the per-article cost is printed at several
held-collection sizes; a flat or slowly rising column is the sub-linear growth we want.
The baseline is newsflow's extraction stage (``extract_article``) on the 181 AEB pages,
timed in the same run (bare ``trafilatura.extract`` beside it): over all pages at the start,
in each wait between ``--spaced`` batches, and over all pages again at the end. Each table
divides by the baseline as timed up to that point. The offline table also gives the memory the
held state takes: the growth of resident memory since its first row, per article added.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import random
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.dedup_es_path import run_es
from bench.dedup_steps import timing_steps
from newsflow.dedup import DedupOptions, DedupState
from newsflow.dedup.batch import InputArticle, ReadReport, to_signals

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
_DIGITS = re.compile(r"\d+")


def synthesize(n: int, seed: int = 0, per_day: int = 1000) -> Iterator[InputArticle]:
    """Stories of 1-12 articles published within a day of each other, about ``per_day`` a day.

    Each story draws its articles' sentences from the reports of one ECB+ event and
    rewrites every number consistently within the story, so the same kind of event recurs
    on other days with other numbers. Those are hard negatives, but the pair model links
    many of them (the same sentences, other numbers), so stories chain from day to day and
    grow with the run, as a long-running story does: the Elasticsearch path, which loads
    each candidate's whole story, grows with them.
    """
    rows = [json.loads(x) for x in (SHARED / "eval/clustering/ecbplus.jsonl").open(encoding="utf-8")]
    events: dict[str, list[list[str]]] = {}
    for r in rows:
        events.setdefault(r["event_cluster"], []).append([s for s in r["text"].split("\n") if s.strip()])
    clusters = sorted(events)
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    made = 0
    story = 0
    while made < n:
        reports = events[clusters[rng.randrange(len(clusters))]]
        numbers: dict[str, str] = {}

        def renumber(m: re.Match[str], numbers: dict[str, str] = numbers) -> str:
            return numbers.setdefault(m.group(0), str(rng.randrange(10 ** len(m.group(0)))))

        center = start + timedelta(days=made / per_day)
        for _ in range(min(n - made, rng.randint(1, 12))):
            base = reports[rng.randrange(len(reports))]
            keep = [s for s in base if rng.random() < 0.8] or base[:1]
            keep.insert(rng.randrange(len(keep) + 1), rng.choice(reports[rng.randrange(len(reports))]))
            text = "\n".join(_DIGITS.sub(renumber, s) for s in keep)
            published = center + timedelta(seconds=rng.randrange(86_400))
            # English, as extraction states it (``extract.pagelang``, inside the timed baseline): the
            # story stage reuses the stated language, so detecting it here would count it twice.
            yield InputArticle(id=f"syn-{made}", text=text, published=published.isoformat(), language="en")
            made += 1
        story += 1


class ExtractionClock:
    """Newsflow's extraction stage (``extract_article``) timed on the AEB pages, the baseline.

    ``measure(n)`` extracts the next ``n`` pages (round the 181), so the baseline can be
    taken in the same conditions as the dedup work: once over all pages at the start, and
    with ``--es --spaced`` again in each wait between batches, when the node is as busy as
    during the batches. Bare ``trafilatura.extract`` is timed beside it, interleaved.
    """

    def __init__(self) -> None:
        truth = json.loads((SHARED / "eval/extraction/aeb/ground-truth.json").read_text(encoding="utf-8"))
        html_dir = SHARED / "eval/extraction/aeb/html"
        self.pages = [
            (truth[i]["url"], gzip.decompress((html_dir / f"{i}.html.gz").read_bytes()))
            for i in sorted(truth)
        ]
        self.spent = [0.0, 0.0]  # newsflow, bare
        self.cpu_spent = 0.0  # newsflow's, in CPU seconds of this process
        self.count = 0
        self._next = 0
        self._time(*self.pages[0])  # warm imports and caches outside the figures

    def _time(self, url: str, html: bytes) -> tuple[float, float, float]:
        import trafilatura

        from newsflow.errors import ExtractionError
        from newsflow.extract import extract_article

        took = [0.0, 0.0]
        cpu = 0.0
        for which in (0, 1) if self.count % 2 else (1, 0):
            start, start_cpu = time.perf_counter(), time.process_time()
            if which == 0:
                with contextlib.suppress(ExtractionError):
                    extract_article(html, url=url)
                cpu = time.process_time() - start_cpu
            else:
                trafilatura.extract(html, url=url)
            took[which] = time.perf_counter() - start
        return took[0], took[1], cpu

    def measure(self, n: int) -> None:
        for _ in range(n):
            ours, bare, cpu = self._time(*self.pages[self._next])
            self.spent[0] += ours
            self.spent[1] += bare
            self.cpu_spent += cpu
            self.count += 1
            self._next = (self._next + 1) % len(self.pages)

    @property
    def ms_per_page(self) -> float:
        return self.spent[0] * 1000 / self.count

    @property
    def cpu_ms_per_page(self) -> float:
        return self.cpu_spent * 1000 / self.count

    @property
    def bare_ms_per_page(self) -> float:
        return self.spent[1] * 1000 / self.count


def run(size: int, batch: int, checkpoints: set[int]) -> tuple[float, list[tuple[int, float, float | None]]]:
    """(seconds, rows of held articles, ms per article in the window, KB of memory per article
    held since the first row)."""
    options = DedupOptions()
    state = DedupState(options)
    report = ReadReport()
    pending: list[InputArticle] = []
    rows: list[tuple[int, float, float | None]] = []
    held, window_time, window_n = 0, 0.0, 0
    first: tuple[int, float] | None = None  # (held, resident MB) at the first row
    total_start = time.perf_counter()
    for article in synthesize(size):
        pending.append(article)
        if len(pending) < batch:
            continue
        start = time.perf_counter()
        state.add([to_signals(a, options, report) for a in pending])
        window_time += time.perf_counter() - start
        window_n += len(pending)
        held += len(pending)
        pending = []
        if held in checkpoints:
            resident = _resident_mb()
            per_article = None
            if first is None:
                first = (held, resident) if resident is not None else None
            elif resident is not None:
                per_article = (resident - first[1]) * 1024 / (held - first[0])
            rows.append((held, window_time * 1000 / window_n, per_article))
            window_time, window_n = 0.0, 0
    if pending:
        state.add([to_signals(a, options, report) for a in pending])
    return time.perf_counter() - total_start, rows


def _resident_mb() -> float | None:
    """This process's resident memory (Linux ``/proc``; elsewhere not measured)."""
    try:
        with Path("/proc/self/status").open() as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000", help="comma-separated article counts")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--es", action="store_true", help="the pipeline's path, with Elasticsearch look-ups")
    parser.add_argument(
        "--spaced", action="store_true", help="with --es: batches do not overlap in time (hourly runs)"
    )
    parser.add_argument("--steps", action="store_true", help="with --es: time each step of the path")
    parser.add_argument(
        "--stories-out",
        type=Path,
        help="with --es: write each article's story here (-SIZE is added to the name), to compare two "
        "settings with ../shared/eval/score_clustering.py --gold A --gold-key story_id --pred B",
    )
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"../shared not found at {SHARED}; the benchmark needs its ECB+ and AEB files", file=sys.stderr)
        return 2
    clock = ExtractionClock()
    clock.measure(len(clock.pages))
    print(
        f"baseline: newsflow extract_article {clock.ms_per_page:.1f} ms/page "
        f"({1000 / clock.ms_per_page:.1f} pages/s); "
        f"bare trafilatura.extract {clock.bare_ms_per_page:.1f} ms/page"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        checkpoints = {c for c in (1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000) if c <= size}
        if args.es:
            with timing_steps() if args.steps else contextlib.nullcontext() as steps:
                dedup_s, index_s, es_rows, stories, collections = run_es(
                    list(synthesize(size)), args.batch, checkpoints, spaced=args.spaced, clock=clock
                )
            extraction_ms = clock.ms_per_page
            if args.stories_out:
                out = args.stories_out.with_name(f"{args.stories_out.stem}-{size}{args.stories_out.suffix}")
                with out.open("w", encoding="utf-8") as fh:
                    fh.writelines(
                        json.dumps({"id": i, "story_id": stories[i]}) + "\n" for i in sorted(stories)
                    )
                print(f"stories written to {out}")
            mode = "spaced" if args.spaced else "back-to-back"
            print(
                f"\n{size} articles with Elasticsearch look-ups ({mode} "
                f"batches of {args.batch}): dedup {dedup_s:.1f} s ({size / dedup_s:.0f} articles/s), "
                f"indexing {index_s:.1f} s"
            )
            print(
                f"{'held':>8} {'first pass':>11} {'reconcile':>10} {'full':>5} {'total':>9} "
                f"{'vs extraction':>14} {'neighbourhood':>14} {'worker CPU':>11} {'vs extraction CPU':>18}"
            )
            for held, first_ms, second_ms, full, hood, cpu_ms in es_rows:
                total = first_ms + second_ms
                print(
                    f"{held:>8} {first_ms:>11.2f} {second_ms:>10.2f} {full:>5} {total:>9.2f} "
                    f"{total / extraction_ms:>13.0%} {hood:>14.0f} {cpu_ms:>11.2f} "
                    f"{cpu_ms / clock.cpu_ms_per_page:>17.0%}"
                )
            young, middle, full = collections.counts
            print(
                f"Python's garbage collector during dedup: {collections.seconds:.1f} s "
                f"({collections.seconds * 1000 / size:.2f} ms/article); {full} full collections, "
                f"{young} and {middle} of the younger generations"
            )
            if steps is not None:
                print(f"\nwhere the {size} articles' dedup went (both passes):", *steps.table(size), sep="\n")
            continue
        elapsed, rows = run(size, args.batch, checkpoints)
        extraction_ms = clock.ms_per_page
        print(f"\n{size} articles in {elapsed:.1f} s: {size / elapsed:.0f} articles/s overall")
        print(f"{'held':>8} {'ms/article':>11} {'vs extraction':>14} {'KB an article held':>19}")
        for held, ms, kb in rows:
            memory = f"{kb:>19.1f}" if kb is not None else f"{'-':>19}"
            print(f"{held:>8} {ms:>11.2f} {ms / extraction_ms:>13.0%} {memory}")
    # Measured again so a reader sees how far the machine drifted during the run.
    clock.measure(len(clock.pages))
    print(
        f"\nbaseline over all {clock.count} pages timed in this run: newsflow extract_article "
        f"{clock.ms_per_page:.1f} ms/page ({clock.cpu_ms_per_page:.1f} ms of CPU), "
        f"bare trafilatura.extract {clock.bare_ms_per_page:.1f} ms/page"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
