"""Article metadata from JSON-LD, meta tags and the URL, with where each date came from.

Structured data (JSON-LD) is what publishers maintain for search engines, so it
is trusted first; Open Graph / article / Dublin Core meta tags next; the URL and
the visible text last. Every published date carries its source so consumers can
tell a publisher's timestamp from a guess.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urljoin

from newsflow.extract.dates import date_from_text, date_from_url, parse_date

logger = logging.getLogger(__name__)

# Where a date found in the page's markup came from; the feed, text and first-seen come later.
MarkupDateSource = Literal["json-ld", "meta", "url", "none"]

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
        "webpage",
        "creativework",
    }
)
_PUBLISHED_META = (
    "article:published_time",
    "og:published_time",
    "article:published",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.created",
    "dcterms.date",
    "parsely-pub-date",
    "sailthru.date",
    "cxenseparse:recs:publishtime",
    "originalpublicationdate",
)
_MODIFIED_META = (
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "last-modified",
    "dcterms.modified",
)
_AUTHOR_META = ("author", "article:author", "parsely-author", "sailthru.author", "dc.creator", "byl")
_SPACE = re.compile(r"\s+")
_BY_PREFIX = re.compile(r"^\s*by\s+", re.I)


@dataclass(frozen=True, slots=True)
class PageMetadata:
    """What the page says about itself; every field optional."""

    title: str | None = None
    authors: tuple[str, ...] = ()
    published: str | None = None
    published_source: MarkupDateSource = "none"
    modified: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    description: str | None = None
    top_image: str | None = None
    tags: tuple[str, ...] = ()
    accessible_for_free: bool | None = None
    headings: tuple[str, ...] = ()  # every title-like string, to drop a repeated headline from the body
    article_marked: bool = False  # JSON-LD article type, og:type=article or an <article> element


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = _SPACE.sub(" ", value).strip()
    return text or None


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
            data = json.loads(raw, strict=False)
        except ValueError:
            logger.debug("skipping unparseable JSON-LD block (%d chars)", len(raw))
            continue
        objects.extend(_iter_objects(data))
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
    """Lower-cased name/property/itemprop -> first non-empty content."""
    found: dict[str, str] = {}
    for meta in tree.iterfind(".//meta"):
        content = _clean(meta.get("content"))
        if content is None:
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = meta.get(attr)
            if key:
                found.setdefault(key.strip().lower(), content)
    for time_el in tree.iterfind(".//time[@itemprop]"):
        key = (time_el.get("itemprop") or "").lower()
        value = _clean(time_el.get("datetime"))
        if key and value:
            found.setdefault(key, value)
    return found


def _split_authors(raw: list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in raw:
        text = _clean(item)
        if not text or text.startswith(("http://", "https://")) or len(text) > 100:
            continue
        text = _BY_PREFIX.sub("", text)
        for part in re.split(r"\s*(?:,|\band\b|&|;)\s*", text):
            name = part.strip()
            if name and name.lower() not in {n.lower() for n in seen}:
                seen[name] = None
    return tuple(seen)


def _canonical(tree: Any, url: str | None) -> str | None:
    for link in tree.iterfind(".//link[@rel]"):
        if "canonical" in (link.get("rel") or "").lower().split():
            href = _clean(link.get("href"))
            if href:
                return urljoin(url, href) if url else href
    return None


def _title_tag(tree: Any) -> str | None:
    title = tree.find(".//title")
    return _clean(title.text_content()) if title is not None else None


def _h1(tree: Any) -> str | None:
    h1 = tree.find(".//h1")
    return _clean(h1.text_content()) if h1 is not None else None


def _dates(
    ld: dict[str, Any], meta: dict[str, str], url: str | None
) -> tuple[str | None, MarkupDateSource, str | None]:
    """(published, its source, modified) from JSON-LD, then meta tags, then the URL."""
    published: str | None = None
    source: MarkupDateSource = "none"
    if (value := parse_date(_clean(ld.get("datePublished")) or _clean(ld.get("dateCreated")))) is not None:
        published, source = value, "json-ld"
    elif (value := next((v for k in _PUBLISHED_META if (v := parse_date(meta.get(k)))), None)) is not None:
        published, source = value, "meta"
    elif (value := date_from_url(url)) is not None:
        published, source = value, "url"
    modified = parse_date(_clean(ld.get("dateModified")))
    if modified is None:
        modified = next((v for k in _MODIFIED_META if (v := parse_date(meta.get(k)))), None)
    return published, source, modified


def _language(tree: Any, ld: dict[str, Any], meta: dict[str, str]) -> str | None:
    html_el = tree if tree.tag == "html" else tree.find(".//html")
    language = (
        _clean(ld.get("inLanguage"))
        or (_clean(html_el.get("lang")) if html_el is not None else None)
        or meta.get("content-language")
        or meta.get("og:locale")
    )
    if not language:
        return None
    return language.replace("_", "-").split(",")[0].strip().lower() or None


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
    published, source, modified = _dates(ld, meta, url)

    headline = _clean(ld.get("headline"))
    og_title = meta.get("og:title") or meta.get("twitter:title")
    h1, title_tag = _h1(tree), _title_tag(tree)
    headings = tuple(t for t in (headline, og_title, h1, title_tag) if t)

    authors = _split_authors(_names(ld.get("author")) or _names(ld.get("creator")))
    if not authors:
        authors = _split_authors([meta[k] for k in _AUTHOR_META if k in meta])

    site_name = meta.get("og:site_name") or next(iter(_names(ld.get("publisher"))), None)
    image = meta.get("og:image") or meta.get("twitter:image") or _first_url(ld.get("image"))
    if image and url:
        image = urljoin(url, image)
    tags = dict.fromkeys(
        tag for el in tree.iterfind('.//meta[@property="article:tag"]') if (tag := _clean(el.get("content")))
    )
    return PageMetadata(
        title=headings[0] if headings else None,
        authors=authors,
        published=published,
        published_source=source,
        modified=modified,
        language=_language(tree, ld, meta),
        canonical_url=_canonical(tree, url),
        site_name=_clean(site_name),
        description=meta.get("description") or meta.get("og:description") or _clean(ld.get("description")),
        top_image=image,
        tags=tuple(tags),
        accessible_for_free=_free(ld.get("isAccessibleForFree")),
        headings=headings,
        article_marked=bool(_types(ld) & strict_types)
        or (meta.get("og:type") or "").lower() == "article"
        or tree.find(".//article") is not None,
    )


_DATE_HINT = re.compile(r"date|time|publish|posted|dateline|byline", re.I)
_MAX_DATE_CANDIDATES = 12


def text_date(tree: Any) -> str | None:
    """A date written in the page where publishers show one: ``<time>`` and date/byline blocks.

    Only short elements are read (a date line, not the article), so a date quoted in
    the story is not mistaken for the publication date.
    """
    seen = 0
    for element in tree.iter("time", "span", "div", "p", "small", "li"):
        if element.tag != "time":
            marker = f"{element.get('class') or ''} {element.get('id') or ''}"
            if not _DATE_HINT.search(marker):
                continue
        text = element.text_content()
        if len(text) > 200:
            continue
        seen += 1
        value = parse_date(element.get("datetime")) or date_from_text(text)
        if value is not None:
            return value
        if seen >= _MAX_DATE_CANDIDATES:
            break
    return None
