"""The lead paragraph rule (extract/lead.py): taken only where class and declared summary agree."""

from __future__ import annotations

from lxml import html as lxml_html

from newsflow.extract.lead import lead_paragraph, with_lead

SUMMARY = "Der Stadtrat hat den Haushalt für das kommende Jahr beschlossen, mit weniger Geld für Straßen."
OTHER = "Die Fähren zur Insel fahren ab April häufiger, auch am frühen Morgen und am späten Abend."


def _page(body: str, description: str | None = SUMMARY) -> object:
    meta = f'<meta name="description" content="{description}">' if description else ""
    return lxml_html.fromstring(f"<html><head>{meta}</head><body>{body}</body></html>")


def test_a_lead_class_holding_the_declared_summary_is_the_lead() -> None:
    tree = _page(f'<h1>Haushalt</h1><p class="article__lead">{SUMMARY}</p><p>Text.</p>')
    assert lead_paragraph(tree) == SUMMARY


def test_a_teaser_of_another_story_is_not_the_lead() -> None:
    tree = _page(f'<div class="teaser"><p class="teaser-text">{OTHER}</p></div>')
    assert lead_paragraph(tree) is None


def test_a_summary_the_page_does_not_show_gives_no_lead() -> None:
    tree = _page(f'<p class="lead">{OTHER}</p>')
    assert lead_paragraph(tree) is None


def test_a_sub_headline_is_not_a_lead() -> None:
    tree = _page(f'<p class="dek">{SUMMARY}</p><h2 class="subtitle">{SUMMARY}</h2>')
    assert lead_paragraph(tree) is None


def test_a_short_description_is_not_trusted_as_a_summary() -> None:
    tree = _page('<p class="lead">Haushalt beschlossen.</p>', description="Haushalt beschlossen.")
    assert lead_paragraph(tree) is None


def test_the_lead_opens_the_body_once() -> None:
    tree = _page(f'<p class="intro">{SUMMARY}</p><p>Der Rest.</p>')
    assert with_lead(tree, "Der Rest.") == f"{SUMMARY}\nDer Rest."
    assert with_lead(tree, f"{SUMMARY}\nDer Rest.") == f"{SUMMARY}\nDer Rest."
    assert with_lead(tree, "") == ""
