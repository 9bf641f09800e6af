"""Pinyin search keys: initials and full pinyin, rare characters never break anything."""

from __future__ import annotations

import pytest

from pointsapp.points.pinyin import matches, search_keys


def test_initials_and_full_pinyin():
    assert search_keys("向明华").split()[:2] == ["xmh", "xiangminghua"]
    assert matches("向明华", "xmh") and matches("向明华", "xiangm") and matches("向明华", "明")
    assert not matches("向明华", "tg")


def test_surname_readings():
    assert matches("曾国藩", "zgf") and matches("单雄信", "sxx")


@pytest.mark.parametrize("name, query", [("杨明𠮷", "ymj"), ("贾德䶮", "jdy"), ("杨明𠮷", "𠮷")])
def test_rare_characters(name, query):
    assert matches(name, query)


@pytest.mark.parametrize("name", ["", "  ", "Anna", "王😀", "\U0003134a\U0003134b", "a\u0301", "张-李", "𠀀𠀁"])
def test_never_crashes(name):
    assert isinstance(search_keys(name), str)
    assert matches(name, "")
