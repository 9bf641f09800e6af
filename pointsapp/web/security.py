"""The web layer's security settings, each in one place: which redirect targets are safe,
and the response headers every page gets (CSP, framing, sniffing, HSTS when configured).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
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


def limit_hit(scope: str, limit: str, *identity: str) -> bool:
    """Count one event of ``scope`` for ``identity`` (an address, a card) in the configured rate-limit
    storage, which every worker shares. True when it has now gone over ``limit`` ("30/minute")."""
    from ..extensions import limiter

    if not (limiter.enabled and limiter.initialized):
        return False
    args = [scope, *identity]
    if limiter._key_prefix:
        args = [limiter._key_prefix, *args]
    return not limiter.limiter.hit(_parsed_limit(limit), *args)


@functools.lru_cache(maxsize=64)
def _parsed_limit(limit: str):
    """A limit string parsed once (parsing it took a third of a counted card view)."""
    from limits import parse

    return parse(limit)


# --- form tokens bound to a credential in the URL (a household's card link) ---------------------------
#
# A card page's forms (objection, "漏记了？") post to the card's own link: the link is the credential,
# no cookie is. Their CSRF token is bound to that link instead of to a session: an HMAC of the link
# and a time window under the app's secret key. A page without a session has no cookie to set and is
# the same for every visitor of that card, so it can be cached and answered before Flask.


def _window(now: float, lifetime: int, subject: str) -> int:
    """Half-lifetime windows, shifted per subject: a cached page carries its token, so if every card's
    window turned at the same second, every card in the cache would be rendered again at once."""
    half = max(1, lifetime // 2)
    return (int(now) + _shift(subject, half)) // half


@functools.lru_cache(maxsize=8192)
def _shift(subject: str, half: int) -> int:
    return int.from_bytes(hashlib.blake2b(subject.encode(), digest_size=4).digest(), "big") % half


def bound_form_token(secret: str, subject: str, now: float, lifetime: int) -> str:
    """The form token for ``subject`` (a card link) now: valid for at least ``lifetime`` seconds."""
    return _bound_token(secret, subject, _window(now, lifetime, subject))


@functools.lru_cache(maxsize=8192)  # a card page read again in the same window: no HMAC per view
def _bound_token(secret: str, subject: str, window: int) -> str:
    # base64url, not hex: a long run of digits in a page would look like a phone number
    mac = hmac.new(secret.encode(), f"card-form\x00{subject}\x00{window}".encode(), hashlib.sha256).digest()
    return f"{window:x}.{base64.urlsafe_b64encode(mac[:30]).decode()}"


def bound_form_token_ok(secret: str, subject: str, given: object, now: float, lifetime: int) -> bool:
    """Whether ``given`` is a token of :func:`bound_form_token` for this subject, made at most
    1½ lifetimes ago (the window it was made in and the two before count)."""
    if not isinstance(given, str) or len(given) > 64 or "." not in given:
        return False
    head = given.split(".", 1)[0]
    try:
        window = int(head, 16)
    except ValueError:
        return False
    if not 0 <= _window(now, lifetime, subject) - window <= 2:
        return False
    return hmac.compare_digest(given, _bound_token(secret, subject, window))


def address_limit_hit(scope: str, limit: str) -> bool:
    """Count one event of ``scope`` (e.g. a wrong card link) for the client's address in the
    configured rate-limit storage. True when the address has now gone over ``limit``.

    Unlike a route decorator this runs only when the view decides the request was bad, so
    a good request (a valid card link) is never refused because of bad ones before it.
    """
    from flask_limiter.util import get_remote_address

    return limit_hit(scope, limit, get_remote_address() or "-")
