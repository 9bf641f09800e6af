"""pointsapp: an open points system for village governance (乡村治理积分制)."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

__version__ = "0.1.0"

# Feature packages; each has ``routes.bp``. Order matters only for URL precedence.
FEATURES = ("web", "staff", "admin", "villagers", "reports", "shop")
# Each feature keeps its own message catalog; Flask-Babel merges them.
TRANSLATION_DIRS = ("translations",) + tuple(f"{f}/translations" for f in FEATURES[1:])


def import_models() -> None:
    """Import the core models and every feature's ``models`` module, so metadata is complete."""
    import importlib
    import importlib.util

    importlib.import_module(f"{__name__}.points.models")
    for name in FEATURES:
        if importlib.util.find_spec(f"{__name__}.{name}.models") is not None:
            importlib.import_module(f"{__name__}.{name}.models")


def _sqlite_read_requests(app) -> None:
    """GET/HEAD requests read in deferred SQLite transactions (see points.engine.write_intent)."""
    from flask import g, request

    from .points.engine import write_intent

    @app.before_request
    def _read_only_for_safe_methods():
        if request.method in ("GET", "HEAD", "OPTIONS"):
            g._write_intent_token = write_intent.set(False)

    @app.teardown_request
    def _restore_write_intent(_exc):
        token = g.pop("_write_intent_token", None)
        if token is not None:
            write_intent.reset(token)


def _configure_rate_limits(app) -> None:
    """Flask-Limiter's storage: POINTSAPP_RATELIMIT_STORAGE_URL (Redis for several machines or
    workers), else a SQLite file in the instance folder that all workers of this machine share."""
    from .web import ratelimit_storage

    url = (app.config.get("POINTSAPP_RATELIMIT_STORAGE_URL") or "").strip()
    if url:
        app.config["RATELIMIT_STORAGE_URI"] = url
    elif not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = ratelimit_storage.default_uri(app.instance_path)
    if app.config["RATELIMIT_STORAGE_URI"].startswith("redis"):
        # keys of several installations on one Redis stay apart
        app.config.setdefault("RATELIMIT_KEY_PREFIX", app.config.get("POINTSAPP_RATELIMIT_KEY_PREFIX", "pointsapp"))


def create_app(test_config: dict | None = None, *, for_cli: bool = False) -> Flask:
    """The app factory. Does no schema work: ``pointsapp init-db`` applies migrations."""
    from flask import Flask

    from .config import load_config, require_secret_key
    from .extensions import babel, csrf, db, limiter, login_manager, migrate
    from .points.engine import configure_sqlite
    from .web.assets import Compress

    import_models()
    from .web.i18n import select_locale

    app = Flask(
        __name__, instance_relative_config=True, instance_path=os.environ.get("POINTSAPP_INSTANCE_PATH") or None
    )
    load_config(app, test_config)
    app.wsgi_app = Compress(app.wsgi_app)  # gzip by the app itself (see web/assets.py)
    if for_cli:  # one command, one short transaction: no pool to leave connections open
        from sqlalchemy.pool import NullPool

        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"], "poolclass": NullPool}
    if not for_cli:
        require_secret_key(app)
    os.makedirs(app.instance_path, exist_ok=True)

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=";".join(TRANSLATION_DIRS))
    _configure_rate_limits(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    import importlib

    for name in FEATURES:
        module = importlib.import_module(f"{__name__}.{name}.routes")
        app.register_blueprint(module.bp)

    from .web import (
        auth,  # noqa: F401  (registers the user loader)
        transaction,
    )
    from .web.assets import init_assets
    from .web.errors import register_error_handlers
    from .web.i18n import inject_language

    register_error_handlers(app)
    transaction.init_app(app)
    from .web.security import register_security_headers

    register_security_headers(app)
    app.context_processor(inject_language)
    init_assets(app)  # versioned static URLs with a long cache life
    from .web import pagecache

    pagecache.init_app(app)  # public pages: ETag, 304, a rendered-page cache keyed on content versions, front door
    proxies = int(app.config.get("POINTSAPP_PROXY_COUNT") or 0)
    if proxies:  # behind nginx: rate limits (the front door's too) must see the visitor's address, not the proxy's
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    _sqlite_read_requests(app)
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO)
    return app
