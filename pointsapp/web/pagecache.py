"""Public pages served from their content version: an ETag, a 304 for a copy the browser has,
and a rendered-page cache in this worker that can never be stale.

A view computes a *key* (a tuple) from everything its page depends on: the village's ledger
head and content versions (:func:`pointsapp.points.versions.page_state`), the locale, the local
date and the request path with its query. :func:`serve` then

* answers ``If-None-Match`` with 304 when the browser's copy has the same key;
* else returns the page rendered earlier for the same key (an in-process LRU bounded in bytes,
  ``POINTSAPP_PAGE_CACHE_BYTES``, default 16 MiB), or renders it once and keeps it; threads asking
  for a page while another thread of the worker renders it wait for that render.

No timer: a key is looked up only while it is the current one, and a new posting or change
makes a new key at once.

Private pages (a household's card) are sent ``Cache-Control: private, no-cache``. Their forms
carry a token bound to the card link (web.security.bound_form_token), not to a session, so the
page is the same for every visitor of that card within the token's time window (which is part of
the key): it can be cached, and a card page sets no cookie.
A page that shows a flashed message (after a form post) is rendered fresh and never cached.

:class:`FrontDoor` answers the commonest request before Flask: a page with a :class:`Door` (board,
notice, rules, a card) asked for by a visitor without a session, when this worker has that page for
the current key. It reads the key with the view's own function (so it can only hit a page the view
itself cached for that key), counts the view's throttle, and replays the headers the app sent with
that page. Everything else (a miss, a session, a refused throttle, a 404) goes on to Flask.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any
from dataclasses import dataclass, replace

from flask import Flask, Response, current_app, g, request, session
from werkzeug.http import parse_etags
from werkzeug.wrappers import Request

from ..points.periods import local_today
from ..points.versions import PageState
from .i18n import request_locale

DEFAULT_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Page:
    raw: bytes | None  # the body; None when only the gzip copy is kept
    status: int
    gz: bytes | None = None  # gzipped body, when smaller
    # The headers the app sent with this page (public pages, once served by Flask), less the
    # ones that differ per response: what the front door replays.
    headers: tuple[tuple[str, str], ...] | None = None
    etag: str = ""  # of the key it was kept under (the front door sends it without hashing the key again)

    @property
    def body(self) -> bytes:
        if self.raw is not None:
            return self.raw
        assert self.gz is not None
        return gzip.decompress(self.gz)  # a client that takes no gzip (phones' browsers all do)

    @property
    def size(self) -> int:
        return len(self.raw or b"") + len(self.gz or b"") + 200


class _Flight:
    """One render of a page in progress, which other threads asking for the same key wait for."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.page: Page | None = None


class PageCache:
    """A thread-safe LRU of rendered pages, bounded by their total size in bytes."""

    def __init__(self, max_bytes: int = DEFAULT_BYTES):
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, Page] = OrderedDict()
        self._values: OrderedDict[Hashable, Any] = OrderedDict()  # see memo()
        self._bytes = 0
        self._lock = threading.Lock()
        self._flights: dict[Hashable, _Flight] = {}  # keys being rendered now (get_or_render)
        self.hits = self.misses = 0
        self.shared = 0  # misses answered by another thread's render

    def get_or_render(self, key: Hashable, render: Callable[[], Page], wait: float = 30.0) -> Page:
        """The page for ``key``, rendered by ``render()`` only if no other thread of this worker is
        rendering it: when a posting changes the key, the phones asking at that moment wait for one
        render instead of each rendering the same page. A thread that waited longer than ``wait``
        seconds, or whose leader failed, renders the page itself."""
        with self._lock:
            page = self._items.get(key)
            if page is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return page
            self.misses += 1
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = _Flight()
        assert flight is not None
        if not leader:
            if flight.done.wait(wait) and flight.page is not None:
                self.shared += 1
                return flight.page
            page = render()
            self.put(key, page)
            return page
        try:
            flight.page = page = render()
            self.put(key, page)
            return page
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    def put(self, key: Hashable, page: Page) -> None:
        if page.size > self.max_bytes // 4:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._items[key] = page
            self._bytes += page.size
            while self._bytes > self.max_bytes and self._items:
                _k, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.size

    def peek(self, key: Hashable) -> Page | None:
        """The page for ``key`` if it is here and knows its headers (the front door's lookup)."""
        with self._lock:
            page = self._items.get(key)
            if page is None or page.headers is None:
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return page

    def remember_headers(self, key: Hashable, headers: tuple[tuple[str, str], ...]) -> None:
        with self._lock:
            page = self._items.get(key)
            if page is not None and page.headers is None:
                self._items[key] = replace(page, headers=headers)

    def value(self, key: Hashable, compute: Callable[[], Any], most: int = 64) -> Any:
        """The value for ``key``, computed once while it stays among the ``most`` recent ones."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = compute()
        with self._lock:
            self._values[key] = value
            while len(self._values) > most:
                self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._values.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)


def cache() -> PageCache:
    """This app's page cache (one per app: tests build many apps on databases with equal ids)."""
    return current_app.extensions["pointsapp_pages"]


def memo(key: Hashable, compute: Callable[[], Any]) -> Any:
    """A value that many pages share (what every card of a village shows alike), kept in this worker for
    ``key``, which must hold everything the value depends on (a village's :class:`PageState` key, the
    locale, the local date), so like the pages it is never stale. ``compute`` must return plain values,
    never ORM objects (they would outlive their session)."""
    return cache().value(key, compute)


def form_token_lifetime(app: Flask) -> int:
    """Seconds a form token stays valid (Flask-WTF's WTF_CSRF_TIME_LIMIT, default an hour)."""
    limit = app.config.get("WTF_CSRF_TIME_LIMIT", 3600)
    return int(limit) if limit else 3600


def page_key(req: Request, state: PageState, *extra: Hashable) -> tuple[tuple, dt.date]:
    """(the cache key of a page, the village's local date): the request's path and query, the village's
    ledger head and content versions, the locale, the local date and ``extra`` (a household, a form
    token). ``req`` is Flask's request or, in the front door, werkzeug's."""
    today = local_today(state.timezone)
    return (req.full_path, state.key, request_locale(req), today.isoformat(), *extra), today


def _etag(key: Hashable) -> str:
    return hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest()


def _accepts_gzip() -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


def serve(
    key: Hashable, render: Callable[[], str], *, private: bool = False, form_token: str | None = None
) -> Response:
    """The page for ``key``: 304, a cached copy, or ``render()`` (a template's HTML).

    ``private``: a page for one household (``Cache-Control: private``). ``form_token``: what the
    page's ``csrf_token()`` gives (a token bound to the page's credential, part of ``key``); without
    it a page must have no forms, since a session's token would be cached for everyone.
    """
    cache_control = "private, no-cache" if private else "no-cache"
    if "_flashes" in session:  # a message for this visitor only: never cached, never a 304
        g.pointsapp_form_token = form_token
        resp = Response(render(), mimetype="text/html")
        resp.headers["Cache-Control"] = "private, no-store"
        return resp
    etag = _etag(key)
    if etag in request.if_none_match:
        resp = Response(status=304)
        resp.set_etag(etag)
        resp.headers["Cache-Control"] = cache_control
        return resp
    page = cache().get_or_render(key, lambda: _render(render, form_token, etag))
    request.environ[_ENVIRON_KEY] = key  # the front door keeps this response's headers
    if page.gz is not None and _accepts_gzip():
        resp = Response(page.gz, status=page.status, mimetype="text/html")
        resp.headers["Content-Encoding"] = "gzip"  # web.assets.Compress leaves it alone
        resp.set_etag(etag, weak=True)
    else:
        resp = Response(page.body, status=page.status, mimetype="text/html")
        resp.set_etag(etag)
    resp.headers["Cache-Control"] = cache_control
    return resp


def _render(render: Callable[[], str], form_token: str | None, etag: str) -> Page:
    g.pointsapp_form_token = form_token
    g.pointsapp_cached_render = True
    try:
        body = render().encode()
    finally:
        g.pop("pointsapp_cached_render", None)
    gz = gzip.compress(body, compresslevel=6, mtime=0)
    if len(gz) >= len(body):
        return Page(body, 200, None, etag=etag)
    # A page per household (a card, with its form token) is kept gzipped only: 529 cards take about
    # 2 MB instead of 11 in each worker. A village's few public pages keep both copies.
    return Page(None if form_token else body, 200, gz, etag=etag)


def csrf_token() -> str:
    """The template's ``csrf_token()``: the page's bound form token on a page served by :func:`serve`,
    else the session's (Flask-WTF)."""
    from flask_wtf.csrf import generate_csrf

    token = g.get("pointsapp_form_token")
    if token:
        return token
    if g.get("pointsapp_cached_render"):
        raise RuntimeError("a page cached for everyone asked for a session's CSRF token")
    return generate_csrf()


# --- the front door ------------------------------------------------------------------------------

_ENVIRON_KEY = "pointsapp.page_key"
_FOUND = "pointsapp.front_door.found"
_DOORS = "pointsapp_front_doors"
# Headers that differ from one response of a page to the next; the rest are replayed as the app sent them.
_PER_RESPONSE = frozenset({"content-length", "content-encoding", "etag", "date", "server", "set-cookie"})
log = logging.getLogger(__name__)


class KeyReader:
    """The front door's own connection (one per thread), for the one-row SELECTs of a page key
    (:mod:`pointsapp.points.versions`). It runs each statement, compiled once, straight on the driver's
    connection in autocommit: one statement, one round trip on PostgreSQL, no BEGIN or ROLLBACK on
    SQLite, and none of SQLAlchemy's per-execution work, which cost as much as the round trip.
    ``execute(statement, params).first()`` as on a SQLAlchemy connection.

    On PostgreSQL each statement is prepared once on the connection and run with libpq's
    PQexecPrepared (psycopg's ``pgconn``, which lets go of the GIL while it waits): psycopg's own
    execute spent 47 µs of the worker's CPU per key read in Python (generators, its wait loop,
    loaders), this 13 µs. Values go as text and come back as text, converted by their type."""

    def __init__(self, engine):
        self.dialect = engine.dialect
        self._pooled = engine.raw_connection()  # returned to the pool (closed) by close()
        self.dbapi = self._pooled.driver_connection
        self._pq = None
        if self.dialect.name == "sqlite":  # a key read touches a few pages: no 2 MB page cache per thread
            self.dbapi.execute("PRAGMA cache_size = -128")  # (autocommit: the engine's connect hook)
        else:
            self.dbapi.autocommit = True
            self._pq = getattr(self.dbapi, "pgconn", None)  # psycopg 3; another driver takes the DB-API path
        self._compiled: dict[Any, tuple[Any, dict, tuple[str, ...] | None]] = {}
        self.closed = False

    def _compile(self, stmt) -> tuple[Any, dict, tuple[str, ...] | None]:
        if self._pq is not None:
            compiled = stmt.compile(dialect=_numbered(self.dialect))
            name = f"pointsapp_key_{len(self._compiled) + 1}".encode()
            result = self._pq.prepare(name, compiled.string.encode())
            if result.status != _libpq().ExecStatus.COMMAND_OK:
                raise _pg_error(result)
            return name, dict(compiled.params), tuple(compiled.positiontup)
        compiled = stmt.compile(dialect=self.dialect)
        positional = tuple(compiled.positiontup) if compiled.positional else None
        return compiled.string, dict(compiled.params), positional

    def execute(self, stmt, params: dict | None = None) -> _Row:
        found = self._compiled.get(stmt)
        if found is None:
            found = self._compiled[stmt] = self._compile(stmt)
        sql, defaults, order = found
        values = {**defaults, **params} if params else defaults
        if self._pq is not None:
            assert order is not None
            return _Row(self._exec_prepared(sql, [_pg_text(values[name]) for name in order]))
        args = tuple(values[name] for name in order) if order is not None else values
        return _Row(self.dbapi.execute(sql, args).fetchone())

    def _exec_prepared(self, name: bytes, args: list) -> tuple | None:
        result = self._pq.exec_prepared(name, args)
        if result.status != _libpq().ExecStatus.TUPLES_OK:
            raise _pg_error(result)
        if not result.ntuples:
            return None
        return tuple(_pg_value(result.ftype(i), result.get_value(0, i)) for i in range(result.nfields))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._pooled.invalidate()  # closes the driver's connection (it may be broken)
        except Exception:  # noqa: BLE001  already unusable
            pass


def _libpq():
    from psycopg import pq

    return pq


@functools.cache
def _numbered(dialect):
    """The same PostgreSQL dialect writing its parameters as $1, $2 … (what libpq's PQprepare takes)."""
    return type(dialect)(paramstyle="numeric_dollar")


def _pg_error(result) -> Exception:
    import psycopg

    return psycopg.OperationalError((result.error_message or b"").decode("utf-8", "replace").strip())


def _pg_text(value: Any) -> bytes | None:
    """A parameter in PostgreSQL's text format (the key statements take integers and strings)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, int | str):
        return str(value).encode()
    raise TypeError(f"a key statement takes no {type(value).__name__} parameter")


# Result columns by type oid: bool; int8, int2, int4; text, varchar, name, bpchar.
_FROM_TEXT: dict[int, Callable[[bytes], Any]] = {
    16: lambda b: b == b"t",
    20: int,
    21: int,
    23: int,
    25: bytes.decode,
    1043: bytes.decode,
    19: bytes.decode,
    1042: bytes.decode,
}


def _pg_value(oid: int, raw: bytes | None) -> Any:
    if raw is None:
        return None
    convert = _FROM_TEXT.get(oid)
    if convert is None:
        raise TypeError(f"a key statement returned a column of type oid {oid}")
    return convert(raw)


@dataclass(frozen=True)
class _Row:
    row: tuple | None

    def first(self) -> tuple | None:
        return self.row


def looked_up(req: Request, read: Callable[[], Any]) -> Any:
    """What the front door read for this request with its :class:`Door`'s ``key`` (on a miss), else ``read()``."""
    found = req.environ.get(_FOUND)
    return read() if found is None else found[0]


@dataclass(frozen=True)
class Door:
    """A page the front door may answer. ``match(path)``: whether this request path is the page.
    ``key(app, request, connection)``: what the view reads first, exactly as the view reads it, as a tuple
    whose first item is the page's cache key (None: no such page; the app answers); the view takes it
    with :func:`looked_up`. ``admit(app, request)``: a throttle the view also applies, counted only when
    the front door answers."""

    match: Callable[[str], bool]
    key: Callable[[Flask, Request, Any], tuple | None]
    admit: Callable[[Flask, Request], bool] | None = None


def front_door(blueprint, door: Door) -> None:
    """Let the front door answer ``door``'s page (the blueprint's view must serve it with :func:`serve`)."""
    blueprint.record_once(lambda state: state.app.extensions.setdefault(_DOORS, []).append(door))


class FrontDoor:
    """WSGI middleware: answer a GET for a page with a :class:`Door` from this worker's cache, before
    Flask, when the visitor has no session (so no flashed message meant for them alone).

    Only a page the view itself cached under the current key, with the headers the app sent with it,
    is answered here. A miss, a session, a refused throttle, an unknown village or card, or a
    database error goes on to the app, which answers (and logs) as always.
    """

    def __init__(self, app: Flask, wsgi_app: Callable, doors: Iterable[Door]):
        self.app = app
        self.wsgi_app = wsgi_app
        self.doors = tuple(doors)
        self.session_cookie = app.config.get("SESSION_COOKIE_NAME", "session")
        self._engine = None
        # Each thread keeps one connection for its key reads: no pool checkout and no pre-ping (a round
        # trip on PostgreSQL) per request. A failed read drops it (the app answers); disposing the app's
        # engine closes them all.
        self._local = threading.local()
        self._held: list = []
        self._held_lock = threading.Lock()

    def engine(self):
        if self._engine is None:
            from sqlalchemy import event

            from ..extensions import db

            with self.app.app_context():
                engine = db.engine
            event.listen(engine, "engine_disposed", lambda _engine: self.close())
            self._engine = engine
        return self._engine

    def _connection(self) -> KeyReader:
        reader = getattr(self._local, "conn", None)
        if reader is None or reader.closed:
            reader = KeyReader(self.engine())
            self._local.conn = reader
            with self._held_lock:
                self._held.append(reader)
        return reader

    def _drop_connection(self) -> None:
        reader = self._local.__dict__.pop("conn", None)
        if reader is not None:
            with self._held_lock:
                if reader in self._held:  # (not when close() came first)
                    self._held.remove(reader)
            reader.close()

    def close(self) -> None:
        """Close every thread's connection (the app's engine was disposed)."""
        with self._held_lock:
            held, self._held = self._held, []
        for reader in held:
            reader.close()

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "GET":
            return self.wsgi_app(environ, start_response)
        path = environ.get("PATH_INFO", "")
        door = next((d for d in self.doors if d.match(path)), None)
        if door is None:
            return self.wsgi_app(environ, start_response)
        req = Request(environ)
        if self.session_cookie in req.cookies:
            return self.wsgi_app(environ, start_response)
        try:
            found = self._lookup(door, req)
        except Exception:  # noqa: BLE001  the app will meet the same problem and answer it properly
            log.warning("front door: lookup failed; the app answers", exc_info=True)
            found = None
        if found is None:
            return self.wsgi_app(environ, self._learning(environ, start_response))
        etag, page = found
        headers = list(page.headers or ())
        inm = environ.get("HTTP_IF_NONE_MATCH")
        if inm and etag in parse_etags(inm.replace("W/", "")):
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            headers.append(("ETag", f'"{etag}"'))
            start_response("304 NOT MODIFIED", headers)
            return []
        if page.gz is not None and "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "").lower():
            body = page.gz
            headers += [("Content-Encoding", "gzip"), ("ETag", f'W/"{etag}"')]
        else:
            body = page.body
            headers.append(("ETag", f'"{etag}"'))
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [body]

    def _lookup(self, door: Door, req: Request) -> tuple[str, Page] | None:
        try:
            found = door.key(self.app, req, self._connection())
        except Exception:
            self._drop_connection()
            raise
        # On a miss the view takes what was read here (looked_up) instead of reading it again. Read before
        # the view's own transaction, the key can only be older than what the view renders, never newer:
        # the next request reads the newer key and misses.
        req.environ[_FOUND] = (found,)
        if found is None:
            return None
        key = found[0]
        page = self.app.extensions["pointsapp_pages"].peek(key)
        if page is None or (door.admit is not None and not door.admit(self.app, req)):
            return None
        return page.etag, page

    def _learning(self, environ, start_response):
        """start_response that keeps the headers of a page the view served from (or into) the cache."""

        def capture(status, headers, exc_info=None):
            key = environ.get(_ENVIRON_KEY)
            if key is not None and status.startswith("200 ") and not any(k.lower() == "set-cookie" for k, _ in headers):
                kept = tuple((k, v) for k, v in headers if k.lower() not in _PER_RESPONSE)
                self.app.extensions["pointsapp_pages"].remember_headers(key, kept)
            return start_response(status, headers, exc_info)

        return capture


def init_app(app) -> None:
    """Call after CSRFProtect.init_app and after the blueprints are registered: its ``csrf_token`` (a Jinja
    global and a context processor) is replaced by :func:`csrf_token`, which gives a served page's bound
    form token, else the session's; the pages with a :class:`Door` get the front door."""
    app.extensions["pointsapp_pages"] = PageCache(int(app.config.get("POINTSAPP_PAGE_CACHE_BYTES") or DEFAULT_BYTES))
    if app.extensions.get(_DOORS):
        app.wsgi_app = FrontDoor(app, app.wsgi_app, app.extensions[_DOORS])
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: {"csrf_token": csrf_token})
