import pytest

from pointsapp import create_app
from pointsapp.config import ConfigError


def test_home_page_in_chinese_by_default(client):
    resp = client.get("/")
    assert resp.status_code == 200
    assert "村级积分" in resp.get_data(as_text=True)


def test_english_switch_is_remembered(client):
    resp = client.get("/lang/en?next=/")
    assert resp.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Village points" in page and "村级积分" not in page


def test_refuses_to_start_without_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("POINTSAPP_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("POINTSAPP_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app({"POINTSAPP_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})


def test_unknown_page_is_a_clear_404(client):
    resp = client.get("/no-such-page")
    assert resp.status_code == 404
    assert "找不到页面" in resp.get_data(as_text=True)


def test_page_reads_do_not_wait_for_the_sqlite_write_lock(app, client, db_url):
    """A GET runs in a deferred transaction, so a writer holding the lock doesn't stall pages."""
    import sqlite3
    import threading

    if not db_url.startswith("sqlite"):
        assert client.get("/healthz").status_code == 200  # PostgreSQL readers never wait (MVCC)
        return
    holder = sqlite3.connect(db_url[len("sqlite:///") :], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    done = []
    t = threading.Thread(target=lambda: done.append(client.get("/healthz").status_code))
    t.start()
    t.join(5)
    in_time = list(done)
    holder.execute("ROLLBACK")
    holder.close()
    t.join(40)
    assert in_time == [200], "a GET waited for the write lock"


def test_proxy_count_trusts_forwarded_addresses(tmp_path, monkeypatch):
    from flask import request
    from werkzeug.middleware.proxy_fix import ProxyFix

    monkeypatch.setenv("POINTSAPP_INSTANCE_PATH", str(tmp_path))
    app = create_app(
        {
            "TESTING": True,
            "POINTSAPP_SECRET_KEY": "x",
            "POINTSAPP_PROXY_COUNT": "1",
            "POINTSAPP_DATABASE_URL": f"sqlite:///{tmp_path}/p.db",
        }
    )
    assert isinstance(app.wsgi_app, ProxyFix)
    seen = []
    app.before_request(lambda: seen.append(request.remote_addr))
    app.test_client().get(
        "/no-such-page", headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "127.0.0.1"}
    )
    assert seen == ["203.0.113.7"]
