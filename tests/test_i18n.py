"""Every UI string is translated into zh_Hans, and the compiled catalogs match the sources."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from pointsapp import FEATURES

PKG = Path(__file__).resolve().parents[1] / "pointsapp"
METHODS = [("**/translations/**", "ignore"), ("**.py", "python"), ("**.html", "jinja2")]
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def _sources(feature: str) -> list[Path]:
    if feature == "web":
        return [PKG / "templates", PKG / "web"]
    return [PKG / feature]


def _catalog_dir(feature: str) -> Path:
    return PKG / "translations" if feature == "web" else PKG / feature / "translations"


def _msgids(feature: str) -> set[str]:
    msgids = set()
    for src in _sources(feature):
        if src.exists():
            for _file, _line, message, _comments, _ctx in extract_from_dir(str(src), METHODS, KEYWORDS):
                msgids.add(message if isinstance(message, str) else message[0])
    return msgids


@pytest.mark.parametrize("feature", FEATURES)
def test_every_string_has_a_chinese_translation(feature):
    po_path = _catalog_dir(feature) / "zh_Hans" / "LC_MESSAGES" / "messages.po"
    msgids = _msgids(feature)
    if not msgids:
        return
    assert po_path.exists(), f"{feature}: no zh_Hans catalog at {po_path} (run scripts/i18n {feature})"
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale="zh_Hans")
    translated = {}
    for m in catalog:
        if m.id:
            key = m.id if isinstance(m.id, str) else m.id[0]
            value = m.string if isinstance(m.string, str) else (m.string[0] if m.string else "")
            translated[key] = "" if m.fuzzy else value
    missing = sorted(i for i in msgids if not translated.get(i))
    assert not missing, f"{feature}: untranslated (run scripts/i18n {feature}, then translate): {missing[:20]}"


@pytest.mark.parametrize("feature", FEATURES)
def test_compiled_catalog_matches_its_source(feature):
    po_path = _catalog_dir(feature) / "zh_Hans" / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        assert not _msgids(feature), f"{feature} has UI strings but no catalog"
        return
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"run scripts/i18n compile ({mo_path} missing)"

    def key(value):  # plural messages come as lists/tuples
        return value if isinstance(value, str) else tuple(value)

    with po_path.open("rb") as fh:
        po = {key(m.id): key(m.string) for m in read_po(fh) if m.id and m.string and not m.fuzzy}
    with mo_path.open("rb") as fh:
        mo = {key(m.id): key(m.string) for m in read_mo(fh) if m.id}
    assert po == mo, f"{mo_path} is stale: run scripts/i18n compile"


def test_no_two_catalogs_translate_the_same_text_differently():
    """Catalogs are merged at run time, so a msgid translated two ways silently loses one."""
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for feature in FEATURES:
        po_path = _catalog_dir(feature) / "zh_Hans" / "LC_MESSAGES" / "messages.po"
        if not po_path.exists():
            continue
        with po_path.open("rb") as fh:
            for m in read_po(fh):
                if not m.id or not m.string or not isinstance(m.id, str):
                    continue
                if m.id in seen and seen[m.id][1] != m.string:
                    clashes.append(f"{m.id!r}: {seen[m.id][0]} {seen[m.id][1]!r} vs {feature} {m.string!r}")
                seen.setdefault(m.id, (feature, m.string))
    assert not clashes, "\n".join(clashes)
