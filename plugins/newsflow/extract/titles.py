"""Which of a page's titles is the headline, and what of it is the site's name.

A page states its title up to five times: the JSON-LD ``headline``, ``og:title``,
``twitter:title``, the ``<h1>`` and ``<title>``. The rule, in that order, takes the first
one present, after two cleanings that mean the same on any site:

1. entities decoded and whitespace collapsed (``textnorm``);
2. site affixes removed: a segment split off by a separator (``|``, `` - ``, `` – ``,
   `` — ``, ``·``, ``»``, ``｜``, ``：``, ``ㅣ``) goes when it names the site (``og:site_name``,
   the JSON-LD publisher, the host name), and the tail after a separator goes when another
   of the page's titles is exactly the part before it (``<title>`` "Zinsen steigen | Sport |
   Daily" next to an ``og:title`` "Zinsen steigen"). A colon is never cut: it joins a
   kicker to its headline.

Why this order: JSON-LD is what publishers keep for search engines as the article's
headline; ``og:title`` and ``twitter:title`` are often rewritten for sharing, the ``h1``
may carry a kicker or be split across elements, and ``<title>`` carries SEO suffixes.
Measured on fundus_ml (``bench/eval_extract.py``), where publishers disagree about which
variant is "the" headline, this order matched the checked titles more often than any
other order or than picking the ``h1`` closest to the structured titles.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from newsflow.extract.textnorm import clean_text

_SEPARATOR = re.compile(r"\s+[|·•»–—-]\s+|\s*[|｜ㅣ：]\s*|\s+::\s+")
_KEY = re.compile(r"\W+")
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


def choose_title(sources: TitleSources) -> str | None:
    """The headline by the rule in the module docstring; None when the page states no title."""
    cleaned = [t for raw in sources.ordered() if (t := clean_text(raw))]
    for index, title in enumerate(cleaned):
        others = cleaned[:index] + cleaned[index + 1 :]
        headline = strip_site_affixes(title, sources.sites, others).strip()
        if headline:
            return headline
    return None
