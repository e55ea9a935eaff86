"""Article metadata from JSON-LD and meta tags: what the page says about itself.

Structured data (JSON-LD) is what publishers maintain for search engines, so it
is trusted first; Open Graph / article / Dublin Core meta tags next. Meta names are
matched without their punctuation (``article:published:time`` is
``article:published_time``). Every string is cleaned by ``textnorm``. The page's own
UTC offset, read from whichever of its timestamps states one, is kept so that a
naive time elsewhere on the page is placed in the page's zone, not silently in UTC.
Visible dates, the URL and the feed are weighed later (``published``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

from newsflow.extract.authors import authors_of
from newsflow.extract.dates import parse_datetime, to_utc_iso
from newsflow.extract.textnorm import clean_text
from newsflow.extract.titles import TitleSources, choose_title

logger = logging.getLogger(__name__)

# Where a date found in the page's markup came from; the other sources are weighed in ``published``.
MarkupDateSource = Literal["json-ld", "meta", "none"]

ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "reviewnewsarticle",
        "backgroundnewsarticle",
        "blogposting",
        "liveblogposting",
        "socialmediaposting",
        "techarticle",
        "scholarlyarticle",
        "report",
        "claimreview",
        "webpage",
        "creativework",
    }
)
_KEY = re.compile(r"[^a-z0-9]+")


def _key(name: str) -> str:
    """A meta name without case or punctuation: ``article:published:time`` == ``article:published_time``."""
    return _KEY.sub("", name.lower())


_PUBLISHED_META = tuple(
    _key(k)
    for k in (
        "article:published_time",
        "og:published_time",
        "article:published",
        "datepublished",
        "pubdate",
        "publishdate",
        "date",
        "dc.date",
        "dc.date.issued",
        "dcterms.created",
        "dcterms.issued",
        "dcterms.date",
        "parsely-pub-date",
        "sailthru.date",
        "cxenseparse:recs:publishtime",
        "originalpublicationdate",
    )
)
_MODIFIED_META = tuple(
    _key(k)
    for k in ("article:modified_time", "og:updated_time", "datemodified", "last-modified", "dcterms.modified")
)
_AUTHOR_META = tuple(
    _key(k) for k in ("author", "article:author", "parsely-author", "sailthru.author", "dc.creator", "byl")
)


@dataclass(frozen=True, slots=True)
class PageMetadata:
    """What the page says about itself; every field optional."""

    title: str | None = None
    authors: tuple[str, ...] = ()
    published: datetime | None = None  # as written: aware, or naive when the page gave no offset
    published_source: MarkupDateSource = "none"
    modified: str | None = None
    utc_offset: timedelta | None = None  # the page's own offset, from any of its timestamps
    language: str | None = None  # the page's own tag as written (``en-gb``), not yet normalised
    canonical_url: str | None = None
    site_name: str | None = None
    description: str | None = None
    top_image: str | None = None
    tags: tuple[str, ...] = ()
    accessible_for_free: bool | None = None
    headings: tuple[str, ...] = ()  # every title-like string, to drop a repeated headline from the body
    article_marked: bool = False  # JSON-LD article type, og:type=article or an <article> element


def _iter_objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for key in ("@graph", "mainEntity", "mainEntityOfPage"):
            if key in node:
                yield from _iter_objects(node[key])
    elif isinstance(node, list):
        for item in node:
            yield from _iter_objects(item)


def _types(obj: dict[str, Any]) -> set[str]:
    value = obj.get("@type")
    values = value if isinstance(value, list) else [value]
    return {v.lower() for v in values if isinstance(v, str)}


def json_ld_objects(tree: Any) -> list[dict[str, Any]]:
    """Every JSON-LD object on the page, article-typed ones first; broken blocks are skipped."""
    objects: list[dict[str, Any]] = []
    for script in tree.iterfind('.//script[@type="application/ld+json"]'):
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            objects.extend(_iter_objects(json.loads(raw, strict=False)))
        except (ValueError, RecursionError):  # a hostile page can nest past the parser's depth
            logger.debug("skipping unparseable JSON-LD block (%d chars)", len(raw))
            continue
    return sorted(objects, key=lambda o: 0 if _types(o) & ARTICLE_TYPES - {"webpage", "creativework"} else 1)


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = value.get("name")
        return [name] if isinstance(name, str) else []
    if isinstance(value, list):
        return [n for item in value for n in _names(item)]
    return []


def _first_url(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return _first_url(value.get("url") or value.get("contentUrl"))
    if isinstance(value, list):
        for item in value:
            found = _first_url(item)
            if found:
                return found
    return None


def _meta_map(tree: Any) -> dict[str, str]:
    """Name/property/itemprop without case or punctuation (``_key``) -> first non-empty content."""
    found: dict[str, str] = {}
    for meta in tree.iterfind(".//meta"):
        content = clean_text(meta.get("content"))
        if content is None:
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = meta.get(attr)
            if key:
                found.setdefault(_key(key), content)
    for time_el in tree.iterfind(".//time[@itemprop]"):
        key = _key(time_el.get("itemprop") or "")
        value = clean_text(time_el.get("datetime"))
        if key and value:
            found.setdefault(key, value)
    return found


def _canonical(tree: Any, url: str | None) -> str | None:
    for link in tree.iterfind(".//link[@rel]"):
        if "canonical" in (link.get("rel") or "").lower().split():
            href = clean_text(link.get("href"))
            if href:
                try:
                    return urljoin(url, href) if url else href
                except ValueError:  # "http://[::1/x": not a URL this page can name
                    logger.debug("ignoring rel=canonical %r: not a URL", href)
    return None


def _text_of(tree: Any, path: str) -> str | None:
    element = tree.find(path)
    return clean_text(element.text_content()) if element is not None else None


def _dates(
    ld: dict[str, Any], meta: dict[str, str]
) -> tuple[datetime | None, MarkupDateSource, str | None, timedelta | None]:
    """(published as written, its source, modified in UTC, the page's UTC offset)."""
    ld_published = parse_datetime(clean_text(ld.get("datePublished")) or clean_text(ld.get("dateCreated")))
    meta_published = next((v for k in _PUBLISHED_META if (v := parse_datetime(meta.get(k)))), None)
    ld_modified = parse_datetime(clean_text(ld.get("dateModified")))
    meta_modified = next((v for k in _MODIFIED_META if (v := parse_datetime(meta.get(k)))), None)
    stated = (ld_published, meta_published, ld_modified, meta_modified)
    offset = next((v.utcoffset() for v in stated if v is not None and v.tzinfo is not None), None)
    modified = ld_modified or meta_modified
    modified_utc = to_utc_iso(modified, offset) if modified is not None else None
    if ld_published is not None:
        return ld_published, "json-ld", modified_utc, offset
    if meta_published is not None:
        return meta_published, "meta", modified_utc, offset
    return None, "none", modified_utc, offset


def _language(tree: Any, ld: dict[str, Any], meta: dict[str, str]) -> str | None:
    html_el = tree if tree.tag == "html" else tree.find(".//html")
    return (
        clean_text(ld.get("inLanguage"))
        or (clean_text(html_el.get("lang")) if html_el is not None else None)
        or meta.get("contentlanguage")
        or meta.get("oglocale")
    )


def _sites(ld: dict[str, Any], meta: dict[str, str], url: str | None) -> tuple[str, ...]:
    """Names the site goes by: its declared names and its host (``www.golem.de``: ``golem.de``, ``golem``)."""
    names = [meta.get("ogsitename"), meta.get("applicationname"), *_names(ld.get("publisher"))]
    host = (urlsplit(url).hostname or "") if url else ""
    host = host.removeprefix("www.")
    if host:
        names += [host, host.split(".")[0]]
    return tuple(dict.fromkeys(n for n in names if n))


def _free(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"false", "true"}:
        return value.strip().lower() == "true"
    return None


def read_metadata(tree: Any, url: str | None) -> PageMetadata:
    """Metadata of a parsed page (an ``lxml.html`` tree, not modified)."""
    ld = next((o for o in json_ld_objects(tree) if _types(o) & ARTICLE_TYPES), {})
    strict_types = ARTICLE_TYPES - {"webpage", "creativework"}
    meta = _meta_map(tree)
    published, source, modified, offset = _dates(ld, meta)
    titles = TitleSources(
        json_ld=clean_text(ld.get("headline")),
        og=meta.get("ogtitle"),
        twitter=meta.get("twittertitle"),
        h1=_text_of(tree, ".//h1"),
        title_tag=_text_of(tree, ".//title"),
        sites=_sites(ld, meta, url),
    )
    title = choose_title(titles)
    headings = tuple(dict.fromkeys(t for t in (title, *titles.ordered()) if t))

    authors = authors_of(
        _names(ld.get("author")) or _names(ld.get("creator")),
        [meta[k] for k in _AUTHOR_META if k in meta],
        tree,
    )

    site_name = meta.get("ogsitename") or next(iter(_names(ld.get("publisher"))), None)
    image = meta.get("ogimage") or meta.get("twitterimage") or _first_url(ld.get("image"))
    if image and url:
        image = urljoin(url, image)
    tags = dict.fromkeys(
        tag
        for el in tree.iterfind('.//meta[@property="article:tag"]')
        if (tag := clean_text(el.get("content")))
    )
    return PageMetadata(
        title=title,
        authors=authors,
        published=published,
        published_source=source,
        modified=modified,
        utc_offset=offset,
        language=_language(tree, ld, meta),
        canonical_url=_canonical(tree, url),
        site_name=clean_text(site_name),
        description=meta.get("description") or meta.get("ogdescription") or clean_text(ld.get("description")),
        top_image=image,
        tags=tuple(tags),
        accessible_for_free=_free(ld.get("isAccessibleForFree")),
        headings=headings,
        article_marked=bool(_types(ld) & strict_types)
        or (meta.get("ogtype") or "").lower() == "article"
        or tree.find(".//article") is not None,
    )
