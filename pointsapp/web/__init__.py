"""Cross-cutting web pieces: locale, errors, the home page, the shared layout."""
