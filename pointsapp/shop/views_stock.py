"""Stock at the desk: 入库 (purchases and donations), 报损 (write-offs), and the stock ledger."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..points.errors import Refused
from ..points.shop.models import ShopItem
from ..points.shop.stock import catalogue, movements, parse_yuan, stock_in, write_off
from ..web.auth import permission_required
from .blueprint import bp
from .common import ftime, refusal, village
from .forms import SelectChoice, StockInForm, WriteOffForm
from .labels import movement_label, source_label


def _choices(form) -> None:
    form.item.choices = [SelectChoice(i.id, f"{i.code} {i.name}") for i in catalogue(db.session, village())]


def _page(stock_form: StockInForm, off_form: WriteOffForm, status: int = 200):
    v = village()
    items = catalogue(db.session, v)
    recent = movements(db.session, v)[-50:][::-1]
    rows = [
        {
            "at": ftime(m.at),
            "item": m.item.name,
            "kind": movement_label(m.kind),
            "qty": f"{m.qty:+d}",
            "source": source_label(m.source) if m.source else "",
            "donor": m.donor or "",
            "value": f"{m.value_fen / 100:.2f}" if m.value_fen is not None else "",
            "reason": m.reason or "",
            "by": m.actor.display_name or m.actor.username,
        }
        for m in recent
    ]
    return render_template("shop/stock.html", items=items, rows=rows, stock_form=stock_form, off_form=off_form), status


@bp.get("/desk/stock")
@permission_required("shop.stock")
def stock():
    stock_form, off_form = StockInForm(prefix="in"), WriteOffForm(prefix="off")
    _choices(stock_form)
    _choices(off_form)
    return _page(stock_form, off_form)


def _item(item_id: int) -> ShopItem | None:
    item = db.session.get(ShopItem, item_id)
    return item if item is not None and item.village_id == village().id else None


@bp.post("/desk/stock/in")
@permission_required("shop.stock")
def stock_in_post():
    form, off_form = StockInForm(prefix="in"), WriteOffForm(prefix="off", formdata=None)
    _choices(form)
    _choices(off_form)
    if not form.validate_on_submit() or (item := _item(form.item.data)) is None:
        return _page(form, off_form, 400)
    try:
        stock_in(
            db.session,
            village(),
            current_user._get_current_object(),
            item,
            form.qty.data,
            source=form.source.data,
            donor=form.donor.data,
            value_fen=parse_yuan(form.value.data),
            note=form.note.data,
            ip=request.remote_addr,
        )
    except Refused as exc:
        refusal(exc)
        return _page(form, off_form, 400)
    flash(
        _("%(qty)s %(unit)s of %(item)s added to stock.", qty=form.qty.data, unit=item.unit, item=item.name), "success"
    )
    return redirect(url_for("shop.stock"), code=303)


@bp.post("/desk/stock/writeoff")
@permission_required("shop.stock")
def write_off_post():
    form, in_form = WriteOffForm(prefix="off"), StockInForm(prefix="in", formdata=None)
    _choices(form)
    _choices(in_form)
    if not form.validate_on_submit() or (item := _item(form.item.data)) is None:
        return _page(in_form, form, 400)
    try:
        write_off(
            db.session,
            village(),
            current_user._get_current_object(),
            item,
            form.qty.data,
            reason=form.reason.data,
            ip=request.remote_addr,
        )
    except Refused as exc:
        refusal(exc)
        return _page(in_form, form, 400)
    flash(_("%(qty)s %(unit)s of %(item)s written off.", qty=form.qty.data, unit=item.unit, item=item.name), "success")
    return redirect(url_for("shop.stock"), code=303)
