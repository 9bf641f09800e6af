"""The one home of the labels shown for periods and entry kinds, translated through Babel.

Pages call these in the request's language. Documents that are printed or exported in
Chinese only (the ceremony pack, chart images, the ledger workbook) pass ``locale="zh_Hans"``:
the same labels, read from the same catalog (``pointsapp/translations``) without a request.
"""

from __future__ import annotations

import functools
from pathlib import Path

from babel.dates import format_skeleton
from babel.support import Translations
from flask_babel import get_locale
from flask_babel import gettext as _flask_gettext

from ..points.ledger import EntryKind
from ..points.periods import parse_period

#: The language of printed and exported documents.
PRINT_LOCALE = "zh_Hans"
_CATALOG = Path(__file__).resolve().parent.parent / "translations"


@functools.lru_cache(maxsize=4)
def _catalog(locale: str) -> Translations:
    return Translations.load(str(_CATALOG), [locale])


def _(msgid: str, locale: str | None = None, **params: object) -> str:
    """gettext in the request's language, or in ``locale`` when one is given."""
    if locale is None:
        return _flask_gettext(msgid, **params)
    text = _catalog(locale).gettext(msgid)
    return text % params if params else text


def period_label(key: str, locale: str | None = None) -> str:
    """2026-11 → 2026年11月 / November 2026; 2026-Q4 → 2026年第4季度; 2026 → 2026年; all → 累计."""
    p = parse_period(key)
    if p.key == "all":
        return _("All time", locale)
    if "Q" in p.key:
        return _("Q%(quarter)s %(year)s", locale, quarter=p.key[-1], year=p.key[:4])
    if len(p.key) == 4:
        return _("Year %(year)s", locale, year=p.key)
    return format_skeleton("yMMMM", p.start, locale=locale or get_locale() or PRINT_LOCALE)


def kind_label(kind: EntryKind | str, locale: str | None = None) -> str:
    """加分 / 扣分 / 更正 / 兑换 / 过期 (Award, Deduction …) for an entry kind; unknown kinds as given."""
    try:
        kind = EntryKind(kind)
    except ValueError:
        return str(kind)
    return {
        EntryKind.award: lambda: _("Award", locale),
        EntryKind.deduction: lambda: _("Deduction", locale),
        EntryKind.correction: lambda: _("Correction", locale),
        EntryKind.redemption: lambda: _("Redeemed", locale),
        EntryKind.expiry: lambda: _("Expired", locale),
    }[kind]()


__all__ = ["PRINT_LOCALE", "kind_label", "period_label"]
