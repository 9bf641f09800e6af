"""Routes of the villagers feature: household card pages, the public board, 公示, the rule
book, and the printable cards and passbooks (staff only).

Rate limits (Flask-Limiter, per client address; override in the config):
  VILLAGERS_CARD_RATE       card page views            (default 30/minute)
  VILLAGERS_BAD_TOKEN_RATE  card links that do not exist: once exceeded, that address gets
                            429 for further wrong links; a valid link still opens
                                                        (default 10/hour)
  VILLAGERS_OBJECTION_RATE  objection posts            (default 10/hour; the core also allows
                            at most 3 objections per household per day)
Behind a reverse proxy the client address must come from X-Forwarded-For (ProxyFix),
or every visitor shares the proxy's limits.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError

from ..extensions import csrf, db, limiter
from ..points.errors import Refused
from ..points.periods import local_today, month_key, parse_period
from ..points.registry import Household, Village, in_village
from ..points.standings import board_month
from ..points.versions import PageState, card_state, village_state
from ..web import pagecache
from ..web.auth import current_village, permission_required, public
from ..web.refusals import VILLAGER_MISSING, flash_refusal, refusal_text
from ..web.security import address_limit_hit, bound_form_token, bound_form_token_ok, limit_hit
from ..web.transaction import rollback_only
from . import queries as q
from . import views
from .services import household_by_token, object_to_entry, rotate_card, token_looks_valid
from .shop_card import board_stars, stars_by_household
from .services import report_missing as services_report_missing

bp = Blueprint("villagers", __name__, template_folder="templates")


def _config_limit(name: str, default: str):
    return lambda: current_app.config.get(name, default)


def _post_key() -> str:
    """Card form posts are limited per address and card."""
    return f"{get_remote_address()}/{request.view_args.get('token', '')[:64]}"


@bp.after_request
def privacy_headers(response):
    """Villager pages are never indexed and never leak the card link as a referrer."""
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.endpoint in (
        "villagers.object_entry",
        "villagers.report_missing",
        "villagers.cards",
        "villagers.passbook",
        "villagers.rotate",
    ):
        response.headers["Cache-Control"] = "private, no-store"
    elif request.endpoint == "villagers.card" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "private, no-store"  # a wrong link, a refusal
    return response


def _page_arg() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def _today(village: Village) -> dt.date:
    return local_today(village.timezone)


# --- the household card page -----------------------------------------------------------


def _card_limit_hit(app, address: str, token: str) -> bool:
    """One card page view counted against this address and card (VILLAGERS_CARD_RATE): per card, so
    one household reading its card often never slows another behind the same carrier address."""
    return limit_hit("card-view", app.config.get("VILLAGERS_CARD_RATE", "30/minute"), address, token[:64])


def _card_form_token(app, token: str) -> str:
    """The card page's form token: bound to the card link (web.security.bound_form_token)."""
    return bound_form_token(app.secret_key, token, time.time(), pagecache.form_token_lifetime(app))


def _card_form_ok(token: str) -> None:
    """Refuse a card form posted without this card's form token (when CSRF checks are on)."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    given = request.form.get("csrf_token")
    lifetime = pagecache.form_token_lifetime(current_app)
    if not bound_form_token_ok(current_app.secret_key, token, given, time.time(), lifetime):
        raise CSRFError("The card's form token is missing, too old or not this card's.")  # the 400 page says it


def _card_key(app, req, conn) -> tuple[tuple, PageState, dt.date, str] | None:
    """(cache key, state, local date, form token) of a card page; None for a link that is no card."""
    token = req.path.removeprefix("/h/")
    state = card_state(conn, token) if token_looks_valid(token) else None
    if state is None:
        return None
    form_token = _card_form_token(app, token)
    key, today = pagecache.page_key(req, state, state.household_id, form_token)
    return key, state, today, form_token


def _bad_card():
    """A card link that does not exist: counted against the address (not before the lookup,
    so a valid link is never blocked by guesses from the same address)."""
    if address_limit_hit("bad-card-token", current_app.config.get("VILLAGERS_BAD_TOKEN_RATE", "10/hour")):
        abort(429)
    return render_template("villagers/bad_card.html"), 404


def _household_or_404(token: str) -> Household:
    household = household_by_token(db.session, token)
    if household is None:
        abort(404)
    return household


@bp.get("/h/<token>")
@public
def card(token: str):
    found = pagecache.looked_up(request, lambda: _card_key(current_app, request, db.session))
    if found is None:
        return _bad_card()
    if _card_limit_hit(current_app, get_remote_address() or "-", token):
        abort(429)
    key, state, today, form_token = found

    def render() -> str:
        household = household_by_token(db.session, token)
        if household is None:  # cannot happen within one transaction; never render someone else's
            abort(404)
        village = db.session.get(Village, household.village_id)
        shared = (state.key, *key[2:4])  # the village's state, the locale, the local date: as the page's key
        parts = pagecache.memo(("card-village", shared), lambda: views.card_village_parts(db.session, village, today))
        page = views.card_page(db.session, household, token, _page_arg(), today, parts)
        return render_template("villagers/card.html", p=page, token=token, nav_vid=village.id)

    return pagecache.serve(key, render, private=True, form_token=form_token)


pagecache.front_door(
    bp,
    pagecache.Door(
        match=lambda path: path.startswith("/h/") and path.count("/") == 2,
        key=_card_key,
        admit=lambda app, req: not _card_limit_hit(app, req.remote_addr or "-", req.path.removeprefix("/h/")),
    ),
)


@bp.post("/h/<token>/objection")
@public
@csrf.exempt  # the card's bound form token is checked instead (_card_form_ok)
@limiter.limit(_config_limit("VILLAGERS_OBJECTION_RATE", "10/hour"), key_func=_post_key)
def object_entry(token: str):
    _card_form_ok(token)
    household = household_by_token(db.session, token)
    if household is None:
        return _bad_card()
    entry_id = request.form.get("entry", type=int)
    page = request.form.get("page", 1, type=int) or 1
    back = url_for("villagers.card", token=token, page=page, _anchor=f"e{entry_id}" if entry_id else "history")
    if entry_id is None:
        flash(_("Please choose an entry to object to."), "error")
        return redirect(back)
    try:
        object_to_entry(db.session, household, entry_id, request.form.get("reason", ""), ip=request.remote_addr)
    except Refused as exc:
        flash_refusal(exc, villager=True)
        return redirect(back)
    flash(_("Your objection was recorded. The village committee will answer it on this page."), "success")
    return redirect(back)


@bp.post("/h/<token>/missing")
@public
@csrf.exempt  # the card's bound form token is checked instead (_card_form_ok)
@limiter.limit(_config_limit("VILLAGERS_OBJECTION_RATE", "10/hour"), key_func=_post_key)
def report_missing(token: str):
    """ "漏记了？": the household reports something that is not on its card."""
    _card_form_ok(token)
    household = household_by_token(db.session, token)
    if household is None:
        return _bad_card()
    back = url_for("villagers.card", token=token, _anchor="missing")
    day = None
    if raw := (request.form.get("day") or "").strip():
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            flash(refusal_text("bad_missing_date"), "error")
            return redirect(back)
    try:
        services_report_missing(db.session, household, request.form.get("reason", ""), day, ip=request.remote_addr)
    except Refused as exc:
        if exc.code in VILLAGER_MISSING:
            rollback_only()
            flash(VILLAGER_MISSING[exc.code](exc.params), "error")
        else:
            flash_refusal(exc, villager=True)
        return redirect(back)
    flash(_("Thank you. The village committee will check and answer on this page."), "success")
    return redirect(back)


# --- public pages ------------------------------------------------------------------------


def _public_key(req, conn) -> tuple[tuple, PageState, dt.date] | None:
    """(cache key, state, local date) of a public page of the village asked for (?village=ID, else the
    first one); None when there is no such village."""
    state = village_state(conn, req.args.get("village", type=int))
    if state is None:
        return None
    key, today = pagecache.page_key(req, state)
    return key, state, today


def _village_and_list(state: PageState) -> tuple[Village, list[Village]]:
    villages = q.villages(db.session)
    return next(v for v in villages if v.id == state.village_id), villages


def _no_village():
    return render_template("villagers/no_village.html"), 200


def _serve_public(render: Callable[[Village, list[Village], dt.date], str]):
    """A public page of the village asked for, from the page cache (rendered by ``render`` on a miss)."""
    found = pagecache.looked_up(request, lambda: _public_key(request, db.session))
    if found is None:
        if request.args.get("village", type=int) is not None:
            abort(404)
        return _no_village()
    key, state, today = found
    return pagecache.serve(key, lambda: render(*_village_and_list(state), today))


PUBLIC_PAGES = frozenset({"/board", "/notice", "/rules"})
pagecache.front_door(
    bp,
    pagecache.Door(match=PUBLIC_PAGES.__contains__, key=lambda app, req, conn: _public_key(req, conn)),
)


@bp.get("/board")
@public
def board():
    return _serve_public(_board)


def _board(village: Village, villages: list[Village], today: dt.date) -> str:
    problem = None
    raw = request.args.get("period") or board_month(db.session, village, today)
    try:
        period = parse_period(raw).key
        if period == "all":
            raise ValueError(raw)
    except ValueError:
        problem = _(
            "The period “%(value)s” is not a month (2026-11), quarter (2026-Q4) or year (2026); showing this month.",
            value=raw[:20],
        )
        period = month_key(today)
    group = q.group_of(db.session, village, request.args.get("group", type=int))
    show = request.args.get("show") if request.args.get("show") in ("households", "people") else "households"
    data = views.board_page(db.session, village, period, group, show, _page_arg())
    return render_template(
        "villagers/board.html",
        b=data,
        village=village,
        problem=problem,
        nav_vid=village.id,
        stars=board_stars(db.session, village, today),
        villages=views.village_links("villagers.board", villages, village, period=period),
        periods=views.period_links("villagers.board", today, period, village=village.id, show=show),
    )


@bp.get("/notice")
@public
def notice():
    return _serve_public(_notice)


def _notice(village: Village, villages: list[Village], today: dt.date) -> str:
    group = q.group_of(db.session, village, request.args.get("group", type=int))
    data = views.notice_page(
        db.session,
        village,
        _page_arg(),
        today,
        group,
        notice_id=request.args.get("notice", type=int),
        past_page=request.args.get("past", 1, type=int) or 1,
    )
    return render_template(
        "villagers/notice.html",
        n=data,
        village=village,
        nav_vid=village.id,
        villages=views.village_links("villagers.notice", villages, village),
    )


@bp.get("/rules")
@public
def rules():
    return _serve_public(_rules)


def _rules(village: Village, villages: list[Village], today: dt.date) -> str:
    return render_template(
        "villagers/rules.html",
        village=village,
        nav_vid=village.id,
        categories=views.rule_book(db.session, village, today),
        villages=views.village_links("villagers.rules", villages, village),
    )


# --- printing (staff) --------------------------------------------------------------------


def _base_url() -> str:
    return current_app.config.get("POINTSAPP_BASE_URL") or request.host_url


def _base_url_warning() -> str | None:
    """Printing cards without POINTSAPP_BASE_URL puts the address this page was opened with
    into every QR code (for example 127.0.0.1): say so before anything is printed."""
    if current_app.config.get("POINTSAPP_BASE_URL"):
        return None
    return _(
        "The server's public address is not set (the POINTSAPP_BASE_URL setting), so these QR codes "
        "carry the address this page was opened with: %(url)s. If villagers cannot open that address "
        "on their phones, ask whoever runs the server to set it before printing.",
        url=request.host_url,
    )


@bp.get("/cards")
@permission_required("village.admin")
def cards():
    village = current_village()
    households = None
    hid = request.args.get("household", type=int)
    if hid is not None:
        household = in_village(db.session, Household, hid, village)
        if household is None:
            abort(404)
        households, title = [household], household.group.name
    elif request.args.get("group"):
        if request.args["group"] == "all":
            households, title = q.households_for_cards(db.session, village, None), _("All groups")
        else:
            group = q.group_of(db.session, village, request.args.get("group", type=int))
            if group is None:
                abort(404)
            households, title = q.households_for_cards(db.session, village, group), group.name
    if households is None:
        groups = [{"url": url_for("villagers.cards", group=g.id), "label": g.name} for g in village.groups]
        groups.append({"url": url_for("villagers.cards", group="all"), "label": _("All groups")})
        rows = [
            {
                "label": f"{h.group.name} · {h.number} · {h.head_name}",
                "passbook": url_for("villagers.passbook", household_id=h.id),
                "card": url_for("villagers.cards", household=h.id),
                "rotate": url_for("villagers.rotate", household_id=h.id),
            }
            for h in q.households_for_cards(db.session, village, None)
        ]
        return render_template(
            "villagers/cards_index.html",
            village=village,
            nav_vid=village.id,
            staff_page=True,
            groups=groups,
            households=rows,
            base_url_warning=_base_url_warning(),
        )
    sheets = views.card_sheets(
        households, village, _base_url(), stars=stars_by_household(db.session, village, _today(village))
    )
    return render_template(
        "villagers/cards.html",
        sheets=sheets,
        title=title,
        village=village,
        nav_vid=village.id,
        staff_page=True,
        base_url_warning=_base_url_warning(),
    )


@bp.route("/cards/rotate/<int:household_id>", methods=["GET", "POST"])
@permission_required("card.rotate")
def rotate(household_id: int):
    """换发新卡 in two steps: a page that says what happens, then a POST with the box ticked."""
    village = current_village()
    household = in_village(db.session, Household, household_id, village)
    if household is None:
        abort(404)
    if request.method == "GET" or request.form.get("confirm") != "y":
        if request.method == "POST":
            flash(_("Tick the box to confirm that the old card should stop working."), "error")
        label = f"{household.group.name} · {household.number} · {household.head_name}"
        return render_template(
            "villagers/rotate_confirm.html",
            village=village,
            nav_vid=village.id,
            staff_page=True,
            label=label,
            action=url_for("villagers.rotate", household_id=household.id),
            back=url_for("villagers.cards"),
        ), 200 if request.method == "GET" else 400
    rotate_card(db.session, household, current_user, ip=request.remote_addr)
    flash(
        _(
            "A new card link was issued for household %(number)s; the old card no longer works. "
            "Print the new card below.",
            number=household.number,
        ),
        "success",
    )
    return redirect(url_for("villagers.cards", household=household.id))


@bp.get("/cards/passbook/<int:household_id>")
@permission_required("village.admin")
def passbook(household_id: int):
    village = current_village()
    household = in_village(db.session, Household, household_id, village)
    if household is None:
        abort(404)
    year = request.args.get("year", type=int) or _today(village).year
    if not 2000 <= year <= 2100:
        abort(404)
    return render_template(
        "villagers/passbook.html",
        b=views.passbook_page(db.session, household, year),
        nav_vid=village.id,
        staff_page=True,
    )
