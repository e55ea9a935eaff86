"""A synthetic fixture news site: N feeds x M articles of varied, made-up text.

Written to a directory at run time and served with ``newsflow.devstack.demo_site``
(``{{BASE}}`` becomes the server's base URL), so benchmarks and end-to-end
tests poll, fetch and extract through the real HTTP path. The text is
generated from a fixed vocabulary with a seeded RNG: reproducible, distinct
enough per article that story clustering keeps them apart, and free of any
publisher's words.

Run it alone to look at a site: ``python bench/fixture_feeds.py OUT_DIR --feeds 3 --articles 4``.
"""

from __future__ import annotations

import argparse
import html
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsflow.timestamps import iso_z


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


PLACES = _words(
    "Aldermoor Valtria Kessington Norbridge Castellane Dunmere Oristan Velbourg Marrowgate Sennet "
    "Tallowby Quarrin Eastmarch Holloway Brightwater Ferncombe Larkspur Ostrava Pellham Rivenshaw"
)
PEOPLE = _words(
    "Amara Okafor|Tomasz Lindqvist|Helena Marchetti|Rafael Dumont|Ingrid Solberg|Kofi Mensah|"
    "Mei Takahashi|Jonas Albrecht|Priya Raman|Lucia Fernandes|Owen Gallagher|Sofia Petrova|"
    "Dmitri Volkov|Nadia Haddad|Elliot Brandt|Yusuf Demir|Clara Whitfield|Mateo Rojas",
    "|",
)
TOPICS = {
    "transport": _words("tram line depot timetable commuters fares signal corridor ridership route freight"),
    "energy": _words("turbine grid tariff reactor pipeline storage battery substation outage capacity"),
    "health": _words("clinic vaccine ward staffing waiting list pharmacy outbreak trial screening nurses"),
    "housing": _words("tenants rent zoning developer planning permit estate mortgage construction council"),
    "sport": _words("league striker coach season stadium transfer final referee penalty championship"),
    "climate": _words("flooding drought emissions rainfall heatwave reservoir coastline levee wildfire"),
    "economy": _words("inflation exports factory wages budget deficit tariffs investors bond growth"),
    "science": _words("laboratory telescope genome experiment probe particle fossil sample satellite"),
    "schools": _words("pupils curriculum exam teachers funding campus enrolment tuition classroom"),
    "courts": _words("verdict appeal judge jury testimony prosecutor sentence hearing defendant"),
}
VERBS = _words(
    "announced approved rejected delayed expanded criticised defended unveiled postponed "
    "funded questioned confirmed reviewed suspended launched completed"
)
CONNECTIVES = ("Meanwhile,", "However,", "Earlier this week,", "According to officials,", "In response,")


@dataclass(frozen=True, slots=True)
class FixtureArticle:
    feed: str
    path: str  # site-relative, e.g. "feed-003/2026/11/22/a-0007.html"
    title: str
    summary: str
    published: datetime

    def url(self, base: str) -> str:
        return f"{base.rstrip('/')}/{self.path}"


@dataclass(frozen=True, slots=True)
class FixtureFeed:
    name: str
    outlet: str
    host: str  # the loopback address this feed is registered under
    articles: tuple[FixtureArticle, ...]

    @property
    def feed_path(self) -> str:
        return f"{self.name}/feed.xml"

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}/{self.feed_path}"


def _sentence(rng: random.Random, topic: str, place: str) -> str:
    words = TOPICS[topic]
    person = rng.choice(PEOPLE)
    a, b, c = rng.sample(words, 3)
    number = rng.randint(2, 950)
    templates = (
        f"{person} said the {a} plan for {place} would affect {number} households and the {b} budget.",
        f"Officials in {place} {rng.choice(VERBS)} the {a} proposal after a review of the {b} and {c}.",
        f"The {a} in {place} was {rng.choice(VERBS)} on {rng.choice(['Monday', 'Tuesday', 'Friday'])}, "
        f"{person} told reporters, citing {number} complaints about the {b}.",
        f"{rng.choice(CONNECTIVES)} residents of {place} questioned whether the {b} could cope with the {c}.",
        f"A report on the {a} found {number} cases where the {b} fell short, {person} said.",
    )
    return rng.choice(templates)


def _article_html(title: str, published: datetime, author: str, outlet: str, paragraphs: list[str]) -> str:
    body = "\n".join(f"      <p>{html.escape(p)}</p>" for p in paragraphs)
    iso = iso_z(published)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{html.escape(title)} | {html.escape(outlet)}</title>
  <meta property="og:title" content="{html.escape(title)}">
  <meta property="og:site_name" content="{html.escape(outlet)}">
  <meta name="author" content="{html.escape(author)}">
  <meta property="article:published_time" content="{iso}">
</head>
<body>
  <header><nav><a href="/">Home</a> <a href="/world/">World</a></nav></header>
  <main>
    <article>
      <h1>{html.escape(title)}</h1>
      <p class="byline">By {html.escape(author)}, {published:%d %B %Y}</p>
{body}
    </article>
  </main>
  <footer><p>&copy; {html.escape(outlet)} (synthetic newsflow fixture)</p></footer>
</body>
</html>
"""


def _item_xml(article: FixtureArticle) -> str:
    pub = article.published.strftime("%a, %d %b %Y %H:%M:%S +0000")
    return (
        "  <item>\n"
        f"    <title>{html.escape(article.title)}</title>\n"
        f"    <link>{{{{BASE}}}}/{article.path}?utm_source=rss</link>\n"
        f'    <guid isPermaLink="false">{article.path}</guid>\n'
        f"    <pubDate>{pub}</pubDate>\n"
        f"    <description>{html.escape(article.summary)}</description>\n"
        "  </item>\n"
    )


def _feed_xml(name: str, outlet: str, items: list[FixtureArticle]) -> str:
    body = "".join(_item_xml(a) for a in items)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0">\n<channel>\n'
        f"  <title>{html.escape(outlet)}</title>\n  <link>{{{{BASE}}}}/{name}/</link>\n"
        f"  <description>Synthetic feed {name} (newsflow fixture)</description>\n"
        f"  <language>en</language>\n{body}</channel>\n</rss>\n"
    )


def write_article(
    root: Path,
    feed: str,
    number: int,
    *,
    outlet: str,
    rng: random.Random,
    published: datetime,
) -> FixtureArticle:
    """One synthetic article page under ``root``; the caller adds it to a feed."""
    topic = rng.choice(sorted(TOPICS))
    place = rng.choice(PLACES)
    a, b = rng.sample(TOPICS[topic], 2)
    title = f"{place} {rng.choice(VERBS)} {a} {b} plan ({feed} #{number})"
    paragraphs = [" ".join(_sentence(rng, topic, place) for _ in range(rng.randint(3, 5))) for _ in range(6)]
    summary = paragraphs[0][:240]
    path = f"{feed}/{published:%Y/%m/%d}/a-{number:04d}.html"
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        _article_html(title, published, rng.choice(PEOPLE), outlet, paragraphs), encoding="utf-8"
    )
    return FixtureArticle(feed=feed, path=path, title=title, summary=summary, published=published)


def write_feed(root: Path, name: str, outlet: str, articles: list[FixtureArticle]) -> None:
    target = root / name / "feed.xml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(_feed_xml(name, outlet, articles), encoding="utf-8")


def add_item(feed_xml: Path, article: FixtureArticle) -> None:
    """Put a new item at the top of an existing RSS file (what a publisher does)."""
    text = feed_xml.read_text(encoding="utf-8")
    marker = "<language>en</language>\n"
    if marker not in text:
        raise ValueError(f"{feed_xml} has no '<language>en</language>' line to insert an item after")
    feed_xml.write_text(text.replace(marker, marker + _item_xml(article), 1), encoding="utf-8")


def generate_site(
    root: Path,
    *,
    feeds: int,
    articles_per_feed: int,
    hosts: int = 1,
    seed: int = 20261122,
    prefix: str = "feed",
    now: datetime | None = None,
) -> list[FixtureFeed]:
    """Write ``feeds`` RSS feeds with ``articles_per_feed`` pages each, spread over ``hosts`` addresses."""
    if feeds < 1 or articles_per_feed < 0 or not 1 <= hosts <= 250:
        raise ValueError("need feeds >= 1, articles_per_feed >= 0 and 1 <= hosts <= 250")
    rng = random.Random(seed)
    now = now or datetime.now(UTC).replace(microsecond=0)
    root.mkdir(parents=True, exist_ok=True)
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    if not (root / "index.html").exists():
        (root / "index.html").write_text(
            "<html><body>newsflow fixture site</body></html>\n", encoding="utf-8"
        )
    made: list[FixtureFeed] = []
    for f in range(feeds):
        name = f"{prefix}-{f:03d}"
        outlet = f"{rng.choice(PLACES)} {rng.choice(['Times', 'Post', 'Chronicle', 'Gazette', 'Ledger'])} {f}"
        items = [
            write_article(root, name, n, outlet=outlet, rng=rng, published=now - timedelta(minutes=7 * n + f))
            for n in range(articles_per_feed)
        ]
        write_feed(root, name, outlet, items)
        made.append(
            FixtureFeed(name=name, outlet=outlet, host=f"127.0.0.{1 + f % hosts}", articles=tuple(items))
        )
    return made


_CANONICAL = re.compile(rb"""rel=(["']?)canonical\b""", re.IGNORECASE)


def saved_pages_site(
    root: Path,
    pages: list[tuple[str, bytes]],
    *,
    feeds: int,
    hosts: int = 1,
    copies: int = 1,
    prefix: str = "page",
    now: datetime | None = None,
) -> list[FixtureFeed]:
    """Serve saved real pages (``(id, html)``) through RSS feeds, like ``generate_site`` does made-up ones.

    Each page is written ``copies`` times under distinct paths, and the copies lose their
    ``rel=canonical`` link (a syndicated copy is a new article at a new URL); the articles are
    dealt round-robin over ``feeds`` feeds.
    The pages' bytes are served as saved; the feed item carries only a neutral title.
    """
    if feeds < 1 or copies < 1 or not 1 <= hosts <= 250:
        raise ValueError("need feeds >= 1, copies >= 1 and 1 <= hosts <= 250")
    now = now or datetime.now(UTC).replace(microsecond=0)
    root.mkdir(parents=True, exist_ok=True)
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    items: list[list[FixtureArticle]] = [[] for _ in range(feeds)]
    for n, (page_id, html_bytes) in enumerate(p for _ in range(copies) for p in pages):
        feed = f"{prefix}-{n % feeds:03d}"
        published = now - timedelta(minutes=n)
        path = f"{feed}/{published:%Y/%m/%d}/{page_id[:16]}-{n:05d}.html"
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        # A copy names no canonical URL of its own, or every copy would fold into the original.
        target.write_bytes(html_bytes if n < len(pages) else _CANONICAL.sub(rb"rel=\1x-copy-of", html_bytes))
        title = f"Saved page {page_id[:12]} ({feed} #{n})"
        items[n % feeds].append(
            FixtureArticle(feed=feed, path=path, title=title, summary="", published=published)
        )
    made: list[FixtureFeed] = []
    for f, articles in enumerate(items):
        name, outlet = f"{prefix}-{f:03d}", f"Saved pages {f}"
        write_feed(root, name, outlet, articles)
        made.append(
            FixtureFeed(name=name, outlet=outlet, host=f"127.0.0.{1 + f % hosts}", articles=tuple(articles))
        )
    return made


def registry_yaml(feeds: list[FixtureFeed], port: int, poll_interval: str = "5m") -> str:
    """A feed registry (seeds/feeds.yaml schema) for these feeds served on ``port``."""
    lines = ["feeds:"]
    for feed in feeds:
        lines += [
            f"  - name: {feed.name}",
            f"    outlet: {feed.outlet}",
            f"    url: {feed.url(port)}",
            "    language: en",
            f"    poll_interval: {poll_interval}",
            "    tags: [fixture]",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--feeds", type=int, default=3)
    parser.add_argument("--articles", type=int, default=4)
    parser.add_argument("--hosts", type=int, default=1)
    args = parser.parse_args()
    made = generate_site(args.out, feeds=args.feeds, articles_per_feed=args.articles, hosts=args.hosts)
    print(f"wrote {len(made)} feeds, {sum(len(f.articles) for f in made)} articles under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
