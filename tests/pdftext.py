"""Read the text layer of a PDF with poppler's ``pdftotext`` (package poppler-utils, which CI installs).

Why not pypdf: fpdf2 (>= 2.8.9) embeds our CFF CJK font as a ``CIDFontType0`` whose ``/Encoding`` is an
embedded CMap stream with a two-byte code space (``<0000> <FFFF>``). That is valid PDF (ISO 32000-1,
9.7.6.1: the encoding of a Type 0 font is "the name of a predefined CMap, or a stream containing a CMap"),
and poppler, Chromium and Acrobat read it correctly. pypdf 6.x only understands predefined CMap *names*
there; for a stream it falls back to a one-byte encoding, so every glyph code >= 0x100 is split in two and
extracted as two wrong characters (the "龙" seen in issue 8) and codes < 0x100 gain a NUL. The PDF is right,
the extractor is wrong, so the tests read text with pdftotext.

When pdftotext is missing the calling test is skipped with the reason, or fails under ``POINTSAPP_CI=1``
(see tests/ci.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.ci import require_tool

PDFTOTEXT = os.environ.get("POINTSAPP_PDFTOTEXT", "pdftotext")


def pdf_pages(path: str | Path) -> list[str]:
    """The text of every page, in order (pdftotext separates pages with a form feed)."""
    exe = shutil.which(PDFTOTEXT)
    require_tool(exe is not None, "pdftotext not found (apt-get install poppler-utils)")
    assert exe is not None
    out = subprocess.run([exe, "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True).stdout
    text = out.decode("utf-8")
    return text.removesuffix("\f").split("\f")  # a form feed ends every page, the last one too


def pdf_text(path: str | Path) -> str:
    """The whole document's text."""
    return "".join(pdf_pages(path))
