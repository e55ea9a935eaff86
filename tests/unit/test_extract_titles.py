"""Headline choice, site affixes, and the normal form of stored text."""

from __future__ import annotations

import pytest

from newsflow.extract.textnorm import clean_lines, clean_text, decode_entities
from newsflow.extract.titles import TitleSources, choose_title, strip_site_affixes


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("&#039;This new search box&#039;", "'This new search box'"),
        ("&amp;#039;twice&amp;#039;", "'twice'"),
        ("&amp;amp;quot;thrice&amp;amp;quot;", '"thrice"'),
        ("R&D and AT&T", "R&D and AT&T"),
        ("Smith&notes", "Smith&notes"),  # no ';': not an entity, not decoded
        ("caf&eacute; &#x2013; bar", "café – bar"),
    ],
)
def test_decode_entities(raw: str, expected: str) -> None:
    assert decode_entities(raw) == expected


def test_clean_text_collapses_whitespace_and_composes() -> None:
    assert clean_text("  Zu\u0308rich\u00a0 \t news\n") == "Zürich news"
    assert clean_text("   ") is None
    assert clean_text(None) is None
    assert clean_text(42) is None
    assert clean_lines(" first  line \n\n\t\nsecond&nbsp;line ") == "first line\nsecond line"


@pytest.mark.parametrize(
    ("title", "sites", "others", "expected"),
    [
        ("Bridge reopens | City Gazette", ["City Gazette"], [], "Bridge reopens"),
        ("Bridge reopens - Golem.de", ["golem.de"], [], "Bridge reopens"),
        ("kicker - Bridge reopens", ["kicker"], [], "Bridge reopens"),
        ("津波注意報 気象庁：朝日新聞デジタル", ["朝日新聞デジタル"], [], "津波注意報 気象庁"),
        ("Zinsen steigen | Sport | Daily", [], ["Zinsen steigen"], "Zinsen steigen"),
        ("Ziele, Chancen | DW | 28.04.2023", ["DW"], ["Ziele, Chancen"], "Ziele, Chancen"),
        # a colon joins a kicker to its headline: never cut
        (
            "Veteranentag: Orden fürs Morden",
            ["Tageszeitung"],
            ["Orden fürs Morden"],
            "Veteranentag: Orden fürs Morden",
        ),
        # hyphenated words are not separators
        ("Post-Vac-Syndrom nach Impfung", ["vac"], [], "Post-Vac-Syndrom nach Impfung"),
        # a short host label names only itself
        ("Krise - Szenario Zukunft", ["sz"], [], "Krise - Szenario Zukunft"),
        ("Krise - SZ", ["sz"], [], "Krise"),
        # a segment that is the headline's own words stays
        ("Wildfires: latest - Current news", ["Herald"], [], "Wildfires: latest - Current news"),
    ],
)
def test_strip_site_affixes(title: str, sites: list[str], others: list[str], expected: str) -> None:
    assert strip_site_affixes(title, sites, others) == expected


def test_choose_title_order_and_cleaning() -> None:
    sources = TitleSources(
        json_ld="&amp;#039;Quiet&amp;#039;  streets",
        og="Quiet streets for Saturdays",
        h1="Quiet streets",
        title_tag="'Quiet' streets - Courier",
        sites=("Courier",),
    )
    assert choose_title(sources) == "'Quiet' streets"
    assert choose_title(TitleSources(og="Quiet streets | Courier", sites=("courier",))) == "Quiet streets"
    assert choose_title(TitleSources(h1="  ", title_tag="Only the tag")) == "Only the tag"
    assert choose_title(TitleSources()) is None
