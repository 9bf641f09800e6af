"""The reports pages in Chinese and in English (catalog completeness: tests/test_i18n.py)."""

from __future__ import annotations


def test_dashboard_in_english_and_chinese(client, app_world):
    from tests.conftest import login

    assert login(client, "admin1").status_code == 302
    zh = client.get("/dashboard").get_data(as_text=True)
    # No points posted this month (the test village has none): last month against the month before.
    assert "上月与前一个月对比" in zh and "积分排行榜" in zh
    client.get("/lang/en?next=/")
    en = client.get("/dashboard").get_data(as_text=True)
    assert "Last month against the month before" in en and "Leaderboard" in en
