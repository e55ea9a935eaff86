"""Metadata from JSON-LD and meta tags, on small hand-written pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from lxml import html as lxml_html

from newsflow.extract.dates import to_utc_iso
from newsflow.extract.metadata import PageMetadata, read_metadata


def _meta(
    head: str, body: str = "<p>x</p>", url: str | None = "https://news.example.com/a/story"
) -> PageMetadata:
    tree = lxml_html.fromstring(f"<html><head>{head}</head><body>{body}</body></html>")
    return read_metadata(tree, url)


def test_json_ld_article_wins_over_meta_tags() -> None:
    meta = _meta(
        """<meta property="article:published_time" content="2020-01-01T00:00:00Z">
        <script type="application/ld+json">
        [{"@type": "BreadcrumbList"},
         {"@type": ["NewsArticle"], "headline": "Bridge reopens",
          "datePublished": "2021-02-03T04:05:06-05:00",
          "dateModified": "2021-02-04T00:00:00Z", "author": {"@type": "Person", "name": "Ann Lee"},
          "publisher": {"name": "Example News"}, "image": {"url": "https://img.example.com/1.jpg"},
          "inLanguage": "es-MX", "isAccessibleForFree": false}]
        </script>"""
    )
    assert meta.title == "Bridge reopens"
    assert meta.published_source == "json-ld"
    assert meta.published == datetime(2021, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=-5)))
    assert meta.utc_offset == timedelta(hours=-5)
    assert meta.modified == "2021-02-04T00:00:00Z"
    assert meta.authors == ("Ann Lee",)
    assert meta.site_name == "Example News"
    assert meta.top_image == "https://img.example.com/1.jpg"
    assert meta.language == "es-MX"  # as the page writes it; normalised with the text's verdict later
    assert meta.accessible_for_free is False


def test_broken_json_ld_is_skipped_and_meta_tags_used() -> None:
    meta = _meta(
        """<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>
        <meta property="og:title" content="Harbour news">
        <meta property="article:published_time" content="2022-07-08T09:10:11+02:00">
        <meta name="author" content="By Sam Roe, Kim Poe">
        <meta property="og:site_name" content="Harbour Daily">
        <meta property="og:image" content="/img/a.png">
        <meta property="og:locale" content="pt_BR">"""
    )
    assert meta.title == "Harbour news"
    assert meta.published_source == "meta"
    assert meta.published is not None and to_utc_iso(meta.published) == "2022-07-08T07:10:11Z"
    assert meta.authors == ("Sam Roe", "Kim Poe")
    assert meta.site_name == "Harbour Daily"
    assert meta.top_image == "https://news.example.com/img/a.png"
    assert meta.language == "pt_BR"
    assert meta.accessible_for_free is None


def test_json_ld_graph_is_searched() -> None:
    meta = _meta(
        """<script type="application/ld+json">{"@graph": [{"@type": "WebSite", "name": "S"},
        {"@type": "BlogPosting", "headline": "Graph post", "datePublished": "2019-05-06"}]}</script>"""
    )
    assert meta.title == "Graph post"
    assert meta.published_source == "json-ld"
    assert (
        meta.published is not None and to_utc_iso(meta.published) == "2019-05-06T12:00:00Z"
    )  # a day alone is taken at its middle


def test_meta_names_match_without_punctuation() -> None:
    meta = _meta('<meta property="article:published:time" content="2024-10-23T15:48:15+00:00">')
    assert (meta.published, meta.published_source) == (datetime(2024, 10, 23, 15, 48, 15, tzinfo=UTC), "meta")


def test_naive_markup_time_takes_the_offset_another_timestamp_states() -> None:
    meta = _meta(
        """<meta property="og:updated_time" content="2026-05-13T15:44:29+02:00">
        <script type="application/ld+json">{"@type": "ClaimReview", "datePublished": "2026-05-13 15:44",
         "itemReviewed": {"@type": "Claim", "datePublished": "2026-05-07"}}</script>"""
    )
    assert meta.published == datetime(2026, 5, 13, 15, 44)  # as written: naive
    assert meta.utc_offset == timedelta(hours=2)
    assert to_utc_iso(meta.published, meta.utc_offset) == "2026-05-13T13:44:00Z"
    assert meta.modified == "2026-05-13T13:44:29Z"


def test_markup_without_dates() -> None:
    meta = _meta("<title>T</title>", url="https://example.com/news/2018/11/09/some-story")
    assert (meta.published, meta.published_source, meta.utc_offset) == (None, "none", None)
    assert meta.title == "T"


def test_rel_canonical_resolved_against_page_url() -> None:
    meta = _meta('<link rel="canonical" href="/a/story?id=3">')
    assert meta.canonical_url == "https://news.example.com/a/story?id=3"
    assert _meta("<title>x</title>").canonical_url is None


def test_html_lang_and_title_fallbacks() -> None:
    tree = lxml_html.fromstring(
        '<html lang="de"><head><title>Seite | Verlag</title></head><body><h1>Schlagzeile</h1></body></html>'
    )
    meta = read_metadata(tree, None)
    assert meta.language == "de"
    assert meta.title == "Schlagzeile"
    assert meta.headings == ("Schlagzeile", "Seite | Verlag")


def test_entities_and_whitespace_are_cleaned_in_every_field() -> None:
    meta = _meta(
        """<script type="application/ld+json">{"@type": "NewsArticle",
         "headline": "&#039;This new  search box&#039; &amp;amp; more",
         "author": [{"name": "Jos&eacute;\u00a0Ruiz"}]}</script>
        <meta name="description" content="R&amp;D   spending &amp;quot;up&amp;quot;">"""
    )
    assert meta.title == "'This new search box' & more"
    assert meta.authors == ("José Ruiz",)
    assert meta.description == 'R&D spending "up"'


def test_bylines_joined_by_the_word_for_and_are_two_authors() -> None:
    """fundus_ml's pages join two bylines with "und", "og" and "and"; each is a name of its own."""
    for byline, authors in [
        ("Felix Schröder und Jörg Soldwisch", ("Felix Schröder", "Jörg Soldwisch")),
        (
            "Trine Juncher Jørgensen og Tôrtia Reimer-Johansen",
            ("Trine Juncher Jørgensen", "Tôrtia Reimer-Johansen"),
        ),
        ("By Ann Lee AND Bo Kim; Cy Dunn", ("Ann Lee", "Bo Kim", "Cy Dunn")),
        ("Le Figaro et AFP", ("Le Figaro", "AFP")),
        ("José Ortega y Gasset", ("José Ortega y Gasset",)),  # "y" and "e" join double surnames
        ("Redacción en Madrid", ("Redacción en Madrid",)),  # "en" is "in" as often as "and"
        ("Undine Sandberg", ("Undine Sandberg",)),  # a conjunction inside a word is no split
    ]:
        meta = _meta(f'<meta name="author" content="{byline}">')
        assert meta.authors == authors, byline


def test_an_authors_initials_after_the_name_are_not_part_of_it() -> None:
    meta = _meta(
        """<script type="application/ld+json">{"@type": "NewsArticle", "author": [
        {"@type": "Person", "name": "Elena Oberholzer (obe)"},
        {"@type": "Person", "name": "Corina Gall (cog.)"},
        {"@type": "Person", "name": "Jane Doe (AFP)"}]}</script>"""
    )
    assert meta.authors == ("Elena Oberholzer", "Corina Gall", "Jane Doe (AFP)")


def test_the_visible_byline_names_the_author_when_the_markup_does_not() -> None:
    byline = '<div class="byline">By <span class="author">Mara Quill</span></div><p>Story text.</p>'
    assert _meta("", body=byline).authors == ("Mara Quill",)
    # An address in the markup is not a name: the byline's name is taken instead.
    head = '<meta name="author" content="m.quill@news.example.com">'
    assert _meta(head, body=byline).authors == ("Mara Quill",)
    # The markup's author wins over the byline.
    assert _meta('<meta name="author" content="Tobias Fenn">', body=byline).authors == ("Tobias Fenn",)


def test_a_byline_that_runs_into_its_date_or_a_comment_is_cut_to_the_name() -> None:
    dated = '<div class="byline"><span class="author">Jeff Foust Monday, November</span></div><p>x</p>'
    assert _meta("", body=dated).authors == ("Jeff Foust",)
    russian = '<span class="author">Текст Венера Ерофеева</span><p>x</p>'
    assert _meta("", body=russian).authors == ("Венера Ерофеева",)
    comment = '<div class="author">Colin Rust commented on</div><p>x</p>'
    assert _meta("", body=comment).authors == ()
