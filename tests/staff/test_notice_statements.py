"""The staff 公示 page of a month issues as many SQL statements with 3N entries as with N: every
row's household, group, person and rule are loaded with the page (lazy loads from entries raise)."""

from __future__ import annotations

from tests.conftest import login
from tests.villagers.test_page_cache import counting, hot_lazy_loads_raise, seeded_apps


def test_staff_notice_page_statements_do_not_grow_with_entries(tmp_path, monkeypatch, db_url):
    counts = []
    for app, sc in seeded_apps(db_url, tmp_path, monkeypatch):
        client = app.test_client()
        assert login(client, "rev1").status_code == 302
        client.get(f"/notices/{sc.notice_month}")  # warm up the session (user loader, locale)
        with hot_lazy_loads_raise(), counting(app) as seen:
            resp = client.get(f"/notices/{sc.notice_month}")
        assert resp.status_code == 200
        counts.append((resp.get_data(as_text=True).count("<tr data-entry="), len(seen)))
    (rows_n, stmts_n), (rows_3n, stmts_3n) = counts
    assert rows_3n >= rows_n + 40  # the month holds half the seeded entries: 20 against 60
    assert stmts_3n == stmts_n, counts
