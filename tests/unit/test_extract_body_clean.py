"""Body cleaning that reads the page: list items that are only links, markup that hides words."""

from __future__ import annotations

from lxml import html as lxml_html

from newsflow.extract.body import drop_link_items, unmask_text

PAGE = """<html><body><article>
<p>The council approved the new ferry pier on Monday evening after a long debate.</p>
<ul class="related">
  <li><a href="/a">Harbour car park to close for resurfacing</a></li>
  <li><a href="/b">Island quay gets a new café</a></li>
</ul>
<ul>
  <li>Work starts in March and takes a year.</li>
  <li>The state pays half, see <a href="/budget">the budget</a>.</li>
</ul>
</article></body></html>"""


def test_list_items_that_are_only_links_go_and_lists_with_words_stay() -> None:
    text = "\n".join(
        [
            "The council approved the new ferry pier on Monday evening after a long debate.",
            "- Harbour car park to close for resurfacing",
            "- Island quay gets a new café",
            "- Work starts in March and takes a year.",
            "- The state pays half, see the budget.",
        ]
    )
    assert drop_link_items(lxml_html.fromstring(PAGE), text).splitlines() == [
        "The council approved the new ferry pier on Monday evening after a long debate.",
        "- Work starts in March and takes a year.",
        "- The state pays half, see the budget.",
    ]


def test_text_without_list_items_is_untouched() -> None:
    text = "Harbour car park to close for resurfacing"  # a link's words, but not a list item
    assert drop_link_items(lxml_html.fromstring(PAGE), text) == text


def test_a_first_line_that_is_the_headline_with_a_kicker_goes() -> None:
    from newsflow.extract.body import clean_body

    body = "Harbour plan Council approves new ferry pier\nThe council voted on Monday evening."
    assert clean_body(body, ("Council approves new ferry pier",)) == "The council voted on Monday evening."
    glued = "Harbour planCouncil approves new ferry pier | Courier\nThe council voted on Monday evening."
    assert clean_body(glued, ("Council approves new ferry pier",)) == "The council voted on Monday evening."
    # a first sentence that merely contains the headline is text
    sentence = (
        "After months of argument in the town hall and two petitions signed by hundreds of residents, "
        "council approves new ferry pier for the north quay\nThe council voted on Monday evening."
    )
    assert clean_body(sentence, ("Council approves new ferry pier",)) == sentence


def test_read_also_lines_in_other_languages_go_with_their_link() -> None:
    from newsflow.extract.body import clean_body

    lines = [
        "Der Stadtrat hat den Bau beschlossen.",
        "Lesen Sie auch: Neuer Fähranleger am Nordkai",
        "Les også: Ferjen går igjen",
        "Lire aussi : Le port rouvre",
        "Czytaj też: Nowy prom",
        "Lesen Sie auch, was der Bürgermeister dazu sagt.",
    ]
    assert clean_body("\n".join(lines)).splitlines() == [lines[0], lines[-1]]


def test_link_icons_and_jump_marks_are_unmasked_and_other_markup_stays() -> None:
    tree = lxml_html.fromstring(
        "<html><body><article>"
        '<h3><a name="s1">Why the <strong>road</strong> gave way</a></h3>'
        '<p>In the heat <a href="/x"><span class="icon"></span>the old surface softens</a>, he said.'
        '<span class="marker"></span></p>'
        '<div><i class="icon"></i>Share</div>'
        '<p><a href="/y">a real link</a></p>'
        "</article></body></html>"
    )
    unmask_text(tree)
    html = lxml_html.tostring(tree, encoding="unicode")
    assert "<h3>Why the <strong>road</strong> gave way</h3>" in html
    assert '<a href="/x">the old surface softens</a>' in html
    assert '<span class="marker"></span>' in html  # no words follow it
    assert '<i class="icon"></i>Share' in html  # not inside running text
    assert '<a href="/y">a real link</a>' in html
