"""Presenters: turn query results into ready-made, translated values for the templates.

Templates only loop over what is prepared here (masked names, formatted dates, status
labels), so the privacy rules live in one place: full names appear only in the card
household's own page and in staff-only print pages.
"""

from __future__ import annotations

import datetime as dt

from flask import url_for
from flask_babel import format_date
from flask_babel import gettext as _
from markupsafe import Markup

from ..points.names import mask_name
from ..points.notice import Notice, notices_of_household, open_and_past_notices, village_notices
from ..points.objections import MISSING_LOOKBACK_DAYS, ObjectionStatus
from ..points.periods import month_key, previous_month_of, quarter_key, year_key
from ..points.registry import Household, Village, in_village
from ..points.standings import balance, board_month, household_standings, leaderboard
from ..web.labels import kind_label, period_label
from . import queries as q

NOTICE_PAGE = 100
BOARD_PAGE = 100


# --- small formatters -------------------------------------------------------------------


def fdate(day: dt.date | dt.datetime | None) -> str:
    """A local date; a UTC datetime is shown in the configured time zone first."""
    if day is None:
        return ""
    return format_date(day, "medium")


def signed(points: int) -> str:
    return f"{points:+d}" if points else "0"


def per_head_text(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def staff_name(user) -> str:
    if user is None:
        return "–"
    return user.display_name or user.username


def rule_name(version, kind) -> str:
    return version.name if version is not None else kind_label(kind)


def pager(
    endpoint: str, page: int, pages: int, anchor: str | None = None, newest_first: bool = False, **args
) -> dict | None:
    if pages <= 1:
        return None
    link = lambda n: url_for(endpoint, page=n, _anchor=anchor, **args)  # noqa: E731
    return {
        "text": _("Page %(page)s of %(pages)s", page=page, pages=pages),
        "prev_label": _("Newer") if newest_first else _("Previous"),
        "next_label": _("Older") if newest_first else _("Next"),
        "prev_url": link(page - 1) if page > 1 else None,
        "next_url": link(page + 1) if page < pages else None,
    }


# --- rules in plain words ----------------------------------------------------------------


def evidence_text(code: str) -> str:
    labels = {
        "none": _("No proof needed"),
        "sign_in": _("Sign-in sheet"),
        "photo": _("Photo"),
        "document": _("Document or certificate"),
    }
    return labels.get(code, code)


def points_text(v) -> str:
    pts = signed(v.points)
    if v.per == "unit":
        return _("%(points)s points per %(unit)s", points=pts, unit=v.unit)
    return _("%(points)s points each time", points=pts)


def caps_text(v) -> str:
    caps = v.caps if v.points > 0 else {}
    parts = []
    if "day" in caps:
        parts.append(_("at most %(n)s points a day", n=caps["day"]))
    if "month" in caps:
        parts.append(_("at most %(n)s points a month", n=caps["month"]))
    if "year" in caps:
        parts.append(_("at most %(n)s points a year", n=caps["year"]))
    return _(", ").join(parts)


def scope_text(v) -> str:
    return _("for the household") if v.is_household else _("for each person")


def rule_item(v) -> dict:
    return {
        "name": v.name,
        "points": points_text(v),
        "caps": caps_text(v),
        "scope": scope_text(v),
        "evidence": evidence_text(v.evidence),
        "negative": v.points < 0,
    }


def rule_book(session, village: Village, today: dt.date) -> list[dict]:
    cats: dict[str, list] = {}
    for v in q.rules_in_effect(session, village, today):
        cats.setdefault(v.category, []).append(rule_item(v))
    return [{"name": name, "rules": items} for name, items in cats.items()]


# --- the household page ------------------------------------------------------------------


def _person(row, household: Household) -> str:
    """Who an entry or a waiting capture is for, as the household's card says it."""
    if row.villager is None:
        return _("Whole household")
    if row.villager.household_id == household.id:
        return row.villager.name
    return _("A former member")


def _entry_status(entry, notice, today: dt.date) -> tuple[str, bool]:
    """(label, under an open notice)."""
    if notice is None:
        return _("Posted; public notice to come"), False
    if notice.is_open(today):
        return _("Under public notice until %(date)s", date=fdate(notice.closes_on)), True
    if today < notice.opens_on:
        return _("Posted; public notice to come"), False
    return _("Final"), False


def _objection(obj) -> dict | None:
    if obj is None:
        return None
    status = ObjectionStatus(obj.status)
    state = {
        ObjectionStatus.open: _("Waiting for an answer"),
        ObjectionStatus.upheld: _("Answered: the entry stands"),
        ObjectionStatus.corrected: _("Answered: the entry was corrected"),
    }[status]
    return {
        "date": fdate(obj.raised_at),
        "reason": obj.reason,
        "state": state,
        "answer": obj.answer,
        "open": status == ObjectionStatus.open,
    }


def _cap_note(points: int, requested: int, capped: bool) -> str | None:
    if not capped:
        return None
    return _("Cap reached: %(points)s of %(requested)s points count", points=points, requested=requested)


def _history_items(hist: q.HistoryPage, household: Household, token: str, today: dt.date) -> list[dict]:
    items = []
    for e in hist.entries:
        notice = hist.notices.get(e.id)
        status, open_notice = _entry_status(e, notice, today)
        obj = _objection(hist.objections.get(e.id))
        correction = None
        if e.corrects is not None:
            target = e.corrects
            correction = {
                "url": url_for(
                    "villagers.card", token=token, page=hist.corrected_pages[target.id], _anchor=f"e{target.id}"
                ),
                "label": _(
                    "Corrects: %(item)s of %(date)s",
                    item=rule_name(target.rule_version, target.kind),
                    date=fdate(target.occurred_on),
                ),
                "reason": e.note,
            }
        corrected_by = [
            {
                "url": url_for("villagers.card", token=token, page=hist.correction_pages[fix.id], _anchor=f"e{fix.id}"),
                "label": _(
                    "Corrected on %(date)s (%(points)s)", date=fdate(fix.occurred_on), points=signed(fix.points)
                ),
            }
            for fix in hist.corrected_by.get(e.id, [])
        ]
        items.append(
            {
                "anchor": f"e{e.id}",
                "corrected_by": corrected_by,
                "id": e.id,
                "date": fdate(e.occurred_on),
                "rule": rule_name(e.rule_version, e.kind),
                "kind": kind_label(e.kind),
                "person": _person(e, household),
                "points": signed(e.points),
                "negative": e.points < 0,
                "cap_note": _cap_note(e.points, e.requested_points, e.capped),
                "recorded_by": staff_name(e.captured_by),
                "approved_by": staff_name(e.approved_by),
                "status": status,
                "correction": correction,
                "objection": obj,
                "can_object": open_notice and not (obj and obj["open"]),
            }
        )
    return items


def _standing(s: q.Standing) -> dict:
    return {
        "points": signed(s.points) if s.points < 0 else str(s.points),
        "rank": _("No. %(rank)s of %(of)s", rank=s.rank, of=s.of) if s.rank else "—",
        "per_head": per_head_text(s.per_head),
    }


UPCOMING = 5  # activities shown on a card


def card_village_parts(session, village: Village, today: dt.date) -> dict:
    """What every card of a village shows alike, as plain values (no ORM objects: the web layer keeps
    them for the village's current state, see ``pagecache.memo``): the board month, the rule lists,
    upcoming activities by group, and the shop's part (stars of every household, the catalogue)."""
    rules = q.village_rules(session, village)  # held here so that the activities below reuse them
    in_effect = q.rules_in_effect(session, village, today, rules)
    activities = []
    for a in q.upcoming_activities(session, village, today):
        v = a.rule.version_on(a.held_on)
        item = {"date": fdate(a.held_on), "title": a.title, "place": a.place, "points": points_text(v) if v else ""}
        activities.append((a.group_id, item))
    from .shop_card import village_shop

    return {
        "month": board_month(session, village, today),  # last month until this one has posted points
        "earn_rules": [rule_item(v) for v in in_effect if v.points > 0],
        "deduct_rules": [rule_item(v) for v in in_effect if v.points < 0],
        "activities": activities,
        "shop": village_shop(session, village, today),
    }


def card_page(session, household: Household, token: str, page: int, today: dt.date, parts: dict) -> dict:
    """The card page of a household; ``parts``: its village's :func:`card_village_parts`."""
    village = session.get(Village, household.village_id)
    month = parts["month"]
    pending = q.pending_items(session, household)
    bal = balance(session, household=household, pending=pending)
    members = []
    for m in q.member_points(session, household, month):
        name = m.name
        if m.status == "household":
            name = _("Household items")
        elif m.status == "former":
            name = _("Former members")
        elif m.status == "moved_out":
            name = _("%(name)s (moved out)", name=m.name)
        elif m.status == "deceased":
            name = _("%(name)s (deceased)", name=m.name)
        members.append({"name": name, "month": signed(m.month), "all": signed(m.all_time)})
    hist = q.history(session, household, page)
    activities = [a for g, a in parts["activities"] if g is None or g == household.group_id][:UPCOMING]
    head = household.head
    standings = household_standings(session, household, month)
    return {
        "village": village.name,
        "village_id": village.id,
        "group": household.group.name,
        "head": head.name if head else _("Household No. %(number)s", number=household.number),
        "number": household.number,
        "redeemable": bal.redeemable,
        "honour": bal.honour,
        "month_label": period_label(month),
        "in_village": _standing(standings[0]),
        "in_group": _standing(standings[1]),
        "members": members,
        "pending": [
            {
                "date": fdate(s.occurred_on),
                "rule": rule_name(s.rule_version, "award"),
                "person": _person(s, household),
                "points": signed(s.points),
                "cap_note": _cap_note(s.points, s.requested_points, s.capped),
                "recorded_by": staff_name(s.captured_by),
            }
            for s in pending
        ],
        "pending_points": signed(sum(s.points for s in pending)),
        "history": _history_items(hist, household, token, today),
        "notices": [notice_item(n, today) for n in notices_of_household(session, household, limit=6)],
        "history_total": hist.total,
        "pager": pager("villagers.card", hist.page, hist.pages, anchor="history", newest_first=True, token=token),
        "page": hist.page,
        "activities": activities,
        "earn_rules": parts["earn_rules"],
        "deduct_rules": parts["deduct_rules"],
        "phone": village.committee_phone,
        "missing": [
            {
                "date": fdate(o.raised_at),
                "day": fdate(o.missing_on) if o.missing_on else None,
                "reason": o.reason,
                **(_objection(o) or {}),
            }
            for o in hist.missing
        ],
        "missing_from": fdate(today - dt.timedelta(days=MISSING_LOOKBACK_DAYS)),
        "today_iso": today.isoformat(),
        "min_iso": (today - dt.timedelta(days=MISSING_LOOKBACK_DAYS)).isoformat(),
        "star_rating": None,
    } | _shop_part(session, village, household, bal.redeemable, today, parts["shop"])


def _shop_part(session, village: Village, household: Household, redeemable: int, today: dt.date, shop: dict) -> dict:
    from .shop_card import card_shop

    part = card_shop(session, village, household, redeemable, today, shop)
    return {"shop": part, "star_rating": part["stars_text"] or None}


# --- the public board --------------------------------------------------------------------


def period_links(endpoint: str, today: dt.date, current: str, **args) -> list[dict]:
    choices = [
        (month_key(today), _("This month")),
        (previous_month_of(today), _("Last month")),
        (quarter_key(today), _("This quarter")),
        (year_key(today), _("This year")),
    ]
    return [
        {"url": url_for(endpoint, period=key, **args), "label": label, "current": key == current}
        for key, label in choices
    ]


def village_links(endpoint: str, villages: list[Village], current: Village, **args) -> list[dict]:
    if len(villages) < 2:
        return []
    return [
        {"url": url_for(endpoint, village=v.id, **args), "label": v.name, "current": v.id == current.id}
        for v in villages
    ]


def _board_name(row, headless: dict[int, str]) -> str:
    if row.id in headless:
        return _("Household No. %(number)s", number=headless[row.id])
    return mask_name(row.name)


def board_rows(session, village: Village, by: str, period: str, group=None) -> list[dict]:
    """Leaderboard rows exactly as the core computes them, with names masked."""
    rows = leaderboard(session, by, period, village=village, group=group)
    headless = q.headless_households(session, village) if by == "household" else {}
    out = []
    for r in rows:
        name = r.name if by == "group" else (_board_name(r, headless) if by == "household" else mask_name(r.name))
        out.append(
            {
                "rank": r.rank if r.rank is not None else "—",
                "name": name,
                "group": r.group,
                "points": str(r.points),
                "per_head": per_head_text(r.per_head),
                "negative": r.points < 0,
            }
        )
    return out


def board_page(session, village: Village, period: str, group, show: str, page: int) -> dict:
    households = board_rows(session, village, "household", period)
    red = [r for r in households if int(r["points"]) > 0][:10]
    if group is not None:
        households = board_rows(session, village, "household", period, group)
    rows = households if show == "households" else board_rows(session, village, "villager", period, group)
    not_taking_part = sum(1 for r in rows if r["rank"] == "—")
    pages = max(1, -(-len(rows) // BOARD_PAGE))
    page = min(max(1, page), pages)
    black = None
    if village.show_blacklist:
        headless = q.headless_households(session, village)
        black = [
            {
                "name": _("Household No. %(number)s", number=r.number)
                if r.household_id in headless
                else mask_name(r.name),
                "group": r.group,
                "points": str(r.points),
            }
            for r in q.deductions_board(session, village, period)
        ]
    args = {"village": village.id, "period": period}
    scopes = [
        {"url": url_for("villagers.board", show=show, **args), "label": _("Whole village"), "current": group is None}
    ]
    scopes += [
        {
            "url": url_for("villagers.board", show=show, group=g.id, **args),
            "label": g.name,
            "current": group is not None and g.id == group.id,
        }
        for g in village.groups
    ]
    gargs = dict(args, **({"group": group.id} if group is not None else {}))
    shows = [
        {"url": url_for("villagers.board", show=s, **gargs), "label": label, "current": s == show}
        for s, label in (("households", _("By household")), ("people", _("By person")))
    ]
    return {
        "period_label": period_label(period),
        "red": red,
        "black": black,
        "groups": board_rows(session, village, "group", period),
        "rows": rows[(page - 1) * BOARD_PAGE : page * BOARD_PAGE],
        "show": show,
        "list_title": (_("By household") if show == "households" else _("By person"))
        + " · "
        + (group.name if group is not None else _("Whole village")),
        "scopes": scopes,
        "shows": shows,
        "not_taking_part": (
            _("Not taking part (no points in this period, not ranked): %(n)s households", n=not_taking_part)
            if show == "households"
            else _("Not taking part (no points in this period, not ranked): %(n)s people", n=not_taking_part)
        ),
        "pager": pager("villagers.board", page, pages, anchor="list", show=show, **gargs),
    }


# --- 公示 ---------------------------------------------------------------------------------


def notice_title(n: Notice) -> str:
    if n.number == 1:
        return _("Points of %(month)s", month=period_label(n.month))
    return _("Points of %(month)s: supplementary notice %(number)s", month=period_label(n.month), number=n.number - 1)


def notice_item(n: Notice, today: dt.date) -> dict:
    """One notice as a line of a list: title, window, whether open, link."""
    return {
        "id": n.id,
        "title": notice_title(n),
        "opens": fdate(n.opens_on),
        "closes": fdate(n.closes_on),
        "is_open": n.is_open(today),
        "entries": n.entry_count,
        "supplement": n.number > 1,
        "url": url_for("villagers.notice", village=n.village_id, notice=n.id),
    }


PAST_NOTICES = 12


def notice_page(
    session, village: Village, page: int, today: dt.date, group=None, notice_id: int | None = None, past_page: int = 1
) -> dict | None:
    """Every notice open for objections (newest first), one notice's entries, and the past notices."""
    past_page = max(1, past_page)
    open_now, past = open_and_past_notices(
        session, village, today, limit=PAST_NOTICES + 1, offset=(past_page - 1) * PAST_NOTICES
    )
    notice = None
    if notice_id is not None:
        notice = in_village(session, Notice, notice_id, village)
    if notice is None:
        notice = open_now[0] if open_now else next(iter(village_notices(session, village, limit=1)), None)
    if notice is None:
        return None
    rows, page, pages = q.notice_rows(session, village, notice, page, NOTICE_PAGE, group)
    args = {"village": village.id, "notice": notice.id}
    scopes = [{"url": url_for("villagers.notice", **args), "label": _("Whole village"), "current": group is None}]
    scopes += [
        {
            "url": url_for("villagers.notice", group=g.id, **args),
            "label": g.name,
            "current": group is not None and g.id == group.id,
        }
        for g in village.groups
    ]
    return {
        "title": notice_title(notice),
        "month": period_label(notice.month),
        "supplement": notice.number > 1,
        "phone": village.committee_phone,
        "opens": fdate(notice.opens_on),
        "closes": fdate(notice.closes_on),
        "is_open": notice.is_open(today),
        "published": fdate(notice.published_at),
        "entry_count": notice.entry_count,
        "head_seq": notice.head_seq,
        "digest": notice.digest,
        "open_notices": [notice_item(n, today) | {"current": n.id == notice.id} for n in open_now],
        "past": [notice_item(n, today) | {"current": n.id == notice.id} for n in past[:PAST_NOTICES]],
        "past_more": url_for(
            "villagers.notice", village=village.id, notice=notice.id, past=past_page + 1, _anchor="past"
        )
        if len(past) > PAST_NOTICES
        else None,
        "rows": [
            {
                "date": fdate(r.entry.occurred_on),
                "name": mask_name(r.person) if r.person else _("Household No. %(number)s", number=r.number),
                "group": r.group,
                "rule": rule_name(r.entry.rule_version, r.entry.kind),
                "kind": kind_label(r.entry.kind),
                "correction": r.entry.corrects_id is not None,
                "points": signed(r.entry.points),
                "negative": r.entry.points < 0,
            }
            for r in rows
        ],
        "scopes": scopes,
        "pager": pager(
            "villagers.notice",
            page,
            pages,
            anchor="entries",
            **dict(args, **({"group": group.id} if group is not None else {})),
        ),
    }


# --- printing ------------------------------------------------------------------------------


def card_sheets(
    households: list[Household], village: Village, base_url: str, per_page: int = 8, stars: dict[int, int] | None = None
) -> list[list[dict]]:
    from .qr import card_qr_svg
    from .services import card_url

    cards = []
    for h in households:
        url = card_url(base_url, h)
        cards.append(
            {
                "village": village.name,
                "group": h.group.name,
                "phone": village.committee_phone,
                "head": h.head.name if h.head else _("Household No. %(number)s", number=h.number),
                "number": h.number,
                "url": url,
                "qr": Markup(card_qr_svg(url)),
                "stars": "★" * (stars or {}).get(h.id, 0),
            }
        )
    return [cards[i : i + per_page] for i in range(0, len(cards), per_page)]


def passbook_page(session, household: Household, year: int) -> dict:
    village = session.get(Village, household.village_id)
    opening_h, opening_r, lines = q.passbook(session, household, year)
    rows = [
        {
            "date": fdate(ln.entry.occurred_on),
            "item": rule_name(ln.entry.rule_version, ln.entry.kind),
            "person": ln.entry.villager.name if ln.entry.villager else _("Whole household"),
            "points": signed(ln.entry.points),
            "honour": ln.honour,
            "redeemable": ln.redeemable,
            "cap_note": _cap_note(ln.entry.points, ln.entry.requested_points, ln.entry.capped),
            "note": ln.entry.note if ln.entry.corrects_id else None,
        }
        for ln in lines
    ]
    head = household.head
    return {
        "village": village.name,
        "group": household.group.name,
        "number": household.number,
        "head": head.name if head else _("Household No. %(number)s", number=household.number),
        "year": year,
        "opening_honour": opening_h,
        "opening_redeemable": opening_r,
        "closing_honour": lines[-1].honour if lines else opening_h,
        "closing_redeemable": lines[-1].redeemable if lines else opening_r,
        "rows": rows,
        "prev_year": year - 1,
        "next_year": year + 1,
        "prev_url": url_for("villagers.passbook", household_id=household.id, year=year - 1),
        "next_url": url_for("villagers.passbook", household_id=household.id, year=year + 1),
    }
