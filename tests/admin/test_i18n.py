"""The admin pages in Chinese and in English (catalog completeness: tests/test_i18n.py)."""

from __future__ import annotations


def test_admin_pages_in_chinese_and_english(admin, app_world):
    zh = admin.get("/admin/rules").get_data(as_text=True)
    assert "积分细则" in zh and "可登记角色" in zh
    admin.get("/lang/en?next=/")
    en = admin.get("/admin/rules").get_data(as_text=True)
    assert "Rule book" in en and "Recorded by" in en
    for url in (
        "/admin/",
        "/admin/households",
        "/admin/groups",
        "/admin/roster",
        "/admin/users",
        "/admin/audit",
        "/admin/settings",
        "/admin/rules/DJ-01",
        "/admin/rules/DJ-01/edit",
        "/admin/rules/upload",
        "/admin/users/new",
        "/admin/households/new",
        f"/admin/households/{app_world['households'][0]}",
        f"/admin/villagers/{app_world['people'][0][0]}",
    ):
        assert admin.get(url).status_code == 200, url
