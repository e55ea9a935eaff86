"""Pages that ship their story in scripts: used only when the markup holds none."""

from __future__ import annotations

import json

import pytest

from newsflow.errors import ExtractionError
from newsflow.extract import extract_article
from newsflow.extract.embedded import embedded_document

PARAGRAPHS = (
    "Der Gemeinderat von Kleinweiler hat am Dienstag beschlossen, die alte Schule am Marktplatz "
    "zu einem Bürgerhaus umzubauen. Die Arbeiten sollen im Frühjahr beginnen.",
    "Bürgermeister Jonas Feld sagte, das Haus solle Vereinen, der Bücherei und dem Seniorentreff "
    "Platz bieten. Die Kosten schätzt die Gemeinde auf 1,8 Millionen Euro.",
)
SHELL = (
    '<!DOCTYPE html><html lang="de"><head><title>Alte Schule wird Bürgerhaus</title>'
    '<meta property="og:type" content="article"></head>'
    '<body><div id="app"><h1>Alte Schule wird Bürgerhaus</h1></div>{scripts}</body></html>'
)


def _page(*scripts: str) -> str:
    return SHELL.format(scripts="".join(scripts))


def test_shipped_html_is_read_when_the_markup_holds_no_story() -> None:
    shipped = '<figure><p class="caption">Die alte Schule. Foto: Gemeinde</p></figure>' + "".join(
        f'<p class="text">{p}</p>' for p in PARAGRAPHS
    )
    page = _page(f"<script>self.__next_f.push({json.dumps([1, shipped])})</script>")
    article = extract_article(page, url="https://kleinweiler.example.de/a/1")
    assert article.text == "\n".join(PARAGRAPHS)


def test_json_ld_article_body_is_read_when_the_markup_holds_no_story() -> None:
    """trafilatura's own fallback reads it (so ``embedded`` does not); lines may be joined."""
    ld = {
        "@type": "NewsArticle",
        "headline": "Alte Schule wird Bürgerhaus",
        "articleBody": "\n".join(PARAGRAPHS),
    }
    page = _page(f'<script type="application/ld+json">{json.dumps(ld)}</script>')
    article = extract_article(page, url="https://kleinweiler.example.de/a/1")
    assert article.text.split() == " ".join(PARAGRAPHS).split()


def test_markup_text_wins_over_what_scripts_ship() -> None:
    shipped = "".join(f"<p>{p}</p>" for p in ("Ein ganz anderer Text, der nur im Skript steht. " * 4,) * 3)
    page = SHELL.format(
        scripts=f"<article>{''.join(f'<p>{p}</p>' for p in PARAGRAPHS)}</article>"
        f"<script>self.__next_f.push({json.dumps([1, shipped])})</script>"
    )
    article = extract_article(page, url="https://kleinweiler.example.de/a/2")
    assert "anderer Text" not in article.text
    assert PARAGRAPHS[0] in article.text


@pytest.mark.parametrize(
    "script",
    [
        '<script>var s = "' + "<p>kaputt \\x41 " * 60 + '";</script>',  # JavaScript escapes, not JSON
        '<script>var s = "' + "<p>" * 5000 + '";</script>',  # markup without text
        "<script>" + '"<p>' * 20000 + "</script>",  # unterminated literals
    ],
    ids=["js-escapes", "empty-paragraphs", "unterminated"],
)
def test_hostile_scripts_give_a_clear_rejection(script: str) -> None:
    with pytest.raises(ExtractionError) as caught:
        extract_article(_page(script), url="https://kleinweiler.example.de/a/3")
    assert caught.value.reason == "not_article"


def test_the_shipped_html_with_the_most_paragraph_text_is_chosen() -> None:
    from trafilatura.utils import load_html

    short = "<p>Kurz.</p><p>Auch kurz.</p>" + "x" * 200
    full = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    tree = load_html(_page(f"<script>a({json.dumps([short, full])})</script>"))
    document = embedded_document(tree)
    assert document is not None and PARAGRAPHS[1] in document and "Kurz" not in document
