"""Decoding pages whose declared charset may lie."""

from __future__ import annotations

from extractors.encoding import declared_charset, decode_html

TEXT = "<html><body><p>Ménaka, Gao et Tombouctou : l’armée a reçu des renforts.</p></body></html>"


def test_utf8_bytes_declared_as_latin1_are_read_as_utf8():
    text, used = decode_html(TEXT.encode("utf-8"), "iso-8859-1")
    assert "Ménaka" in text and "l’armée" in text and used == "utf-8"


def test_windows_1252_bytes_declared_correctly_are_read_as_declared():
    text, used = decode_html(TEXT.encode("cp1252"), "windows-1252")
    assert "Ménaka" in text and "l’armée" in text and used == "cp1252"


def test_undeclared_windows_1252_falls_back_to_windows_1252():
    text, _ = decode_html(TEXT.encode("cp1252"), None)
    assert "reçu" in text


def test_meta_charset_is_used_when_the_header_says_nothing():
    page = '<html><head><meta charset="iso-8859-1"></head><body>Niamey, été</body></html>'
    text, used = decode_html(page.encode("latin-1"), None)
    assert "été" in text and used == "iso8859-1"


def test_unknown_declared_charset_does_not_break_decoding():
    text, _ = decode_html("Ségou".encode("cp1252"), "x-unknown-charset")
    assert text == "Ségou"


def test_charset_is_read_from_content_type():
    assert declared_charset("text/html; charset=ISO-8859-1") == "ISO-8859-1"
    assert declared_charset('text/html; charset="utf-8"') == "utf-8"
    assert declared_charset("text/html") is None
    assert declared_charset(None) is None


def test_a_charset_name_with_a_nul_byte_falls_back_instead_of_failing():
    """Found by tests/faults/test_fuzz.py: codecs.lookup raises ValueError, not LookupError."""
    text, used = decode_html(b"caf\xe9", "\x00")
    assert (text, used) == ("café", "cp1252")
