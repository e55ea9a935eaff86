"""Which of a page's titles is the headline, and what of it is the site's name.

A page states its title up to five times: the JSON-LD ``headline``, ``og:title``,
``twitter:title``, the ``<h1>`` and ``<title>``. Each is cleaned the same way first:

1. entities decoded and whitespace collapsed (``textnorm``);
2. site affixes removed: a segment split off by a separator (``|``, `` - ``, `` – ``,
   `` — ``, ``·``, ``»``, ``｜``, ``：``, ``ㅣ``) goes when it names the site (``og:site_name``,
   the JSON-LD publisher, the host name), and the tail after a separator goes when another
   of the page's titles is exactly the part before it (``<title>`` "Zinsen steigen | Sport |
   Daily" next to an ``og:title`` "Zinsen steigen"). A colon is never cut here: whether it
   joins a kicker to its headline is decided below, between whole titles.

Then the rule takes the first title present in that order, except where the two structured
titles (JSON-LD ``headline`` and ``og:title``) disagree:

- when one is the other with a kicker in front ("Hafenausbau: Stadtrat genehmigt ..." and
  "Stadtrat genehmigt ..."), the one without: a kicker is a topic label over the headline;
- otherwise the one the page states fewer times across all five places. Templates copy the
  display headline into the ``h1``, ``<title>`` and the other meta fields by default; a
  title that differs from those copies was written by hand for its field, as the article's
  headline for search or sharing. Ties keep the order.

Why: JSON-LD is what publishers keep for search engines as the article's headline, and
``og:title`` the one they keep for sharing; both beat the ``h1`` (which may carry a kicker
or be split across elements) and ``<title>`` (SEO suffixes). On fundus_ml, where the two
disagree on 42 of 179 pages, JSON-LD and og:title each matched the checked title on 20
of them; the two rules above matched 163 of 179 titles against 154 for JSON-LD first
(``bench/eval_extract.py``; the kicker rule alone 157, the fewer-times rule alone 162).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from newsflow.extract.textnorm import clean_text

_SEPARATOR = re.compile(r"\s+[|·•»–—-]\s+|\s*[|｜ㅣ：]\s*|\s+::\s+")
_KEY = re.compile(r"\W+")
# what ends a kicker: a colon, or a spaced dash, bar or slash ("Topic: Headline", "Topic - Headline")
_KICKER_END = re.compile(r"\s*[:：]\s+|\s+[|/–—-]\s+")
_MIN_PARTIAL = 4  # shorter names must match whole: the host label "sz" must not eat "Szenario"


@dataclass(frozen=True, slots=True)
class TitleSources:
    """Every title the page states, raw; ``sites`` are names the site goes by."""

    json_ld: str | None = None
    og: str | None = None
    twitter: str | None = None
    h1: str | None = None
    title_tag: str | None = None
    sites: tuple[str, ...] = ()

    def ordered(self) -> tuple[str | None, ...]:
        return (self.json_ld, self.og, self.twitter, self.h1, self.title_tag)


def _key(text: str) -> str:
    return _KEY.sub("", text.lower())


def _is_site(segment: str, sites: frozenset[str]) -> bool:
    """``Golem.de`` names ``golem.de``, ``news`` names ``news.ORF.at``; ``Welt`` does not name ``junge Welt``:
    a part of a name counts only when it is long and most of the name, or where the name starts."""
    key = _key(segment)
    if len(key) < 2:
        return False
    if key in sites:
        return True
    return any(
        (len(key) >= _MIN_PARTIAL and (site.startswith(key) or (key in site and 2 * len(key) >= len(site))))
        or (len(site) >= _MIN_PARTIAL and key.startswith(site))
        for site in sites
    )


def strip_site_affixes(title: str, sites: Iterable[str], others: Iterable[str] = ()) -> str:
    """``title`` without leading/trailing segments that name the site or that other titles lack."""
    site_keys = frozenset(k for s in sites if (k := _key(s)))
    other_keys = frozenset(k for o in others if (k := _key(o)))
    cuts = list(_SEPARATOR.finditer(title))
    if not cuts:
        return title
    for cut in cuts:  # the shortest head that another title states on its own
        head = title[: cut.start()]
        if _key(head) in other_keys:
            return head
    while cuts and _is_site(title[cuts[-1].end() :], site_keys):
        title = title[: cuts[-1].start()]
        cuts.pop()
    while cuts and _is_site(title[: cuts[0].start()], site_keys):
        title = title[cuts[0].end() :]
        cuts = list(_SEPARATOR.finditer(title))
    return title


def _drops_kicker(longer: str, shorter: str) -> bool:
    """``longer`` is ``shorter`` with a kicker in front ("Parteitag: Chiesa ruft ..." / "Chiesa ruft ...")."""
    target = _key(shorter)
    return bool(target) and any(_key(longer[cut.end() :]) == target for cut in _KICKER_END.finditer(longer))


def _settle(structured: list[str], stated: list[str]) -> str:
    """Between two structured titles that disagree: the one without a kicker, else the one stated less.

    A kicker is a topic label over the headline, not part of it. Otherwise a title the page
    repeats (in its ``h1``, ``<title>`` or ``twitter:title``) is the template's copy of the
    display headline, while one stated only in its own field was written for it: the page's
    considered headline for search and sharing. Ties keep the source order.
    """
    first, second = structured
    if _drops_kicker(first, second):
        return second
    if _drops_kicker(second, first):
        return first
    keys = [_key(t) for t in stated]
    return min(structured, key=lambda title: keys.count(_key(title)))


def choose_title(sources: TitleSources) -> str | None:
    """The headline by the rule in the module docstring; None when the page states no title."""
    cleaned = [clean_text(raw) for raw in sources.ordered()]
    stripped: list[str | None] = []
    for index, title in enumerate(cleaned):
        others = [o for i, o in enumerate(cleaned) if o and i != index]
        stripped.append(strip_site_affixes(title, sources.sites, others).strip() or None if title else None)
    structured = [t for t in stripped[:2] if t]
    if len(structured) == 2 and _key(structured[0]) != _key(structured[1]):
        return _settle(structured, [t for t in stripped if t])
    return next((t for t in stripped if t), None)
