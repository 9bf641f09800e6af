"""The web layer's security settings, each in one place: which redirect targets are safe,
and the response headers every page gets (CSP, framing, sniffing, HSTS when configured).
"""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

# Pages a page may load from: only this site. No inline script or style, no framing.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
MAX_NEXT_LENGTH = 2000


def safe_next(target: object, *, refuse: tuple[str, ...] = ()) -> str | None:
    """``target`` if it is a path on this site (``/...``), else None.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so
    ``/\\t/evil.example`` or ``/\\\\evil.example`` would leave the site: any control, space or
    separator character, a backslash, a scheme or a host refuses the target. ``refuse`` lists
    path prefixes that must not be targets (the sign-in page itself, sign-out).
    """
    if not isinstance(target, str) or not target or len(target) > MAX_NEXT_LENGTH:
        return None
    if not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return None
    for ch in target:
        if unicodedata.category(ch)[0] in ("C", "Z"):  # control, format, unassigned, spaces
            return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        return None
    if any(target == p or target.startswith((p.rstrip("/") + "/", p + "?")) for p in refuse if p):
        return None
    return target


def register_security_headers(app) -> None:
    """Headers for every response, set once for the whole app (features may add stricter ones)."""

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        hsts = app.config.get("POINTSAPP_HSTS_SECONDS")
        if hsts and int(hsts) > 0:
            headers.setdefault("Strict-Transport-Security", f"max-age={int(hsts)}; includeSubDomains")
        return response


def address_limit_hit(scope: str, limit: str) -> bool:
    """Count one event of ``scope`` (e.g. a wrong card link) for the client's address in the
    configured rate-limit storage. True when the address has now gone over ``limit``.

    Unlike a route decorator this runs only when the view decides the request was bad, so
    a good request (a valid card link) is never refused because of bad ones before it.
    """
    from flask_limiter.util import get_remote_address
    from limits import parse

    from ..extensions import limiter

    if not (limiter.enabled and limiter.initialized):
        return False
    args = [scope, get_remote_address() or "-"]
    if limiter._key_prefix:
        args = [limiter._key_prefix, *args]
    return not limiter.limiter.hit(parse(limit), *args)
