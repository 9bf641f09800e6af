"""Refusals the core raises. Each carries a stable code (for translation) and a readable message."""

from __future__ import annotations


class Refused(Exception):
    """An operation was refused for a business reason. ``code`` is stable; ``message`` is English."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params


class NotFound(Refused):
    def __init__(self, what: str, ident: object) -> None:
        super().__init__("not_found", f"no {what} {ident!r}", what=what, ident=ident)
