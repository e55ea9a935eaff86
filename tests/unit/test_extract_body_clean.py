"""Body cleaning that reads the page: list items that are only links."""

from __future__ import annotations

from lxml import html as lxml_html

from newsflow.extract.body import drop_link_items

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
