"""Search keys for names: pinyin initials and full pinyin, computed on the server.

pypinyin does not know every character used in names (e.g. 𠮷). Unknown characters fall back
to a small table of readings, and otherwise are kept as they are, so search by the character
itself still works and nothing ever raises.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

log = logging.getLogger(__name__)

# Readings of rare name characters that pypinyin may lack (character -> pinyin without tone).
RARE_READINGS = {
    "𠮷": "ji",
    "䶮": "yan",
    "堃": "kun",
    "喆": "zhe",
    "犇": "ben",
    "淼": "miao",
    "昇": "sheng",
    "珺": "jun",
    "玥": "yue",
    "赟": "yun",
    "彧": "yu",
    "甦": "su",
}


def _readings(ch: str) -> list[str]:
    """All known readings of one character, lower-case; the character itself if none."""
    if ch in RARE_READINGS:
        return [RARE_READINGS[ch]]
    if not ch.strip():
        return []
    try:
        from pypinyin import Style, pinyin

        found = pinyin(ch, style=Style.NORMAL, heteronym=True, errors=_keep_as_is)[0]
    except Exception:  # pragma: no cover - never let search keys break a page
        log.warning("pypinyin failed on %r", ch, exc_info=True)
        return [ch.lower()]
    out = [r.lower() for r in found if r]
    return out or [ch.lower()]


def _keep_as_is(text: str) -> Any:
    """pypinyin's ``errors`` callback: text it has no reading for, kept (its stub says str; it takes a list)."""
    return [text]


def _keep_each_char(text: str) -> Any:
    return list(text)


def _lazy(name: str) -> list[str]:
    """One reading per character, in context (pypinyin's phrase data), with fallbacks."""
    try:
        from pypinyin import Style, lazy_pinyin

        parts = lazy_pinyin(name, style=Style.NORMAL, errors=_keep_each_char)
    except Exception:  # pragma: no cover
        log.warning("pypinyin failed on %r", name, exc_info=True)
        parts = list(name)
    chars = [c for c in name if c.strip()]
    if len(parts) != len(chars):
        return [_readings(c)[0] if _readings(c) else c for c in chars]
    return [RARE_READINGS.get(c, p.lower()) for c, p in zip(chars, parts)]


@functools.lru_cache(maxsize=65536)  # a county's names; pypinyin costs ~1 ms a name
def search_keys(name: str) -> str:
    """A space-separated string of search keys: initials and full pinyin.

    The surname may have several readings (曾 zeng/ceng, 单 shan/dan): every reading of the
    first character gives its own variant. Example: 向明华 -> "xmh xiangminghua".
    """
    name = (name or "").strip()
    if not name:
        return ""
    rest = _lazy(name)
    if not rest:
        return name.lower()
    first_options = list(dict.fromkeys([rest[0]] + _readings(name[0])))[:4]
    keys: list[str] = []
    for first in first_options:
        parts = [first] + rest[1:]
        keys.append("".join(p[:1] for p in parts))
        keys.append("".join(parts))
    return " ".join(dict.fromkeys(k for k in keys if k))


def matches(name: str, query: str) -> bool:
    """The server-side twin of the page's search (used by tests and the no-JS fallback)."""
    q = (query or "").strip().lower()
    if not q:
        return True
    return q in name.lower() or any(k.startswith(q) or q in k for k in search_keys(name).split())


__all__ = ["search_keys", "matches", "RARE_READINGS"]
