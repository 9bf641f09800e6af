"""The framework-free core of pointsapp: registry, rule book, ledger and standings.

Nothing in this package imports Flask or touches a request. Services take a SQLAlchemy
``Session`` plus domain objects, flush, and leave the commit to the caller (a request or a
CLI command), so the same code serves the web pages, the CLI and the importers.
"""
