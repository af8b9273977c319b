"""The glyph check: ordinary white space needs no glyph, but not everything `str.isspace()` calls space."""

from __future__ import annotations

import pytest

from perfdoc.render.fonts import missing_glyphs

DRAWN_AS_BOXES = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\u2028", "\u2029"]




@pytest.mark.parametrize("char", DRAWN_AS_BOXES, ids=lambda c: f"U+{ord(c):04X}")
def test_space_like_characters_without_a_glyph_are_reported(fonts, char):
    """These pass `str.isspace()` yet print as ☒: the check must name them, not skip them."""
    assert char.isspace()
    assert missing_glyphs(fonts, "fangsong", f"甲{char}乙") == [char]


def test_ordinary_white_space_needs_no_glyph(fonts):
    assert missing_glyphs(fonts, "fangsong", "甲 乙\t丙\n丁\r戊\u3000己\u00a0庚") == []
