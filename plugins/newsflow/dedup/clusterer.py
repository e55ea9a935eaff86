"""Stories as a pure function of the held graph: average-link over scored edges.

Single-link (join whenever any pair is close) chains errors: one mistaken edge fuses two
events. Here a linked group is re-partitioned by average link: two groups merge only while
the *mean* same-story probability over all their cross pairs stays above
``link_threshold`` (a missing pair counts as 0). Duplicates (same URL, exact, near copy)
are fused first; small fragments left over may then join a larger group they are
strongly *and* broadly linked to (see ``partition``). Given the articles' languages, this
is done per language, and a strong cross-language edge then joins two whole groups of
different languages. The result depends only on the set of articles and edges, never on
the order they arrived in.

Representative rule: earliest published (undated last), then longest text, then smallest
id. ``story_id`` is ``"s-" + representative id``, so reruns and other processing orders
give the same ids; when a story gains an earlier article its id changes and the change is
reported as a merge event by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Set
from datetime import datetime
from typing import TypeVar

from newsflow.dedup.average_link import Apart, AverageLink
from newsflow.dedup.corrections import NO_CORRECTIONS, Corrections
from newsflow.dedup.options import DedupOptions
from newsflow.dedup.signals import ArticleSignals
from newsflow.dedup.similarity import Edge
from newsflow.dedup.unscored import PairScorer, Unscored
from newsflow.records import Relation, StoryAssignment

_DUPLICATE_KINDS: tuple[Relation, ...] = ("same_url", "exact", "near_duplicate")
_FAR_FUTURE = datetime.max.isoformat()
_Node = TypeVar("_Node", str, int)  # union-find over article ids, or over group positions


def order_key(sig: ArticleSignals) -> tuple[str, int, str]:
    published = sig.published_at()
    return (published.isoformat() if published else _FAR_FUTURE, -sig.length, sig.id)


def _find(parent: dict[_Node, _Node], x: _Node) -> _Node:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _regrouped(groups: list[list[str]], parent: dict[int, int]) -> list[list[str]]:
    """``groups`` joined along ``parent`` (a union-find over their positions)."""
    joined: dict[int, list[str]] = {}
    for n, group in enumerate(groups):
        joined.setdefault(_find(parent, n), []).extend(group)
    return list(joined.values())


def _other(edge: Edge, member: str) -> str:
    return edge.b if edge.a == member else edge.a


def _fuse_duplicates(members: list[str], edges: list[Edge], apart: Apart) -> dict[str, str]:
    """Copies fused, never two articles an analyst said are apart: then the copies are taken
    strongest first, so which of them stays apart does not depend on the order of the edges."""
    parent = {m: m for m in members}
    copies = [e for e in edges if e.kind in _DUPLICATE_KINDS]
    if apart:
        copies.sort(key=lambda e: (_DUPLICATE_KINDS.index(e.kind), -e.score, min(e.a, e.b), max(e.a, e.b)))
    held = {m: [m] for m in members} if apart else {}
    for a, b in ((e.a, e.b) for e in copies):
        ra, rb = _find(parent, a), _find(parent, b)
        if ra == rb:
            continue
        keep, gone = min(ra, rb), max(ra, rb)
        if apart:
            if apart.blocked(held[keep], held[gone]):
                continue
            held[keep].extend(held.pop(gone))
        parent[gone] = keep
    return parent


def joining_edge(options: DedupOptions) -> Callable[[Edge], bool]:
    """Whether an edge can put its two articles in one story under ``options``.

    Average link merges two groups only when the mean over their cross pairs reaches the
    link threshold, which needs one cross pair at least that high; a fragment joins a group
    only through a pair reaching ``fragment_max``; copies are fused whatever their score.
    """
    floor = min(options.link, options.join_max) if options.fragment_size > 0 else options.link
    return lambda e: e.kind in _DUPLICATE_KINDS or e.score >= floor


def partition(
    ids: Iterable[str],
    edges: Iterable[Edge],
    link_threshold: float,
    *,
    fragment_size: int = 0,
    fragment_mean: float = 1.0,
    fragment_max: float = 1.0,
    languages: Mapping[str, str | None] | None = None,
    corrections: Corrections = NO_CORRECTIONS,
    scorer: PairScorer | None = None,
    cut: Set[str] = frozenset(),
    budget: int = 0,
    unlinked: Iterable[tuple[str, str]] = (),
) -> list[list[str]]:
    """Groups of ``ids`` (each sorted): duplicate fusion, average link, then fragment attachment.

    Average link over a big story is dragged down by pairs that never linked (a short
    report carries only part of the story's names and numbers), which strands small
    fragments. A group of at most ``fragment_size`` articles therefore joins the larger
    group it is most linked to when its mean pair probability to it is at least
    ``fragment_mean`` *and* one pair reaches ``fragment_max``: a strong link, corroborated.

    With ``languages`` (each article's, None when unknown), each language's stories are
    decided on their own edges first, and a model edge between two known languages then
    joins whole groups (see ``_join_across_languages``).

    ``corrections`` (an analyst's, ``dedup.corrections``): no step puts an apart pair in one
    group, and last the groups of each together pair are joined, so "these two are one story"
    joins the two stories the model made around them (see ``_join_together``).

    ``scorer`` scores pairs that have no edge, where average link depends on them and a ``cut``
    look-up may have left them out, up to ``budget`` of them (``dedup.unscored``); without it
    an unscored pair counts as 0. ``unlinked``: pairs it scored before and found no edge for,
    which count as scored (at 0) and are not asked again.
    """
    members = sorted(set(ids))
    member_set = set(members)
    corrections = corrections.among(member_set) if corrections else corrections
    apart = Apart(corrections)
    # An analyst's edge is the ``corrections``' together pair, fused below: not a score to average.
    edge_list = [
        e for e in edges if e.a in member_set and e.b in member_set and e.a != e.b and e.kind != "analyst"
    ]
    across: list[Edge] = []
    if languages is not None:
        within: list[Edge] = []
        for e in edge_list:
            (across if e.kind == "same_story" and _across(e, languages) else within).append(e)
        edge_list = within
    parent = _fuse_duplicates(members, edge_list, apart)
    groups: dict[str, list[str]] = {}
    for m in members:
        groups.setdefault(_find(parent, m), []).append(m)
    sums, scored, seen = _between_groups(parent, edge_list, unlinked, member_set)
    sizes = {g: len(v) for g, v in groups.items()}
    unscored = None
    if scorer is not None and budget > 0:
        unscored = Unscored(scorer, seen, cut=cut, budget=budget, languages=languages)
    AverageLink(groups, sizes, link_threshold, apart, unscored).merge(sums, scored)
    merged_groups = list(groups.values())
    if fragment_size > 0:
        merged_groups = _attach_fragments(
            merged_groups, edge_list, fragment_size, fragment_mean, fragment_max, apart=apart
        )
    if across and languages is not None:
        merged_groups = _join_across_languages(merged_groups, across, languages, link_threshold, apart)
    if corrections.together:
        merged_groups = _join_together(merged_groups, corrections, apart)
    return sorted(sorted(g) for g in merged_groups)


def _join_together(groups: list[list[str]], corrections: Corrections, apart: Apart) -> list[list[str]]:
    """Join the groups of each pair an analyst said is one story, pair by pair in id order,
    unless that would put an apart pair in one group.

    Joined after the partition rather than fused before it: fused first, the pair would be a
    group whose average link to the rest of either story falls below the threshold (half its
    pairs never linked), and the analyst who joined two stories would get three.
    """
    group_of = {m: n for n, g in enumerate(groups) for m in g}
    parent = {n: n for n in range(len(groups))}
    held = [list(g) for g in groups]
    for a in sorted(corrections.together):
        for b in sorted(corrections.together[a]):
            ra, rb = _find(parent, group_of[a]), _find(parent, group_of[b])
            if a > b or ra == rb or apart.blocked(held[ra], held[rb]):
                continue
            keep, gone = min(ra, rb), max(ra, rb)
            parent[gone] = keep
            held[keep] += held[gone]
    return _regrouped(groups, parent)


def _across(edge: Edge, languages: Mapping[str, str | None]) -> bool:
    a, b = languages.get(edge.a), languages.get(edge.b)
    return a is not None and b is not None and a != b


def _join_across_languages(
    groups: list[list[str]],
    edges: list[Edge],
    languages: Mapping[str, str | None],
    link_threshold: float,
    apart: Apart,
) -> list[list[str]]:
    """Join same-language groups along cross-language edges reaching ``link_threshold``,
    strongest first, never two groups of one language into one story.

    Two reports in one language are then in one story only if their own language's edges
    put them there: a link through a translation can neither join nor split them, so
    cross-language linking costs same-language precision nothing (``docs/stories.md``).
    """
    group_of = {m: n for n, g in enumerate(groups) for m in g}
    parent = {n: n for n in range(len(groups))}
    spoken = [{languages[m] for m in g if languages.get(m) is not None} for g in groups]
    held = [list(g) for g in groups] if apart else []
    for e in sorted(edges, key=lambda e: (-e.score, min(e.a, e.b), max(e.a, e.b))):
        if e.score < link_threshold:
            break
        ra, rb = _find(parent, group_of[e.a]), _find(parent, group_of[e.b])
        if ra == rb or spoken[ra] & spoken[rb]:
            continue
        keep, gone = min(ra, rb), max(ra, rb)
        if apart:
            if apart.blocked(held[keep], held[gone]):
                continue
            held[keep] += held[gone]
        parent[gone] = keep
        spoken[keep] |= spoken[gone]
    return _regrouped(groups, parent)


def _each_pair_once(edges: Iterable[Edge], seen: set[tuple[str, str]]) -> Iterator[Edge]:
    """The first edge of each pair not in ``seen`` (a pair may be scored from both of its
    articles), adding the pair (the smaller id first) to ``seen``."""
    for e in edges:
        pair = (min(e.a, e.b), max(e.a, e.b))
        if pair not in seen:
            seen.add(pair)
            yield e


def _between_groups(
    parent: dict[str, str], edges: list[Edge], unlinked: Iterable[tuple[str, str]], members: Set[str]
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], int], set[tuple[str, str]]]:
    """Per pair of groups (sparse: only linked groups appear), the sum of their cross pairs'
    scores and how many cross pairs were scored (with an edge, or found ``unlinked``); and
    every scored pair, the smaller id first."""
    sums: dict[tuple[str, str], float] = {}
    scored: dict[tuple[str, str], int] = {}
    seen: set[tuple[str, str]] = set()
    for e in _each_pair_once(edges, seen):
        ga, gb = _find(parent, e.a), _find(parent, e.b)
        if ga != gb:
            key = (min(ga, gb), max(ga, gb))
            sums[key] = sums.get(key, 0.0) + e.score
            scored[key] = scored.get(key, 0) + 1
    for a, b in unlinked:
        pair = (min(a, b), max(a, b))
        if pair in seen or a not in members or b not in members:
            continue
        seen.add(pair)
        ga, gb = _find(parent, a), _find(parent, b)
        if ga != gb:
            key = (min(ga, gb), max(ga, gb))
            scored[key] = scored.get(key, 0) + 1
    return sums, scored, seen


def partition_under(
    options: DedupOptions,
    ids: Iterable[str],
    edges: Iterable[Edge],
    *,
    languages: Mapping[str, str | None] | None = None,
    corrections: Corrections = NO_CORRECTIONS,
    scorer: PairScorer | None = None,
    cut: Set[str] = frozenset(),
    budget: int = 0,
    unlinked: Iterable[tuple[str, str]] = (),
) -> list[list[str]]:
    """``partition`` with the link threshold and fragment rule in force under ``options``."""
    return partition(
        ids,
        edges,
        options.link,
        fragment_size=options.fragment_size,
        fragment_mean=options.join_mean,
        fragment_max=options.join_max,
        languages=languages,
        corrections=corrections,
        scorer=scorer,
        cut=cut,
        budget=budget,
        unlinked=unlinked,
    )


def _attach_fragments(
    groups: list[list[str]],
    edges: list[Edge],
    max_size: int,
    min_mean: float,
    min_max: float,
    *,
    apart: Apart,
) -> list[list[str]]:
    """Join small groups to larger ones they are strongly linked to (see ``partition``)."""
    group_of = {m: n for n, g in enumerate(groups) for m in g}
    # Per (fragment, target) group pair: sum and max of pair scores, each pair once.
    sums: dict[tuple[int, int], float] = {}
    peaks: dict[tuple[int, int], float] = {}
    for e in _each_pair_once(edges, set()):
        ga, gb = group_of[e.a], group_of[e.b]
        if ga == gb:
            continue
        for small, large in ((ga, gb), (gb, ga)):
            if len(groups[small]) <= max_size and len(groups[large]) > len(groups[small]):
                sums[(small, large)] = sums.get((small, large), 0.0) + e.score
                peaks[(small, large)] = max(peaks.get((small, large), 0.0), e.score)
    best: dict[int, tuple[float, str, int]] = {}
    for (small, large), total in sums.items():
        mean = total / (len(groups[small]) * len(groups[large]))
        if mean < min_mean or peaks[(small, large)] < min_max:
            continue
        # Highest mean wins; ties go to the group with the smallest member id (order-free).
        key = (-mean, min(groups[large]), large)
        if small not in best or key < best[small]:
            best[small] = key
    parent = {n: n for n in range(len(groups))}
    held = {n: list(g) for n, g in enumerate(groups)} if apart else {}  # by union root
    for small, (_, _, large) in sorted(best.items()):
        if apart:
            root = _find(parent, large)
            if apart.blocked(held[small], held[root]):
                continue
            held[root] += held.pop(small)
        parent[small] = large  # always to a strictly larger group, so no cycles
    return _regrouped(groups, parent)


def assign(
    group: list[str], signals: Mapping[str, ArticleSignals], edges: Iterable[Edge]
) -> list[StoryAssignment]:
    """Relation, duplicate_of, score and why of each member of one story."""
    ordered = sorted((signals[i] for i in group), key=order_key)
    rank = {s.id: n for n, s in enumerate(ordered)}
    story_id = f"s-{ordered[0].id}"
    by_member: dict[str, list[Edge]] = {i: [] for i in group}
    for e in edges:
        if e.a in rank and e.b in rank:
            by_member[e.a].append(e)
            by_member[e.b].append(e)
    out = []
    for sig in ordered:
        if rank[sig.id] == 0:
            out.append(StoryAssignment(sig.id, story_id, "original", None, 1.0, ("representative",)))
            continue
        mine = by_member[sig.id]
        relation: Relation = "same_story"
        duplicate_of: str | None = None
        best: Edge | None = None
        for kind in _DUPLICATE_KINDS:
            earlier = [e for e in mine if e.kind == kind and rank[_other(e, sig.id)] < rank[sig.id]]
            if earlier:
                best = min(earlier, key=lambda e: rank[_other(e, sig.id)])
                relation = kind
                duplicate_of = _other(best, sig.id)
                break
        if best is None and mine:
            best = max(mine, key=lambda e: (e.score, min(e.a, e.b), max(e.a, e.b)))
        score = best.score if best else 0.0
        why = best.why if best else ("average_link",)
        out.append(StoryAssignment(sig.id, story_id, relation, duplicate_of, score, why))
    return out
