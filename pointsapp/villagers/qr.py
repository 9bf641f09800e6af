"""QR codes of card links (segno): inline SVG for printed cards, PNG for checks."""

from __future__ import annotations

import io

import segno


def card_qr(url: str) -> segno.QRCode:
    # Level M survives a little dirt and a curled corner on a kitchen wall.
    return segno.make(url, error="m", micro=False)


def card_qr_svg(url: str) -> str:
    """An inline <svg> scaled by CSS (viewBox only), with crisp module edges."""
    svg = card_qr(url).svg_inline(scale=1, border=4, omitsize=True, svgclass="qr", lineclass=None)
    return svg.replace("<svg ", '<svg shape-rendering="crispEdges" role="img" ', 1)


def card_qr_png(url: str, scale: int = 6) -> bytes:
    buf = io.BytesIO()
    card_qr(url).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()
