"""/shop: the public list of items and stock. No sign-in, no names."""

from __future__ import annotations

from flask import abort, render_template, request
from sqlalchemy import select

from ..extensions import db
from ..points.registry import Village
from ..points.shop.stock import catalogue
from ..web.auth import public
from .blueprint import bp
from .common import photo_url


@bp.get("/shop")
@public
def public_shop():
    villages = db.session.execute(select(Village).order_by(Village.id)).scalars().all()
    vid = request.args.get("village", type=int)
    if vid is None:
        village = villages[0] if villages else None
    else:
        village = next((v for v in villages if v.id == vid), None)
    if vid is not None and village is None:
        abort(404)
    items = catalogue(db.session, village, active_only=True) if village else []
    links = [{"id": v.id, "name": v.name, "current": village is not None and v.id == village.id} for v in villages]
    photos = {i.id: photo_url(i) for i in items}
    return render_template("shop/public.html", village=village, items=items, villages=links, photos=photos)
