"""Password hashes in the core, with the standard library only (the core imports nothing from the web
stack, werkzeug included).

The stored format is werkzeug's (``scrypt:32768:8:1$<salt>$<hex>`` or ``pbkdf2:sha256:<n>$<salt>$<hex>``), so
hashes written before this module existed still verify, and either side can read the other's.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

__all__ = ["check_password_hash", "generate_password_hash"]

SALT_CHARS = string.ascii_letters + string.digits
SALT_LENGTH = 16
PBKDF2_ITERATIONS = 1_000_000


def _derive(method: str, salt: str, password: str) -> tuple[str, str]:
    """(hex digest, the full method string) for ``method`` such as "scrypt" or "pbkdf2:sha256:1000"."""
    name, *args = method.split(":")
    if name == "scrypt":
        n, r, p = (int(a) for a in args) if args else (2**15, 8, 1)
        digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=132 * n * r * p)
        return digest.hex(), f"scrypt:{n}:{r}:{p}"
    if name == "pbkdf2":
        hash_name = args[0] if args else "sha256"
        iterations = int(args[1]) if len(args) > 1 else PBKDF2_ITERATIONS
        digest = hashlib.pbkdf2_hmac(hash_name, password.encode(), salt.encode(), iterations)
        return digest.hex(), f"pbkdf2:{hash_name}:{iterations}"
    raise ValueError(f"unknown password hash method {method!r}")


def generate_password_hash(password: str, method: str = "scrypt") -> str:
    salt = "".join(secrets.choice(SALT_CHARS) for _ in range(SALT_LENGTH))
    digest, full = _derive(method, salt, password)
    return f"{full}${salt}${digest}"


def check_password_hash(stored: str, password: str) -> bool:
    try:
        method, salt, digest = stored.split("$", 2)
        computed, _full = _derive(method, salt, password)
    except ValueError:
        return False
    return hmac.compare_digest(computed, digest)
