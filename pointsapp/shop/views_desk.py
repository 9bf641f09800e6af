"""The redemption desk: find the household, show it, redeem, print the 兑换单, cancel."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..points.errors import Refused
from ..points.registry import Household, Villager, VillagerStatus, in_village
from ..points.shop import redeem as svc
from ..points.shop.desk import find_households
from ..points.shop.reset import reset_warning
from ..points.shop.stock import catalogue
from ..points.standings import balance
from ..web.auth import permission_required
from .blueprint import bp
from .common import fdate, ftime, photo_url, refusal, today, village
from .forms import CancelForm


@bp.get("/desk")
@permission_required("shop.redeem")
def desk():
    """Scan a card (the scanner types its link into the focused field), or type a number or a name."""
    v = village()
    query = (request.args.get("q") or "").strip()[:300]
    matches = find_households(db.session, v, query) if query else []
    if len(matches) == 1 and matches[0].how in ("card", "number"):
        return redirect(url_for("shop.household", household_id=matches[0].household_id), code=303)
    rows = [
        {
            "url": url_for("shop.household", household_id=m.household_id),
            "number": m.number,
            "head": m.head,
            "group": m.group,
            "members": "、".join(m.members),
        }
        for m in matches
    ]
    return render_template("shop/desk.html", query=query, rows=rows, searched=bool(query), village=v)


def _household_or_404(household_id: int) -> Household:
    household = in_village(db.session, Household, household_id, village())
    if household is None:
        abort(404)
    return household


def _panel(
    household: Household, key: str | None = None, picked: dict[int, int] | None = None, collector: int | None = None
) -> dict:
    """Ready-made values of the household panel and the redeem form."""
    v, day = village(), today()
    bal = balance(db.session, household=household)
    members = [m for m in household.members if m.status == VillagerStatus.active]
    redemptions = svc.household_redemptions(db.session, household, year=day.year)
    warn = reset_warning(db.session, v, household, day)
    items = [i for i in catalogue(db.session, v, active_only=True) if i.stock > 0]
    picked = picked or {}
    return {
        "id": household.id,
        "number": household.number,
        "head": household.head_name,
        "group": household.group.name,
        "redeemable": bal.redeemable,
        "honour": bal.honour,
        "members": [
            {"id": m.id, "name": m.name, "relation": m.relation or "", "selected": m.id == collector} for m in members
        ],
        "redeemed_this_year": sum(r.points for r in redemptions if not r.cancelled),
        "redemptions": [
            {
                "number": r.number,
                "date": fdate(r.occurred_on),
                "points": r.points,
                "goods": "、".join(f"{ln.item.name}×{ln.qty}" for ln in r.lines),
                "cancelled": r.cancelled,
                "url": url_for("shop.receipt", redemption_id=r.id),
            }
            for r in redemptions
        ],
        "warning": _(
            "Your household has %(points)s redeemable points that will be cleared on %(date)s.",
            points=warn.points,
            date=fdate(warn.due_on),
        )
        if warn
        else None,
        "items": [
            {
                "id": i.id,
                "code": i.code,
                "name": i.name,
                "unit": i.unit,
                "price": i.price,
                "stock": i.stock,
                "qty": picked.get(i.id, 0),
                "affordable": i.price <= bal.redeemable,
                "photo": photo_url(i),
            }
            for i in items
        ],
        "key": key or uuid.uuid4().hex,
        "year": day.year,
    }


@bp.get("/desk/h/<int:household_id>")
@permission_required("shop.redeem")
def household(household_id: int):
    h = _household_or_404(household_id)
    return render_template("shop/household.html", p=_panel(h))


def _picked() -> tuple[list[svc.Want], dict[int, int], list[str]]:
    wants, picked, bad = [], {}, []
    for name, raw in request.form.items():
        if not name.startswith("qty-"):
            continue
        try:
            item_id = int(name[4:])
        except ValueError:
            continue
        raw = (raw or "").strip()
        if raw in ("", "0"):
            continue
        try:
            qty = int(raw)
        except ValueError:
            bad.append(raw[:10])
            continue
        picked[item_id] = qty
        wants.append(svc.Want(qty, item_id=item_id))
    return wants, picked, bad


@bp.post("/desk/h/<int:household_id>/redeem")
@permission_required("shop.redeem")
def redeem(household_id: int):
    h = _household_or_404(household_id)
    key = (request.form.get("key") or "")[:128]
    wants, picked, bad = _picked()
    collector_id = request.form.get("collector", type=int)
    if bad:
        flash(_("The quantity “%(value)s” is not a whole number.", value=bad[0]), "error")
        return render_template("shop/household.html", p=_panel(h, key, picked, collector_id)), 400
    collector = None
    if collector_id:
        collector = db.session.get(Villager, collector_id)
        if collector is None:
            abort(400)
    try:
        res = svc.redeem(
            db.session,
            actor=current_user._get_current_object(),
            village=village(),
            household=h,
            wants=wants,
            key=key,
            collector=collector,
            ip=request.remote_addr,
        )
    except Refused as exc:
        refusal(exc)
        return render_template("shop/household.html", p=_panel(h, key, picked, collector_id)), 409
    if res.replayed:
        flash(_("This redemption was already made; here is its receipt."), "success")
    else:
        flash(_("Redeemed. Print the receipt below."), "success")
    return redirect(url_for("shop.receipt", redemption_id=res.redemption.id), code=303)


def _receipt(red) -> dict:
    v = village()
    household = red.household
    can = svc.can_cancel(current_user._get_current_object(), v, red)
    return {
        "id": red.id,
        "number": red.number,
        "village": v.name,
        "household": household.number,
        "head": household.head_name,
        "group": household.group.name,
        "collector": red.collector_name or household.head_name,
        "clerk": red.clerk.display_name or red.clerk.username,
        "at": ftime(red.at),
        "date": fdate(red.occurred_on),
        "points": red.points,
        "balance_after": red.balance_after,
        "lines": [
            {"name": ln.item.name, "unit": ln.item.unit, "qty": ln.qty, "price": ln.price, "points": ln.points}
            for ln in red.lines
        ],
        "cancelled": red.cancelled,
        "cancelled_at": ftime(red.cancelled_at),
        "cancel_reason": red.cancel_reason,
        "cancelled_by": (red.cancelled_by.display_name or red.cancelled_by.username) if red.cancelled_by else None,
        "can_cancel": can is None,
        "needs_reason": red.occurred_on != today(),
        "cancel_hint": _("Only on the day of the redemption can a clerk cancel it; after that, ask an administrator.")
        if can == "cancel_needs_admin"
        else None,
        "entry_seq": red.entry.seq,
        "household_url": url_for("shop.household", household_id=household.id),
    }


@bp.get("/desk/receipt/<int:redemption_id>")
@permission_required("shop.redeem")
def receipt(redemption_id: int):
    try:
        red = svc.get_redemption(db.session, village(), redemption_id)
    except Refused:
        abort(404)
    return render_template("shop/receipt.html", r=_receipt(red), form=CancelForm())


@bp.post("/desk/receipt/<int:redemption_id>/cancel")
@permission_required("shop.redeem")
def cancel(redemption_id: int):
    try:
        red = svc.get_redemption(db.session, village(), redemption_id)
    except Refused:
        abort(404)
    form = CancelForm()
    if not form.validate_on_submit():
        return render_template("shop/receipt.html", r=_receipt(red), form=form), 400
    try:
        svc.cancel(db.session, red, current_user._get_current_object(), reason=form.reason.data, ip=request.remote_addr)
    except Refused as exc:
        refusal(exc)
        return redirect(url_for("shop.receipt", redemption_id=redemption_id), code=303)
    flash(
        _("The redemption was cancelled: the points went back to the household and the goods back to stock."), "success"
    )
    return redirect(url_for("shop.receipt", redemption_id=redemption_id), code=303)


@bp.get("/desk/redemptions")
@permission_required("shop.redeem")
def redemptions():
    """Redemptions of a day (today by default), with links to their receipts."""
    import datetime as dt

    v = village()
    raw = request.args.get("day") or today().isoformat()
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        flash(_("Please give the date as YYYY-MM-DD."), "error")
        day = today()
    rows = [
        {
            "number": r.number,
            "household": r.household.number,
            "head": r.household.head_name,
            "points": r.points,
            "cancelled": r.cancelled,
            "at": ftime(r.at),
            "url": url_for("shop.receipt", redemption_id=r.id),
        }
        for r in svc.redemptions_between(db.session, v, day, day)
    ]
    return render_template(
        "shop/redemptions.html",
        rows=rows,
        day=day.isoformat(),
        total=sum(r["points"] for r in rows if not r["cancelled"]),
    )
