"""An article's language: the page's tag, normalised, checked against the text."""

from __future__ import annotations

import pytest

from newsflow.extract import FeedHints, extract_article, fallback_article
from newsflow.extract.pagelang import page_language

GERMAN = (
    "Der Stadtrat hat am Mittwoch beschlossen, die alte Brücke über den Fluss zu sanieren. Die Arbeiten "
    "sollen im Frühjahr beginnen und etwa zwei Jahre dauern, teilte die Verwaltung mit."
)
ENGLISH = (
    "The council decided on Wednesday to repair the old bridge over the river. Work is due to start in "
    "the spring and take about two years, the administration said."
)


@pytest.mark.parametrize(
    ("tag", "text", "expected"),
    [
        ("en-gb", ENGLISH, ("en", "en-GB")),
        ("EN_us", ENGLISH, ("en", "en-US")),
        (None, GERMAN, ("de", "de")),  # no tag: the text decides
        ("en-US", GERMAN, ("de", "de")),  # a template's default contradicted by the text
        ("kr", GERMAN, ("de", "de")),
        ("de-CH", GERMAN, ("de", "de-CH")),
        (
            "nb-NO",
            "Bystyret vedtok onsdag å reparere den gamle brua over elva. Arbeidet skal starte til våren.",
            ("nb", "nb-NO"),
        ),
        ("fr", "ok", ("fr", "fr")),  # too little text to contradict the page
        (None, "", (None, None)),
        ("not a tag!", "", (None, None)),
    ],
)
def test_page_language(tag: str | None, text: str, expected: tuple[str | None, str | None]) -> None:
    assert page_language(tag, text) == expected


def test_article_stores_primary_code_and_full_tag() -> None:
    page = (
        "<html lang='en-gb'><head><title>Bridge</title></head>"
        f"<body><article><h1>Bridge</h1><p>{ENGLISH}</p></article></body></html>"
    )
    article = extract_article(page, url="https://example.com/x")
    assert (article.language, article.language_tag) == ("en", "en-GB")
    fallback = fallback_article("https://example.com/y", FeedHints(title="Brücke", summary=GERMAN))
    assert (fallback.language, fallback.language_tag) == ("de", "de")
    tagged = fallback_article("https://example.com/y", FeedHints(summary=GERMAN, language="de-AT"))
    assert (tagged.language, tagged.language_tag) == ("de", "de-AT")
