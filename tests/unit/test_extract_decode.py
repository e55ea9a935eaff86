"""Charset handling: header, meta, BOM, mislabelled and undeclared pages decode without crashing."""

from __future__ import annotations

import codecs

from newsflow.extract.decode import charset_from_content_type, declared_charset, decode_html, decode_page

TEXT = "Ça coûte 5 € — naïve"


def _page(charset: str | None, body: str = TEXT) -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    return f"<html><head>{meta}</head><body><p>{body}</p></body></html>"


def test_meta_charset_is_used() -> None:
    data = _page("windows-1252").encode("cp1252")
    assert TEXT in decode_html(data)
    assert declared_charset(data) == "cp1252"


def test_http_header_beats_meta() -> None:
    data = _page("utf-8", "Привет мир").encode("koi8-r")
    assert "Привет мир" in decode_html(data, content_type="text/html; charset=KOI8-R")
    assert charset_from_content_type('text/html; charset="koi8-r"') == "koi8-r"


def test_utf8_labelled_latin1_is_read_as_utf8() -> None:
    data = _page("iso-8859-1").encode("utf-8")
    assert TEXT in decode_html(data)


def test_utf8_labelled_as_legacy_multibyte_is_read_as_utf8() -> None:
    # a page re-saved as UTF-8 that kept its old GB2312 / Shift_JIS label
    for label, text in (("GB2312", "新华社北京电，记者报道"), ("shift_jis", "東京で記者会見が開かれた")):
        data = _page(label, text).encode("utf-8")
        assert text in decode_html(data)
    # the same text really in the legacy encoding is not valid UTF-8, so the label holds
    assert "新华社北京电" in decode_html(_page("GB2312", "新华社北京电").encode("gb2312"))


def test_wrong_utf8_label_is_redetected_and_recorded() -> None:
    data = _page("utf-8").encode("cp1252")
    page = decode_page(data)
    assert TEXT in page.text and "\ufffd" not in page.text
    assert (page.charset, page.source) == ("cp1252", "redetected")
    short = '<meta charset="utf-8"><title>Münchner Tag</title>'.encode("latin-1")
    assert "Münchner Tag" in decode_html(short, content_type="text/html; charset=utf-8")


def test_mostly_utf8_with_a_stray_byte_stays_utf8() -> None:
    data = _page("utf-8", TEXT * 10).encode("utf-8") + b"\xe9 cut"
    page = decode_page(data)
    assert (page.charset, page.source) == ("utf-8", "meta")
    assert TEXT in page.text


def test_charset_sources_are_recorded() -> None:
    assert decode_page(_page("windows-1252").encode("cp1252")).source == "meta"
    assert decode_page(_page(None).encode("utf-8"), "text/html; charset=utf-8").source == "http-header"
    assert decode_page(_page(None).encode("utf-8")).source == "utf-8-valid"
    assert decode_page(_page("iso-8859-1").encode("utf-8")).source == "utf-8-valid"
    assert decode_page(codecs.BOM_UTF8 + _page(None).encode("utf-8")).source == "bom"
    body = "Les élèves étaient très contents de leur été à la mer, même s'il a plu. " * 5
    assert decode_page(_page(None, body).encode("cp1252")).source == "detected"


def test_unknown_label_falls_back_to_detection() -> None:
    data = _page("x-made-up-charset").encode("utf-8")
    assert TEXT in decode_html(data)


def test_no_label_utf8() -> None:
    assert TEXT in decode_html(_page(None).encode("utf-8"))


def test_no_label_legacy_single_byte_detected_without_error() -> None:
    body = "Les élèves étaient très contents de leur été à la mer, même s'il a plu. " * 5
    decoded = decode_html(_page(None, body).encode("cp1252"))
    assert "élèves" in decoded


def test_bom_wins() -> None:
    data = codecs.BOM_UTF16_LE + _page("iso-8859-1").encode("utf-16-le")
    assert TEXT in decode_html(data)


def test_utf16_label_on_ascii_bytes_is_ignored() -> None:
    data = _page("utf-16").encode("utf-8")
    assert TEXT in decode_html(data)
