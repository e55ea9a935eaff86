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
        og="'Quiet' streets | Courier",
        h1="Quiet streets for Saturdays",
        title_tag="'Quiet' streets - Courier",
        sites=("Courier",),
    )
    assert choose_title(sources) == "'Quiet' streets"
    assert choose_title(TitleSources(og="Quiet streets | Courier", sites=("courier",))) == "Quiet streets"
    assert choose_title(TitleSources(h1="  ", title_tag="Only the tag")) == "Only the tag"
    assert choose_title(TitleSources()) is None


@pytest.mark.parametrize(
    ("json_ld", "og", "expected"),
    [
        (
            "Harbour plan: Council approves new ferry pier",
            "Council approves new ferry pier",
            "Council approves new ferry pier",
        ),
        (
            "Council approves new ferry pier",
            "Harbour plan - Council approves new ferry pier",
            "Council approves new ferry pier",
        ),
        (
            "Council approves new ferry pier",
            "Harbour plan / Council approves new ferry pier",
            "Council approves new ferry pier",
        ),
    ],
)
def test_structured_titles_differing_by_a_kicker_give_the_headline_without_it(
    json_ld: str, og: str, expected: str
) -> None:
    sources = TitleSources(
        json_ld=json_ld, og=og, h1=json_ld, title_tag=f"{json_ld} | Courier", sites=("Courier",)
    )
    assert choose_title(TitleSources(json_ld=json_ld, og=og)) == expected
    assert choose_title(sources) == expected


def test_a_hyphenated_word_is_no_kicker() -> None:
    # stated once each, so the source order decides: nothing is cut at the hyphen
    sources = TitleSources(json_ld="Pro-Council group wins seat", og="Council group wins seat")
    assert choose_title(sources) == "Pro-Council group wins seat"


def test_structured_titles_that_disagree_give_the_one_the_page_states_once() -> None:
    # the h1 and <title> repeat the JSON-LD headline (the template's copies); og:title was written for itself
    written_for_og = TitleSources(
        json_ld="Ferry pier approved",
        og="Council says yes to the harbour's new ferry pier",
        twitter="Ferry pier approved",
        h1="Ferry pier approved",
        title_tag="Ferry pier approved - Courier",
        sites=("Courier",),
    )
    assert choose_title(written_for_og) == "Council says yes to the harbour's new ferry pier"
    # and the other way round: the page repeats og:title, the JSON-LD headline stands alone
    written_for_ld = TitleSources(
        json_ld="Council says yes to the harbour's new ferry pier",
        og="Ferry pier approved",
        h1="Ferry pier approved",
        sites=("Courier",),
    )
    assert choose_title(written_for_ld) == "Council says yes to the harbour's new ferry pier"
    # stated equally often: the source order (JSON-LD first)
    assert choose_title(TitleSources(json_ld="Ferry pier approved", og="A new pier")) == "Ferry pier approved"
