"""The identity hashes: one content hash, stored twice in a document with one meaning."""

from __future__ import annotations

from newsflow.dedup import DedupOptions
from newsflow.dedup.signals import compute_signals
from newsflow.extract import fallback_article
from newsflow.extract.options import FeedHints
from newsflow.index import ArticleDoc, build_document
from newsflow.jsontypes import as_object
from newsflow.records import article_id, content_hash


def test_content_hash_ignores_wrapping_case_and_compatibility_forms() -> None:
    text = "Kherson:  the  FRONT line moved\nﬁve km."
    assert content_hash(text) == content_hash("kherson: the front line moved five km.")
    assert content_hash(text) != content_hash("Kherson: the front line moved six km.")
    assert len(content_hash(text)) == 32 and len(article_id("https://x.example/a")) == 32


def test_the_document_and_its_dedup_signals_carry_the_same_hash() -> None:
    hints = FeedHints(feed="f", title="Bridge vote", summary="The council  voted on the BRIDGE today.")
    article = fallback_article("https://news.example/bridge", hints)
    signals = compute_signals(article.id, article.text, DedupOptions(), title=article.title)
    document = build_document(
        ArticleDoc(article, dedup_signals=signals.to_dict()), version=1, indexed_at="2026-03-02T18:00:00Z"
    )
    assert (
        document["content_hash"]
        == as_object(document["dedup_signals"])["content_hash"]
        == content_hash(article.text)
    )
