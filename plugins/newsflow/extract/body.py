"""The article body: trafilatura, more effort only where it lost the page, and generic cleaning.

Before trafilatura runs, two kinds of markup that hide words from its precise setting are
undone (``unmask_text``): icons at the start of links, and jump marks around subheadings.

When the markup holds no story at all, the HTML a client-rendered page ships inside a
script is read instead (``embedded``). A lead paragraph the page sets apart above the body,
which the precise setting drops with the header around it, opens the text again (``lead``).

trafilatura tuned for precision scores best on news pages. Its main extractor alone
(``fast``) is right on most pages and costs about 60% of a full run; its readability /
jusText cross-check, and the balanced setting after that, rescue the pages where the
main extractor kept only a teaser, a legal notice or nothing. Those cases are easy to
spot: the text is short, or a small share of the text the page holds in ``<p>``
elements. So the adaptive mode runs the main extractor, adds the cross-check only
when that result looks lost, and the balanced setting only when it still does
(and keeps balanced only if it finds several times more). On the dev sets this gives
the same texts as always running the cross-check (AEB) or slightly better ones
(fundus_ml), at about 1.1 trafilatura runs per page. Some layouts split
one story into several sibling blocks of the same class (between ads); trafilatura
keeps one, so the paragraphs of its same-class neighbours are joined back. List items that
are nothing but a link (lists of other stories inside the article's container) are dropped;
on both dev sets they were almost never part of the checked body. Afterwards a short
list of boilerplate line patterns that appear across publishers (related-story
teasers, share prompts, newsletter plugs, copyright lines, and "read also: ..." lines in the
common European languages) is removed, and a first line that repeats the headline, alone or
with a kicker or site name attached, is dropped because the title has its own field.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Protocol

from newsflow.extract.embedded import embedded_document
from newsflow.extract.lead import with_lead
from newsflow.extract.options import ExtractOptions
from newsflow.extract.textnorm import clean_text

logger = logging.getLogger(__name__)

# Whole lines that are navigation or promotion, whatever the site. Anchored to the
# full line so a sentence that merely contains these words is never touched. Outside
# English only the "read also: <headline>" form is matched: a bare label ("Leggi anche")
# can head a list the checked AEB bodies keep.
BOILERPLATE_LINE = re.compile(
    r"""^\s*(?:
        (?:related|read\ more|see\ more|more|also|don'?t\ miss|recommended|you\ may\ also\ like
           |most\ read[\w ]{0,30}|related\ (?:posts?|stories|articles?|content|coverage))\s*[:.…]*\s*
      | (?:related(?:\ posts?)?|read\ more|see\ more|also\ read|read\ also|recommended)\s*:\s.*
      | (?:comments?|tags|share(?:\ this)?(?:\ article|\ story|\ post)?)\s*:?\s*
      | .*\bclick\ to\ tweet\s*
      | like\ this\ (?:story|article)\?.*
      | (?:subscribe\ to|sign\ up\ for)\ .{0,60}newsletters?[.!]?\s*
      | follow\ .{0,60}\ on\ (?:facebook|twitter|instagram|x|youtube)\b.*
      | (?:copyright|©)\ .{0,80}
      | filed\ under:.*
      | (?:lesen\ sie\ (?:auch|mehr)|mehr\ zum\ thema|auch\ interessant|das\ könnte\ sie\ auch\ interessieren
           |les\ også|les\ mer|læs\ også|læs\ mere|läs\ också|läs\ mer|lees\ ook|lees\ meer
           |lire\ aussi|à\ lire\ aussi|voir\ aussi
           |lee\ también|leer\ también|te\ puede\ interesar|ver\ también
           |leggi\ anche|potrebbe\ interessarti|leia\ (?:também|mais)|veja\ também
           |czytaj\ (?:też|także|więcej)|zobacz\ (?:też|także)|čtěte\ také|přečtěte\ si\ také
         )\s*:\s.*
    )$""",
    re.I | re.X,
)
_WORD = re.compile(r"\w+")


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


_CLASSED_PARAGRAPHS = "//div[@class]/p | //section[@class]/p"
_MIN_PARAGRAPH_CHARS = 30
_MIN_NEW_PARAGRAPHS = 2
_NEAR_LEVELS = 3


def _ancestors(element: Any, levels: int = _NEAR_LEVELS) -> list[Any]:
    found = []
    for _ in range(levels):
        element = element.getparent()
        if element is None:
            break
        found.append(element)
    return found


def _article_of(element: Any) -> Any:
    """The nearest enclosing ``<article>``: one story's boundary on pages that stack several."""
    return next(element.iterancestors("article"), None)


def join_split_body(tree: Any, text: str) -> str:
    """Add paragraphs from same-class sibling blocks of the block(s) the text came from.

    A neighbour counts only when it shares an ancestor within three levels with a
    source block, sits in the same ``<article>`` element (pages that load the next story
    below stack it in another one), and brings at least two paragraphs that are not in
    the text yet (wherever the text broke its lines), so tweets, captions, teaser cards
    and repeats elsewhere on the page are not pulled in.
    """
    known = {_norm(line) for line in text.splitlines() if len(line) > _MIN_PARAGRAPH_CHARS}
    if not known:
        return text
    sources: dict[int, Any] = {}
    for paragraph in tree.xpath(_CLASSED_PARAGRAPHS):
        content = paragraph.text_content()
        if len(content) > _MIN_PARAGRAPH_CHARS and _norm(content) in known:
            parent = paragraph.getparent()
            sources[id(parent)] = parent
    if not sources:
        return text
    signatures = {(el.tag, el.get("class")) for el in sources.values()}
    # hold the ancestor proxies themselves: lxml reuses a proxy only while it is referenced,
    # so comparing bare id()s of dropped proxies could match unrelated elements
    near = {a for el in sources.values() for a in _ancestors(el)}
    stories = {_article_of(el) for el in sources.values()}
    whole = _norm(text)
    before: list[str] = []
    after: list[str] = []
    seen_source = False
    classes = {f"c{i}": cls for i, cls in enumerate(sorted({cls for _tag, cls in signatures}))}
    same_class = " or ".join(f"@class=${name}" for name in classes)
    for element in tree.xpath(f"//*[(self::div or self::section) and ({same_class})]", **classes):
        if id(element) in sources:
            seen_source = True
            continue
        if (element.tag, element.get("class")) not in signatures:
            continue
        if not any(a in near for a in _ancestors(element)) or _article_of(element) not in stories:
            continue
        new = [
            para
            for p in element.iterchildren("p")
            if len(para := " ".join(p.text_content().split())) > _MIN_PARAGRAPH_CHARS
            and _norm(para) not in whole
        ]
        if len(new) >= _MIN_NEW_PARAGRAPHS:
            (after if seen_source else before).extend(new)
    if not before and not after:
        return text
    logger.debug("joined %d paragraphs from split body blocks", len(before) + len(after))
    return "\n".join([*before, text, *after])


_LINKED_SHARE = 0.8  # a list item this much link text is a link, whatever words surround it


def drop_link_items(tree: Any, text: str) -> str:
    """Drop list items (trafilatura's ``- `` lines) that are links and little else.

    Such items are lists of other stories (related, most read, newsletter topics) that sit
    inside the article's container; a list that belongs to the story carries its own words.
    Only items whose text is almost all link text go, so a list of facts with a link in it stays.
    """
    items = [line for line in text.splitlines() if line.startswith("- ")]
    if not items:
        return text
    linked: set[str] = set()
    for item in tree.iter("li"):
        words = _norm(item.text_content())
        links = _norm(" ".join(a.text_content() for a in item.iter("a")))
        if words and len(links) >= _LINKED_SHARE * len(words):
            linked.add(words)
    if not linked:
        return text
    dropped = {line for line in items if _norm(line[2:]) in linked}
    if not dropped:
        return text
    logger.debug("dropped %d list items that are only links", len(dropped))
    return "\n".join(line for line in text.splitlines() if line not in dropped)


class BodyRun(Protocol):
    """One trafilatura run with a ``favor`` setting; ``raw_body`` decides which runs to make."""

    def __call__(
        self, tree: Any, url: str | None, options: ExtractOptions, favor: str, *, fast: bool
    ) -> str: ...


def run_trafilatura(tree: Any, url: str | None, options: ExtractOptions, favor: str, *, fast: bool) -> str:
    import trafilatura

    text = trafilatura.extract(
        tree,
        url=url,
        fast=fast,
        favor_precision=favor == "precision",
        favor_recall=favor == "recall",
        include_comments=False,
        include_tables=options.include_tables,
        with_metadata=False,
    )
    return text or ""


class _Lost:
    """Whether a run may have kept only part of the story; the page's ``<p>`` text is summed once."""

    def __init__(self, tree: Any, options: ExtractOptions) -> None:
        self._tree = tree
        self._options = options
        self._page_text: int | None = None

    def __call__(self, text: str) -> bool:
        if len(text) < self._options.adaptive_short_chars:
            return True
        if self._page_text is None:
            self._page_text = sum(len(t) for t in self._tree.xpath("//p//text()"))
        return len(text) < self._options.adaptive_page_share * self._page_text


def raw_body(
    tree: Any, url: str | None, options: ExtractOptions, *, run: BodyRun = run_trafilatura
) -> tuple[str, str]:
    """Main text of the page and which setting produced it; trafilatura copies ``tree`` first."""
    if options.favor != "adaptive":
        return run(tree, url, options, options.favor, fast=options.fast), options.favor
    lost = _Lost(tree, options)
    precise = run(tree, url, options, "precision", fast=True)
    if not options.fast and lost(precise):
        precise = run(tree, url, options, "precision", fast=False)
    if not lost(precise):
        return precise, "precision"
    balanced = run(tree, url, options, "balanced", fast=options.fast)
    if len(balanced) > options.adaptive_ratio * len(precise):
        logger.debug("precise run kept %d chars, balanced %d: using balanced", len(precise), len(balanced))
        return balanced, "balanced"
    return precise, "precision"


_MAX_KICKER_WORDS = 8


def _repeats(first: str, title: str) -> bool:
    """The first line is the headline: whole, a part of it, or it with a kicker or site name attached."""
    if first == title or (len(first) > 20 and first in title):
        return True
    return len(title) > 20 and title in first and len(first.split()) - len(title.split()) <= _MAX_KICKER_WORDS


def clean_body(
    text: str, headings: tuple[str, ...] = (), *, drop_title: bool = True, boilerplate: bool = True
) -> str:
    """Drop boilerplate lines and a leading repeat of the headline; blank lines go too, and each
    line is cleaned like every stored string (``textnorm``)."""
    lines = [line for raw in text.splitlines() if (line := clean_text(raw))]
    if drop_title and lines and headings:
        first = _norm(lines[0])
        titles = {_norm(h) for h in headings}
        if first and any(_repeats(first, t) for t in titles):
            lines = lines[1:]
    if boilerplate:
        lines = [line for line in lines if not BOILERPLATE_LINE.match(line)]
    return "\n".join(lines)


_INLINE_EMPTY = ("span", "i", "b", "em", "strong", "q")
_IN_RUNNING_TEXT = frozenset({"a", "p"})


def unmask_text(tree: Any) -> None:
    """Undo two kinds of markup that make trafilatura's precise setting cut words it should keep.

    An empty inline element inside a link or paragraph (an icon: ``<a><span class="icon"></span>words</a>``)
    holds the following words as its tail, and the precise setting deletes empty elements with
    their tails, leaving "bei hohen Temperaturen . Das ...". Such elements go first, the tail
    joined to what precedes it. An ``<a>`` without ``href`` (a jump mark around a subheading) is
    no link, but counts as one in the link-density tests, so the subheading went; it is unwrapped.
    Each rule gained on both dev sets, a little (see ``bench/eval_extract.py``).
    """
    empty, anchors = [], []
    for element in tree.iter(*_INLINE_EMPTY, "a"):  # one walk; the tree is edited after it
        if element.tag == "a":
            if element.get("href") is None:
                anchors.append(element)
        elif (
            element.text is None
            and len(element) == 0
            and element.tail
            and element.tail.strip()
            and (parent := element.getparent()) is not None
            and parent.tag in _IN_RUNNING_TEXT
        ):
            empty.append(element)
    for element in empty:
        element.drop_tree()  # lxml.html keeps the tail, joined to the previous sibling or the parent
    for anchor in anchors:
        anchor.drop_tag()  # its text and children stay where they were
    if empty or anchors:
        logger.debug("unmasked: %d empty inline elements, %d anchors without href", len(empty), len(anchors))


def shipped_body(tree: Any, url: str | None, options: ExtractOptions) -> str:
    """The text trafilatura finds in the HTML a client-rendered page ships in a script ("" if none).

    See ``newsflow.extract.embedded``.
    """
    from trafilatura.utils import load_html

    document = embedded_document(tree)
    shipped_tree = load_html(document) if document is not None else None
    if shipped_tree is None:
        return ""
    return run_trafilatura(shipped_tree, url, options, "precision", fast=options.fast)


def extract_body(tree: Any, url: str | None, options: ExtractOptions, headings: tuple[str, ...]) -> str:
    """The cleaned article text ("" when trafilatura found no main content).

    ``tree`` is edited in place by ``unmask_text``; every word of it stays, so the date and
    language steps that read it afterwards see the same text.
    """
    unmask_text(tree)
    text, _setting = raw_body(tree, url, options)
    shipped = shipped_body(tree, url, options) if len(text) < options.min_text_chars else ""
    if len(shipped) > len(text):
        text = shipped  # from a script, not the tree: the tree-based steps below do not apply
    else:
        if options.join_split_body and text:
            text = join_split_body(tree, text)
        if options.clean_boilerplate and text:
            text = drop_link_items(tree, text)
    text = clean_body(
        text, headings, drop_title=options.drop_title_line, boilerplate=options.clean_boilerplate
    )
    return with_lead(tree, text) if options.keep_lead else text
