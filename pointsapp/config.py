"""Configuration: environment variables first, then ``instance/config.py``, then defaults."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

# name -> (default, description); the README's configuration table lists the same.
SETTINGS = {
    "POINTSAPP_DATABASE_URL": (
        None,
        "SQLAlchemy URL. Default: SQLite `instance/pointsapp.db` (WAL, foreign keys, busy timeout).",
    ),
    "POINTSAPP_SECRET_KEY": (
        None,
        "Session signing key. Required to serve; `pointsapp init-db` writes a random one to `instance/config.py`.",
    ),
    "POINTSAPP_TIMEZONE": ("Asia/Shanghai", "Local time zone that defines days and months."),
    "POINTSAPP_BASE_URL": ("", "Public address used in printed QR cards, e.g. https://points.example.cn"),
    "POINTSAPP_PROXY_COUNT": (
        "0",
        "Reverse proxies in front of the app whose X-Forwarded-* headers are trusted (client address for rate limits).",
    ),
    "POINTSAPP_RATELIMIT_STORAGE_URL": (
        "",
        "Where rate-limit counters live, shared by every worker: `redis://127.0.0.1:6379/0` (recommended with several workers), or empty for a file `instance/ratelimits.counters` that all workers of one machine share.",
    ),
    "POINTSAPP_SECURE_COOKIES": (
        "",
        "Set to 1 when the site is served over HTTPS: session and remember-me cookies get the Secure flag.",
    ),
    "POINTSAPP_HSTS_SECONDS": (
        "0",
        "When served over HTTPS only: send Strict-Transport-Security with this max-age (e.g. 31536000).",
    ),
}


class ConfigError(RuntimeError):
    pass


def load_config(app, test_config: dict | None) -> None:
    app.config.from_mapping(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
        BABEL_DEFAULT_LOCALE="zh_Hans_CN",
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        PERMANENT_SESSION_LIFETIME=10 * 3600,  # a working day on a shared office PC
        REMEMBER_COOKIE_DURATION=30 * 24 * 3600,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # A signed-in session ends this long after sign-in, however active (the cookie cannot
        # slide it); a remember-me token the same after it was issued.
        POINTSAPP_SESSION_ABSOLUTE_SECONDS=12 * 3600,
        # One-time passwords (new accounts, resets) stop working after this long.
        POINTSAPP_ONE_TIME_PASSWORD_SECONDS=72 * 3600,
    )
    app.config.from_pyfile("config.py", silent=True)
    for name, (default, _doc) in SETTINGS.items():
        value = os.environ.get(name) or app.config.get(name) or default
        app.config[name] = value
    if test_config:
        app.config.update(test_config)
    url = app.config["POINTSAPP_DATABASE_URL"] or f"sqlite:///{Path(app.instance_path) / 'pointsapp.db'}"
    app.config["POINTSAPP_DATABASE_URL"] = url
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config["SECRET_KEY"] = app.config["POINTSAPP_SECRET_KEY"]
    secure = str(app.config["POINTSAPP_SECURE_COOKIES"]).strip().lower() in ("1", "true", "yes", "on")
    app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = secure
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["POINTSAPP_TIMEZONE"]


def require_secret_key(app) -> None:
    if not app.config.get("SECRET_KEY") and not app.testing:
        raise ConfigError(
            "POINTSAPP_SECRET_KEY is not set. Run `pointsapp init-db` (it writes a random key to "
            "instance/config.py) or set the environment variable."
        )


def ensure_instance_secret(instance_path: str) -> bool:
    """Write a random secret key to instance/config.py if none is configured. True if written."""
    path = Path(instance_path) / "config.py"
    if os.environ.get("POINTSAPP_SECRET_KEY"):
        return False
    text = path.read_text() if path.exists() else ""
    if "POINTSAPP_SECRET_KEY" in text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fh.write(f"POINTSAPP_SECRET_KEY = {secrets.token_hex(32)!r}\n")
    path.chmod(0o600)
    return True
