"""Public pages served from their content version: an ETag, a 304 for a copy the browser has,
and a rendered-page cache in this worker that can never be stale.

A view computes a *key* (a tuple) from everything its page depends on: the village's ledger
head and content versions (:func:`pointsapp.points.versions.page_state`), the locale, the local
date and the request path with its query. :func:`serve` then

* answers ``If-None-Match`` with 304 when the browser's copy has the same key;
* else returns the page rendered earlier for the same key (an in-process LRU bounded in bytes,
  ``POINTSAPP_PAGE_CACHE_BYTES``, default 16 MiB), or renders it once and keeps it.

No timer: a key is looked up only while it is the current one, and a new posting or change
makes a new key at once.

Private pages (a household's card) are sent ``Cache-Control: private, no-cache``. Their forms
carry a CSRF token that belongs to the visitor's session: the page is cached with a placeholder
where the token goes and the token is put in for each response, and the ETag includes the
session's CSRF secret (hashed), so one browser's copy never validates for another session.
A page that shows a flashed message (after a form post) is rendered fresh and never cached.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from flask import Response, current_app, request, session

DEFAULT_BYTES = 16 * 1024 * 1024
_PLACEHOLDER = "\x00csrf-token-placeholder\x00"
_PLACEHOLDER_BYTES = _PLACEHOLDER.encode()


@dataclass(frozen=True)
class Page:
    body: bytes
    status: int
    private: bool
    gz: bytes | None = None  # gzipped body (public pages only: a private body differs per response)

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gz or b"") + 200


class PageCache:
    """A thread-safe LRU of rendered pages, bounded by their total size in bytes."""

    def __init__(self, max_bytes: int = DEFAULT_BYTES):
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, Page] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> Page | None:
        with self._lock:
            page = self._items.get(key)
            if page is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return page

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

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)


def cache() -> PageCache:
    """This app's page cache (one per app: tests build many apps on databases with equal ids)."""
    return current_app.extensions["pointsapp_pages"]


def _csrf_lifetime() -> int:
    limit = current_app.config.get("WTF_CSRF_TIME_LIMIT", 3600)
    return int(limit) if limit else 0


def _etag(key: Hashable, private: bool) -> str:
    h = hashlib.blake2b(repr(key).encode(), digest_size=12)
    if private:
        # The browser's copy holds a CSRF token of its session: only that session may reuse it,
        # and only while the token is young enough (half the token's lifetime).
        h.update(str(session.get("csrf_token", "")).encode())
        lifetime = _csrf_lifetime()
        if lifetime:
            h.update(str(int(time.time()) // max(1, lifetime // 2)).encode())
    return h.hexdigest()


def _accepts_gzip() -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


def serve(key: Hashable, render: Callable[[], str], *, private: bool = False) -> Response:
    """The page for ``key``: 304, a cached copy, or ``render()`` (a template's HTML)."""
    cache_control = "private, no-cache" if private else "no-cache"
    if "_flashes" in session:  # a message for this visitor only: never cached, never a 304
        resp = Response(render(), mimetype="text/html")
        resp.headers["Cache-Control"] = "private, no-store"
        return resp
    token = None
    if private:
        from flask_wtf.csrf import generate_csrf

        token = generate_csrf()  # first: a new visitor's session gets its CSRF secret, which the ETag names
    etag = _etag(key, private)
    if etag in request.if_none_match:
        resp = Response(status=304)
        resp.set_etag(etag)
        resp.headers["Cache-Control"] = cache_control
        return resp
    pc = cache()
    page = pc.get(key)
    if page is None:
        page = _render(render, private)
        pc.put(key, page)
    if page.private and token is not None:
        body = page.body.replace(_PLACEHOLDER_BYTES, token.encode())
        resp = Response(body, status=page.status, mimetype="text/html")
    elif page.gz is not None and _accepts_gzip():
        resp = Response(page.gz, status=page.status, mimetype="text/html")
        resp.headers["Content-Encoding"] = "gzip"  # web.assets.Compress leaves it alone
        resp.set_etag(etag, weak=True)
        resp.headers["Cache-Control"] = cache_control
        return resp
    else:
        resp = Response(page.body, status=page.status, mimetype="text/html")
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = cache_control
    return resp


def _render(render: Callable[[], str], private: bool) -> Page:
    if private:
        from flask import g

        g.pointsapp_csrf_placeholder = True
        try:
            html = render()
        finally:
            g.pop("pointsapp_csrf_placeholder", None)
        body = html.encode()
        return Page(body, 200, _PLACEHOLDER_BYTES in body)
    body = render().encode()
    gz = gzip.compress(body, compresslevel=6, mtime=0)
    return Page(body, 200, False, gz if len(gz) < len(body) else None)


def csrf_token() -> str:
    """The template's ``csrf_token()``: a placeholder while a private page is rendered for the cache."""
    from flask import g
    from flask_wtf.csrf import generate_csrf

    if g.get("pointsapp_csrf_placeholder"):
        return _PLACEHOLDER
    return generate_csrf()


def init_app(app) -> None:
    """Call after CSRFProtect.init_app: its ``csrf_token`` (a Jinja global and a context processor) is
    replaced by :func:`csrf_token`, which gives the same token except while a private page is cached."""
    app.extensions["pointsapp_pages"] = PageCache(int(app.config.get("POINTSAPP_PAGE_CACHE_BYTES") or DEFAULT_BYTES))
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: {"csrf_token": csrf_token})
