"""Recorded bodies as the page shows them: formatted, tabled, imaged or dumped, never run."""

from __future__ import annotations

from virt.ui.render import HEX_SHOWN, SHOWN, body_view, hex_dump

JSON = (("Content-Type", "application/json; charset=utf-8"),)


def test_json_body_is_indented() -> None:
    shown = body_view(b'{"a":[1,2],"b":"<x>"}', JSON)
    assert shown.kind == "json"
    assert shown.text == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": "<x>"\n}'


def test_json_without_a_content_type_is_recognised_by_its_first_character() -> None:
    assert body_view(b" [1, 2]", ()).kind == "json"


def test_malformed_json_is_shown_as_text() -> None:
    shown = body_view(b'{"a": ', JSON)
    assert (shown.kind, shown.text) == ("text", '{"a": ')


def test_xml_body_is_indented() -> None:
    shown = body_view(b"<a><b>1</b></a>", (("content-type", "application/xml"),))
    assert shown.kind == "xml"
    assert "<a>\n  <b>1</b>\n</a>" in shown.text


def test_xml_with_a_doctype_is_never_parsed_so_no_entity_expands() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa">]><l>&a;&a;</l>'
    shown = body_view(bomb, (("content-type", "text/xml"),))
    assert shown.kind == "text"
    assert shown.text == bomb.decode()


def test_form_body_is_a_table_of_names_and_values() -> None:
    form = (("Content-Type", "application/x-www-form-urlencoded"),)
    shown = body_view(b"a=1&b=x+y&c=", form)
    assert shown.kind == "form"
    assert shown.rows == [("a", "1"), ("b", "x y"), ("c", "")]


def test_image_body_is_shown_as_an_image_by_its_declared_type() -> None:
    shown = body_view(b"\x89PNG\r\n\x1a\n", (("content-type", "image/png"),))
    assert (shown.kind, shown.size, shown.media) == ("image", 8, "image/png")


def test_svg_is_not_shown_as_an_image_since_it_can_carry_scripts() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert body_view(svg, (("content-type", "image/svg+xml"),)).kind != "image"


def test_binary_body_is_a_hex_dump_with_its_size() -> None:
    data = bytes(range(256)) * 40
    shown = body_view(data, (("content-type", "application/octet-stream"),))
    assert (shown.kind, shown.size, shown.truncated) == ("binary", len(data), True)
    assert shown.text.splitlines()[0] == (
        "00000000  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f  ................"
    )
    assert len(shown.text.splitlines()) == HEX_SHOWN // 16


def test_hex_dump_shows_printable_ascii_beside_the_bytes() -> None:
    assert hex_dump(b"virt\x00") == "00000000  76 69 72 74 00" + " " * 33 + "  virt."


def test_a_long_text_body_is_cut_short_and_says_so() -> None:
    shown = body_view(b"x" * (SHOWN + 10), (("content-type", "text/plain"),))
    assert (shown.kind, len(shown.text), shown.truncated) == ("text", SHOWN, True)


def test_a_body_cut_inside_a_utf8_character_is_still_text() -> None:
    shown = body_view(b"x" * (SHOWN - 1) + "é".encode() + b"y", ())
    assert shown.kind == "text"
    assert shown.truncated


def test_empty_body() -> None:
    assert body_view(b"", JSON).kind == "empty"
