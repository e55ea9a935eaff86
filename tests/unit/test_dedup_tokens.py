"""Words are compared as readers see them, whatever the script or Unicode form."""

from __future__ import annotations

import unicodedata

import pytest

from newsflow.dedup import DedupOptions, compute_signals
from newsflow.dedup.entities import entity_counts
from newsflow.dedup.text import tokens


def test_a_decomposed_word_is_the_word_composed() -> None:
    composed = "Müller sagte in Gaziantep: Türkiye açıkladı, çünkü şehir"  # noqa: RUF001 (Turkish dotless i)
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert tokens(decomposed) == tokens(composed)
    assert "müller" in tokens(composed)
    assert entity_counts(decomposed) == entity_counts(composed)
    assert "müller" in entity_counts(decomposed)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        # Devanagari vowel signs and the virama are combining marks, not word breaks.
        ("भारत सरकार ने कहा", ["भारत", "सरकार", "ने", "कहा"]),
        ("হাসিনা সরকার", ["হাসিনা", "সরকার"]),
        ("Tara Reid's rep", ["tara", "reid's", "rep"]),
    ],
)
def test_words_keep_their_combining_marks(text: str, words: list[str]) -> None:
    assert tokens(text) == words


def test_unspaced_scripts_are_compared_by_character_bigrams() -> None:
    assert tokens("中国政府") == ["中国", "国政", "政府"]
    thai = tokens("รัฐบาลไทย")
    assert thai == ["รั", "ัฐ", "ฐบ", "บา", "าล", "ลไ", "ไท", "ทย"]
    # A Thai report shares its bigrams with another telling the same thing in other words.
    assert set(tokens("รัฐบาลไทยประกาศ")) & set(tokens("วันนี้รัฐบาลไทย")) >= set(thai)


def test_two_hindi_reports_share_their_terms() -> None:
    options = DedupOptions()
    a = compute_signals(
        "a", "भारत सरकार ने आज नई शिक्षा नीति की घोषणा की। मंत्री ने कहा कि नीति लागू होगी।", options, language="hi"
    )
    b = compute_signals("b", "सरकार ने नई शिक्षा नीति घोषित की, भारत के मंत्री ने बताया।", options, language="hi")
    shared = set(a.terms) & set(b.terms)
    assert {"भारत", "सरकार", "शिक्षा", "नीति", "मंत्री"} <= shared


def test_optional_arabic_and_hebrew_marks_do_not_make_another_word() -> None:
    # "also" with and without its tanween, "wrote" with vowel marks, a word drawn out by tatweel.
    assert tokens("أيضاً كَتَبَ مـحمد") == tokens("أيضا كتب محمد") == ["أيضا", "كتب", "محمد"]
    assert tokens("שָׁלוֹם") == tokens("שלום")
