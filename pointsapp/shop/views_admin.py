"""Admin pages of the shop: the catalogue, the settings (reset day, budget, star bands), the
yearly reset, and the printable 星级文明户 list and plaque sheet."""

from __future__ import annotations

import json
import secrets

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..points.errors import Refused
from ..points.registry import Household, in_village
from ..points.shop.models import ShopItem
from ..points.shop.reset import run_reset, upcoming_reset
from ..points.shop.settings import DEFAULT_BANDS, get_settings, save_settings
from ..points.shop.stars import check_period, star_period, star_ratings
from ..points.shop.stock import add_item, catalogue, update_item
from ..web.auth import permission_required, public
from ..web.photos import PhotoError, photo_path, prepare_photo, store_photo
from .blueprint import bp
from .common import fdate, photo_url, refusal, today, village
from .forms import ItemForm, ResetForm, SettingsForm
from .labels import stars_text

# --- catalogue -------------------------------------------------------------------------


def _item_photo(form: ItemForm, village_id: int) -> str | None:
    """Check the uploaded photo (pixels, format) before anything is written, then store it as
    JPEG under uploads/shop/<village>/; the relative path, or None without a file.
    Raises PhotoError, with its message put on the form's field."""
    try:
        image = prepare_photo(form.photo.data)
    except PhotoError as exc:
        form.photo.errors = [str(exc)]
        raise
    if image is None:
        return None
    return store_photo(image, current_app.instance_path, f"shop/{village_id}/{secrets.token_hex(12)}.jpg")


@bp.get("/shop/photo/<int:item_id>.jpg")
@public
def item_photo(item_id: int):
    """An item's photo (goods, no people: public like /shop), with a long cache life: a new
    photo gets a new URL."""
    item = db.session.get(ShopItem, item_id)
    path = photo_path(current_app.instance_path, item.photo) if item is not None and item.photo else None
    if path is None:
        abort(404)
    return send_file(path, mimetype="image/jpeg", max_age=30 * 24 * 3600)


def _submit_item(form: ItemForm, v, save) -> tuple[ShopItem | None, int]:
    """A submitted item form: its photo checked, then ``save(photo)``. Returns (the saved item or None, the
    status): 200 for a page that shows the form, 400 when the form, the photo or the service refused it."""
    if not form.validate_on_submit():
        return None, 400 if request.method == "POST" else 200
    try:
        return save(_item_photo(form, v.id)), 200
    except PhotoError:
        return None, 400
    except Refused as exc:
        refusal(exc)
        return None, 400


@bp.route("/desk/items", methods=["GET", "POST"])
@permission_required("shop.manage")
def items():
    v = village()
    form = ItemForm()
    item, status = _submit_item(
        form,
        v,
        lambda photo: add_item(
            db.session,
            v,
            current_user._get_current_object(),
            code=form.code.data,
            name=form.name.data,
            price=form.price.data,
            unit=form.unit.data,
            photo=photo,
            ip=request.remote_addr,
        ),
    )
    if item is not None:
        flash(_("Item %(name)s added. Add its stock on the stock page.", name=item.name), "success")
        return redirect(url_for("shop.items"), code=303)
    rows = [
        {
            "code": i.code,
            "name": i.name,
            "unit": i.unit,
            "price": i.price,
            "stock": i.stock,
            "active": i.active,
            "url": url_for("shop.edit_item", item_id=i.id),
            "photo": photo_url(i),
        }
        for i in catalogue(db.session, v)
    ]
    return render_template("shop/items.html", form=form, rows=rows), status


@bp.route("/desk/items/<int:item_id>", methods=["GET", "POST"])
@permission_required("shop.manage")
def edit_item(item_id: int):
    v = village()
    item = in_village(db.session, ShopItem, item_id, v)
    if item is None:
        abort(404)
    form = ItemForm(obj=item)
    form.code.render_kw = {"readonly": True}
    saved, status = _submit_item(
        form,
        v,
        lambda photo: update_item(
            db.session,
            v,
            current_user._get_current_object(),
            item,
            name=form.name.data,
            price=form.price.data,
            unit=form.unit.data,
            active=form.active.data,
            photo="" if photo is None and form.remove_photo.data else photo,
            ip=request.remote_addr,
        ),
    )
    if saved is not None:
        flash(_("Item %(name)s saved.", name=saved.name), "success")
        return redirect(url_for("shop.items"), code=303)
    return render_template("shop/item_edit.html", form=form, item=item, photo=photo_url(item)), status


# --- settings --------------------------------------------------------------------------


def bands_text(bands) -> str:
    return ", ".join(f"{s}:{t}" for s, t in bands)


def parse_bands_text(text: str) -> list[list[int]]:
    """'5:300, 4:200' -> [[5, 300], [4, 200]]; a bad pair raises Refused naming it."""
    out = []
    for part in (text or "").replace("，", ",").split(","):
        part = part.strip().replace("：", ":")
        if not part:
            continue
        try:
            stars, threshold = (int(x) for x in part.split(":"))
        except ValueError:
            raise Refused("bad_bands", f"{part!r} is not stars:threshold") from None
        out.append([stars, threshold])
    return out


@bp.route("/desk/settings", methods=["GET", "POST"])
@permission_required("shop.manage")
def settings():
    v = village()
    current = get_settings(db.session, v)
    form = SettingsForm()
    if request.method == "GET":
        form.reset_on.data = current.reset_on
        form.reset_month.data = current.reset_month or 1
        form.reset_day.data = current.reset_day or 10
        form.points_budget.data = current.points_budget
        form.star_period.data, form.star_mode.data = current.star_period, current.star_mode
        form.bands.data = bands_text(current.bands)
    status = 200
    if form.validate_on_submit():
        try:
            save_settings(
                db.session,
                v,
                current_user._get_current_object(),
                reset_month=form.reset_month.data if form.reset_on.data else None,
                reset_day=form.reset_day.data if form.reset_on.data else None,
                points_budget=form.points_budget.data,
                star_period=form.star_period.data,
                star_mode=form.star_mode.data,
                bands=parse_bands_text(form.bands.data),
            )
            if form.reset_on.data and (form.reset_month.data is None or form.reset_day.data is None):
                raise Refused("bad_reset_day", "give the month and the day")
        except Refused as exc:
            refusal(exc)
            status = 400
        else:
            flash(_("Shop settings saved."), "success")
            return redirect(url_for("shop.settings"), code=303)
    elif request.method == "POST":
        status = 400
    defaults = {mode: bands_text(b) for mode, b in DEFAULT_BANDS.items()}
    return render_template(
        "shop/settings.html",
        form=form,
        saved=current.saved,
        defaults=defaults,
        default_json=json.dumps(defaults, ensure_ascii=False),
    ), status


# --- the yearly reset ------------------------------------------------------------------


@bp.route("/desk/reset", methods=["GET", "POST"])
@permission_required("shop.manage")
def reset():
    v = village()
    day = today()
    settings_ = get_settings(db.session, v)
    form = ResetForm()
    if request.method == "GET":
        upcoming = upcoming_reset(db.session, v, day)
        form.year.data = request.args.get("year", type=int) or (upcoming[0] if upcoming else day.year - 1)
    year = form.year.data or day.year - 1
    preview = None
    status = 200
    try:
        if request.method == "POST" and form.validate_on_submit() and form.confirm.data:
            result = run_reset(db.session, v, year, current_user._get_current_object(), ip=request.remote_addr)
            if result.already is not None:
                flash(
                    _(
                        "The reset of %(year)s was already done on %(date)s; nothing changed.",
                        year=year,
                        date=fdate(result.already.occurred_on),
                    ),
                    "success",
                )
            else:
                flash(
                    _(
                        "Reset of %(year)s done: %(points)s points of %(households)s households cleared.",
                        year=year,
                        points=result.points,
                        households=result.households,
                    ),
                    "success",
                )
            return redirect(url_for("shop.reset", year=year), code=303)
        if request.method == "POST" and not form.confirm.data:
            flash(_("Tick the box to confirm after checking the preview."), "error")
            status = 400
        preview = run_reset(db.session, v, year, current_user._get_current_object(), dry_run=True)
    except Refused as exc:
        refusal(exc)
        status = 400
    rows = []
    if preview is not None and preview.already is None:
        heads = (
            {
                h.id: h.head_name
                for h in db.session.query(Household).filter(Household.id.in_([r.household_id for r in preview.rows]))
            }
            if preview.rows
            else {}
        )
        rows = [{"number": r.number, "head": heads.get(r.household_id, ""), "points": r.points} for r in preview.rows]
    return render_template(
        "shop/reset.html",
        form=form,
        year=year,
        preview=preview,
        rows=rows,
        reset_on=settings_.reset_on,
        due=fdate(settings_.reset_date(year)) if settings_.reset_on else None,
        already=fdate(preview.already.occurred_on) if preview is not None and preview.already else None,
    ), status


# --- stars -----------------------------------------------------------------------------


def _star_rows(period: str) -> list[dict]:
    return [
        {
            "household": r.household,
            "name": r.name,
            "group": r.group,
            "points": r.points,
            "stars": r.stars,
            "stars_text": stars_text(r.stars),
        }
        for r in star_ratings(db.session, village(), period)
        if r.stars > 0
    ]


def _period_arg() -> str:
    v = village()
    raw = request.args.get("period") or star_period(get_settings(db.session, v), today())
    try:
        return check_period(raw)
    except ValueError:
        abort(404)


@bp.get("/desk/stars")
@permission_required("shop.redeem")
def stars():
    period = _period_arg()
    return render_template(
        "shop/stars.html",
        period=period,
        rows=_star_rows(period),
        village=village(),
        plaques_url=url_for("shop.plaques", period=period),
    )


@bp.get("/desk/stars/plaques")
@permission_required("shop.redeem")
def plaques():
    period = _period_arg()
    return render_template("shop/plaques.html", period=period, rows=_star_rows(period), village=village())
