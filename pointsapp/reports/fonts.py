"""CJK fonts for charts, shipped with the package.

Charts must show villagers' names in real glyphs on any machine, including rare name
characters such as 䶮 (U+4DAE, CJK Ext A) and 𠮷 (U+20BB7, CJK Ext B). This module does
not rely on fonts installed on the machine nor on matplotlib's font cache: it registers
the font files in ``pointsapp/fonts/`` with matplotlib's font manager, in memory, each
time the process starts (``fontManager.addfont``), and hands out a *list* of family
names so that matplotlib (>= 3.6) falls back from one font to the next glyph by glyph.

The shipped font is a subset of Noto Sans CJK SC Regular 2.004 (SIL Open Font License
1.1, see ``pointsapp/fonts/OFL.txt`` and ``pointsapp/fonts/README.md``): every
character of that face except Hangul, i.e. all of the URO block, all of Ext A, the
2,108 Ext B and 253 Ext C-H ideographs the font has (covering the whole Table of
General Standard Chinese Characters, 通用规范汉字表), Latin, punctuation and symbols.
The static Regular face is used on purpose: the variable Noto CJK font defaults to
its Thin instance.

DejaVu Sans, which matplotlib ships, is the last fallback for symbols outside the CJK
font. A character that no registered font has is drawn by matplotlib's Last Resort
font as a box, with a "Glyph ... missing from font(s)" warning; ``missing_chars`` lets
a caller find such characters beforehand.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from matplotlib import font_manager
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font

__all__ = [
    "FONT_DIR",
    "FONT_FILES",
    "font_paths",
    "font_properties",
    "missing_chars",
    "register_fonts",
]

#: Folder of the font files shipped inside the package.
FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"

#: Font files to register, in fallback order (first = preferred).
FONT_FILES: tuple[str, ...] = ("NotoSansCJKsc-Regular-subset.otf",)

#: Families appended after the shipped ones. matplotlib always has DejaVu Sans.
_TRAILING_FAMILIES: tuple[str, ...] = ("DejaVu Sans",)

_lock = threading.Lock()
_families: list[str] | None = None


def font_paths() -> list[Path]:
    """Absolute paths of the shipped font files, in fallback order."""
    return [FONT_DIR / name for name in FONT_FILES]


def register_fonts() -> list[str]:
    """Register the shipped fonts with matplotlib; return the family names to use.

    The list is in fallback order and ends with DejaVu Sans. Calling this again is
    cheap and registers nothing twice. Raises ``FileNotFoundError`` if a font file is
    missing from the installation (a packaging error that must not pass silently).
    """
    global _families
    if _families is not None:
        return list(_families)
    with _lock:
        if _families is None:
            families: list[str] = []
            for path in font_paths():
                if not path.is_file():
                    raise FileNotFoundError(f"chart font missing from the package: {path}")
                # addfont reads the family name from the file and appends one entry
                # to the in-memory font list; it never writes the on-disk cache.
                font_manager.fontManager.addfont(str(path))
                family = FT2Font(str(path)).family_name
                if family not in families:
                    families.append(family)
            for family in _TRAILING_FAMILIES:
                if family not in families:
                    families.append(family)
            _families = families
    return list(_families)


def font_properties(size: float | str | None = None, weight: str | int | None = None) -> FontProperties:
    """A ``FontProperties`` naming the registered families (with fallback).

    Pass it as ``fontproperties=`` (or ``prop=`` for legends) to any text of a Figure.
    """
    return FontProperties(family=register_fonts(), size=size, weight=weight)


@lru_cache(maxsize=1)
def _covered_codepoints() -> frozenset[int]:
    register_fonts()
    covered: set[int] = set()
    for path in font_paths():
        covered.update(FT2Font(str(path)).get_charmap())
    for family in _TRAILING_FAMILIES:
        path = font_manager.findfont(FontProperties(family=family), fallback_to_default=False)
        covered.update(FT2Font(str(path)).get_charmap())
    return frozenset(covered)


def missing_chars(text: str) -> list[str]:
    """Characters of ``text`` that none of the registered fonts can draw (in order, once).

    Whitespace and control characters are ignored.
    """
    covered = _covered_codepoints()
    seen: list[str] = []
    for ch in text:
        if ch.isspace() or not ch.isprintable():
            continue
        if ord(ch) not in covered and ch not in seen:
            seen.append(ch)
    return seen
