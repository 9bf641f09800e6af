"""Period and entry-kind labels (pointsapp/web/labels.py): one home, in both languages, and in
Chinese for printed documents without a request. Expected texts are written out here."""

from __future__ import annotations

import pytest

from pointsapp.points.ledger import EntryKind
from pointsapp.web.labels import PRINT_LOCALE, kind_label, period_label

ZH = {"2026-11": "2026年11月", "2026-Q4": "2026年第4季度", "2026": "2026年", "all": "累计"}
EN = {"2026-11": "November 2026", "2026-Q4": "Q4 2026", "2026": "Year 2026", "all": "All time"}
KINDS_ZH = {"award": "加分", "deduction": "扣分", "correction": "更正", "redemption": "兑换", "expiry": "过期"}
KINDS_EN = {
    "award": "Award",
    "deduction": "Deduction",
    "correction": "Correction",
    "redemption": "Redeemed",
    "expiry": "Expired",
}


def test_printed_documents_get_chinese_without_a_request():
    assert {k: period_label(k, PRINT_LOCALE) for k in ZH} == ZH
    assert {k: kind_label(k, PRINT_LOCALE) for k in KINDS_ZH} == KINDS_ZH
    assert kind_label(EntryKind.award, PRINT_LOCALE) == "加分"
    assert kind_label("odd", PRINT_LOCALE) == "odd"


@pytest.mark.parametrize("lang,periods,kinds", [("zh_Hans", ZH, KINDS_ZH), ("en", EN, KINDS_EN)])
def test_pages_get_the_request_language(app, lang, periods, kinds):
    with app.test_request_context(f"/?lang={lang}"):
        assert {k: period_label(k) for k in periods} == periods
        assert {k: kind_label(k) for k in kinds} == kinds


def test_dashboard_period_choices_follow_the_language(app):
    import datetime as dt

    from pointsapp.reports.dashboard import period_choices

    with app.test_request_context("/?lang=en"):
        choices = period_choices(dt.date(2026, 12, 1))
    assert choices[0] == ("2026-12", "December 2026") and choices[1] == ("2026-11", "November 2026")
    assert ("2026-Q4", "Q4 2026") in choices and choices[-1] == ("all", "All time")
    assert [k for k, _ in choices[13:18]] == ["2026-Q4", "2026-Q3", "2026-Q2", "2026-Q1", "2025-Q4"]
