"""The lead paragraph a page sets apart above its body (German "Vorspann", French "chapô").

Many European outlets open a story with a short lead paragraph in its own element between
the headline and the body. It is written as the story's first paragraph, and the checked
bodies of fundus_ml keep it, but trafilatura's precise setting drops it with the header
around it (about one page in three there). The page says which element it is in two
independent ways: the element's class names it as a lead (``lead``, ``intro``, ``teaser``,
``preamble``, ...), and its text is exactly the summary the page declares in its
``description`` meta tags. Only an element that meets both is taken, so a teaser card of
another story (class "teaser", but another text) or a summary shown nowhere on the page
never enters the body. Sub-headlines ("dek", "subtitle", "summary") are not leads: US
outlets write them as headline furniture, and AEB's checked bodies leave them out.
"""

from __future__ import annotations

import re
from typing import Any

from newsflow.extract.textnorm import clean_text

_LEAD_CLASS = re.compile(
    r"lead|intro|preface|preamble|teaser|vorspann|einleitung|abstract|standfirst|chapo|ingress", re.I
)
_DESCRIPTION = (
    '//meta[@name="description" or @property="og:description" or @name="twitter:description"]/@content'
)
_CANDIDATES = "//body//*[self::p or self::div or self::h2 or self::span or self::strong][@class]"
_MIN_WORDS = 8
_WORD = re.compile(r"\w+")


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _summaries(tree: Any) -> set[str]:
    return {norm for d in tree.xpath(_DESCRIPTION) if len((norm := _norm(d)).split()) >= _MIN_WORDS}


def lead_paragraph(tree: Any, summaries: set[str] | None = None) -> str | None:
    """The page's lead paragraph, cleaned like stored text, or None when it marks none."""
    summaries = _summaries(tree) if summaries is None else summaries
    if not summaries:
        return None
    for element in tree.xpath(_CANDIDATES):
        if _LEAD_CLASS.search(element.get("class", "")) and _norm(element.text_content()) in summaries:
            return clean_text(element.text_content())
    return None


def with_lead(tree: Any, body: str) -> str:
    """``body`` opened by the page's lead paragraph, unless the body already holds it."""
    if not body:
        return body
    summaries = _summaries(tree)
    text = _norm(body)
    if any(summary in text for summary in summaries):
        return body  # the body already holds the page's summary; no need to look for the lead
    lead = lead_paragraph(tree, summaries)
    return f"{lead}\n{body}" if lead else body
