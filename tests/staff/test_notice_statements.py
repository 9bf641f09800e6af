"""The staff 公示 page of a month issues as many SQL statements with 3N entries as with N: every
row's household, group, person and rule are loaded with the page (lazy loads from entries raise)."""
from __future__ import annotations

from pointsapp.extensions import db
from tests.conftest import close_app, login, make_app
from tests.villagers.conftest import build_scene
from tests.villagers.test_page_cache import _seed, counting, hot_lazy_loads_raise


def test_staff_notice_page_statements_do_not_grow_with_entries(tmp_path, monkeypatch, db_url):
    counts = []
    for n in (40, 120):
        url = db_url if "postgresql" in db_url else f"sqlite:///{tmp_path}/seeded{n}.db"
        app = make_app(url, tmp_path / f"instance{n}", monkeypatch)
        with app.app_context():
            sc = build_scene(db.session)
        _seed(app, sc, n)
        client = app.test_client()
        assert login(client, "rev1").status_code == 302
        client.get(f"/notices/{sc.notice_month}")   # warm up the session (user loader, locale)
        with hot_lazy_loads_raise(), counting(app) as seen:
            resp = client.get(f"/notices/{sc.notice_month}")
        assert resp.status_code == 200
        rows = resp.get_data(as_text=True).count("<tr data-entry=")
        counts.append((rows, len(seen)))
        close_app(app)
        if "postgresql" in db_url:
            from tests.conftest import _reset_pg

            _reset_pg(db_url)
    (rows_n, stmts_n), (rows_3n, stmts_3n) = counts
    assert rows_3n >= rows_n + 40            # the month holds half the seeded entries: 20 against 60
    assert stmts_3n == stmts_n, counts
