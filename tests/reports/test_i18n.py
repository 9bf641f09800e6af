"""The reports pages in Chinese and in English (catalog completeness: tests/test_i18n.py)."""
from __future__ import annotations

def test_catalog_covers_every_string_in_the_source():
    method_map = [("**.py", "python"), ("**.html", "jinja2")]
    keywords = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None}
    found = {msg[2] if isinstance(msg[2], str) else msg[2][0]
             for msg in extract_from_dir(str(REPO / "pointsapp" / "reports"), method_map, keywords=keywords)}
    catalog = {m.id for m in read_po(PO.open("rb")) if m.id}
    assert not found - catalog, f"run scripts/i18n reports: {sorted(found - catalog)}"


def test_dashboard_in_english_and_chinese(client, app_world):
    from tests.reports.conftest import sign_in

    sign_in(client, app_world["users"]["admin1"])
    zh = client.get("/dashboard").get_data(as_text=True)
    assert "本月与上月对比" in zh and "积分排行榜" in zh
    client.get("/lang/en?next=/")
    en = client.get("/dashboard").get_data(as_text=True)
    assert "This month against last month" in en and "Leaderboard" in en
