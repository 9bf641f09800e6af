"""The one name-masking rule for public pages (board, 公示, star list, public charts).

A masked name keeps the first and the last character with a single ``*`` between, so it
never tells how long the name is: 向晓明 → 向*明, 欧阳兰宏 → 欧*宏 (a compound surname is
not kept whole, which would reveal the length of the given name). Shorter names:

- two characters keep the first: 向明 → 向*;
- one character gets a ``*`` after it: 麻 → 麻* (the same shape as a two-character name,
  so the name itself is not shown);
- whitespace is ignored, and Latin or mixed names follow the same rule by character:
  "Maria Lopez" → M*z, "阿卜杜·热合曼" → 阿*曼;
- an empty or missing name stays empty.
"""

from __future__ import annotations

MASK = "*"


def mask_name(name: str | None) -> str:
    """Mask a person's name for public display (see the module docstring)."""
    chars = "".join((name or "").split())
    if not chars:
        return ""
    if len(chars) <= 2:
        return chars[0] + MASK
    return chars[0] + MASK + chars[-1]


__all__ = ["MASK", "mask_name"]
