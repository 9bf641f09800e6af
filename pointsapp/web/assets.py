"""Light pages on a weak signal: versioned static URLs with a long cache life, and gzip by the app itself.

* Every ``url_for('static', ...)`` (and a blueprint's ``<bp>.static``) gets ``?v=<content hash>``: the one
  helper is a URL default (:func:`_add_version`), so every template's ``url_for`` is versioned and none
  builds a static URL by hand. A request that carries the current version is answered with a year-long, immutable cache
  lifetime; a phone never revalidates app.css again until the file changes (and with it the URL).
* :class:`Compress` gzips text responses (HTML, CSS, JS, JSON, SVG, CSV) when the browser accepts it, so
  the embedded default (gunicorn without a proxy) is light too. Streamed responses (no Content-Length,
  e.g. the CSV exports) and ranges pass through untouched.
"""

from __future__ import annotations

import gzip
import hashlib
import os

from flask import current_app, request

LONG_CACHE = 365 * 24 * 3600
COMPRESSIBLE = (
    "text/",
    "application/javascript",
    "application/json",
    "image/svg+xml",
    "application/manifest+json",
    "application/xml",
)
MIN_SIZE = 500  # smaller bodies gain nothing from gzip
MAX_SIZE = 8 * 1024 * 1024  # larger ones are downloads; leave them alone
_versions: dict[tuple[str, float, int], str] = {}


def _static_folder(endpoint: str) -> str | None:
    app = current_app
    if endpoint == "static":
        return app.static_folder
    bp = app.blueprints.get(endpoint.rsplit(".", 1)[0])
    return bp.static_folder if bp is not None else None


def file_version(path: str) -> str | None:
    """The first 10 hex digits of the file's SHA-256 (cached by path, mtime and size)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (path, st.st_mtime, st.st_size)
    version = _versions.get(key)
    if version is None:
        with open(path, "rb") as fh:
            version = hashlib.sha256(fh.read()).hexdigest()[:10]
        _versions[key] = version
    return version


def static_version(endpoint: str, filename: str) -> str | None:
    folder = _static_folder(endpoint)
    if not folder or not filename:
        return None
    path = os.path.realpath(os.path.join(folder, filename))
    if not path.startswith(os.path.realpath(folder) + os.sep):
        return None
    return file_version(path)


def _add_version(endpoint: str, values: dict) -> None:
    if (endpoint == "static" or endpoint.endswith(".static")) and "v" not in values:
        version = static_version(endpoint, values.get("filename", ""))
        if version:
            values["v"] = version


def _long_cache_for_versioned_static(response):
    endpoint = request.endpoint or ""
    if (endpoint == "static" or endpoint.endswith(".static")) and response.status_code in (200, 304):
        wanted = request.args.get("v")
        if wanted and wanted == static_version(endpoint, (request.view_args or {}).get("filename", "")):
            response.cache_control.public = True
            response.cache_control.max_age = LONG_CACHE
            response.cache_control.immutable = True
            response.cache_control.no_cache = None
            response.expires = None
    return response


def init_assets(app) -> None:
    app.url_defaults(_add_version)
    app.after_request(_long_cache_for_versioned_static)


def _accepts_gzip(environ) -> bool:
    for part in environ.get("HTTP_ACCEPT_ENCODING", "").lower().split(","):
        name, _sep, params = part.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            q = params.strip()
            return not (q.startswith("q=") and q[2:].strip() in ("0", "0.0", "0.00", "0.000"))
    return False


class Compress:
    """WSGI middleware: gzip whole (non-streamed) text responses for clients that accept it."""

    def __init__(self, app, level: int = 6):
        self.app = app
        self.level = level

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "HEAD" or environ.get("HTTP_RANGE"):
            return self.app(environ, start_response)
        wants = _accepts_gzip(environ)
        if "W/" in environ.get("HTTP_IF_NONE_MATCH", ""):
            # We weaken the app's strong ETags when we gzip (below); hand them back as the app made them,
            # so a view comparing strongly (``etag in request.if_none_match``) still answers 304.
            environ["HTTP_IF_NONE_MATCH"] = environ["HTTP_IF_NONE_MATCH"].replace("W/", "")
        held: dict = {}
        body_parts: list[bytes] = []

        def capture(status, headers, exc_info=None):
            if _compressible_type(headers):
                _add_vary(headers)
            if held.get("returned") or not wants or not self._candidate(status, headers):
                held["passthrough"] = True
                return start_response(status, headers, exc_info)
            held["status"], held["headers"], held["exc_info"] = status, headers, exc_info
            return body_parts.append  # the legacy write() callable

        result = self.app(environ, capture)
        held["returned"] = True
        if "status" not in held:  # passed through, or start_response comes later (then it passes)
            return result
        try:
            body_parts.extend(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        body = b"".join(body_parts)
        headers = [(k, v) for k, v in held["headers"] if k.lower() not in ("content-length", "etag")]
        etag = next((v for k, v in held["headers"] if k.lower() == "etag"), None)
        data = gzip.compress(body, compresslevel=self.level, mtime=0)
        if len(data) >= len(body):
            data = body
        else:
            headers.append(("Content-Encoding", "gzip"))
            if etag and not etag.startswith("W/"):
                etag = "W/" + etag  # the bytes differ from the identity body; the content is the same
        if etag:
            headers.append(("ETag", etag))
        headers.append(("Content-Length", str(len(data))))
        start_response(held["status"], headers, held["exc_info"])
        return [data]

    @staticmethod
    def _candidate(status: str, headers: list[tuple[str, str]]) -> bool:
        if not status.startswith(("200", "201", "400", "403", "404", "409", "410", "422", "429")):
            return False
        h = {k.lower(): v for k, v in headers}
        if "content-encoding" in h or "content-length" not in h or "no-transform" in h.get("cache-control", ""):
            return False
        try:
            size = int(h["content-length"])
        except ValueError:
            return False
        return MIN_SIZE <= size <= MAX_SIZE and _compressible_type(headers)


def _compressible_type(headers: list[tuple[str, str]]) -> bool:
    ctype = next((v for k, v in headers if k.lower() == "content-type"), "")
    return ctype.split(";")[0].strip().lower().startswith(COMPRESSIBLE)


def _add_vary(headers: list[tuple[str, str]]) -> None:
    for i, (k, v) in enumerate(headers):
        if k.lower() == "vary":
            if "accept-encoding" not in v.lower():
                headers[i] = (k, f"{v}, Accept-Encoding")
            return
    headers.append(("Vary", "Accept-Encoding"))
