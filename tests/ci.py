"""``POINTSAPP_CI=1`` (set by ``.ci/run``): the tools CI installs must be present.

Locally a test that needs Chromium, Playwright or pdftotext skips with the reason when the tool is
absent. In CI the same skip would let the run go green without the check having run, so there it
fails instead.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("POINTSAPP_CI") == "1"


def require_tool(available: bool, reason: str) -> None:
    """Skip the calling test when a system tool is absent, or fail under ``POINTSAPP_CI=1``."""
    if available:
        return
    if in_ci():
        pytest.fail(f"{reason} (POINTSAPP_CI=1: CI installs it, so a skip would hide a failure)")
    pytest.skip(reason)
