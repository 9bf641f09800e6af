"""Fixtures of the villagers feature: a village with posted, capped, corrected, pending and
noticed entries, all made through the core services (capture + approve by two people,
correct, publish_notice). Staff pages are signed in with ``tests.conftest.login``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from pointsapp.points.activities import Activity
from pointsapp.points.capture import Line, approve, capture, correct
from pointsapp.points.ledger import Submission
from pointsapp.points.notice import publish_notice
from pointsapp.points.periods import local_today, month_key
from pointsapp.points.rules import Rule


@dataclass
class Scene:
    village: int
    month: str
    today: dt.date
    notice_month: str
    households: list[int]
    tokens: list[str]
    people: list[list[int]]
    names: dict[int, list[str]]  # household id -> its members' full names
    phones: list[str]
    users: dict[str, int]
    entries: dict[str, int] = field(default_factory=dict)  # label -> ledger entry id
    pending: list[int] = field(default_factory=list)


def _post(s, w, actor, rule, day, lines, approver):
    res = capture(s, actor=actor, village=w.village, rule_code=rule, occurred_on=day, lines=lines, key=w.key())
    subs = [s.get(Submission, ln.submission_id) for ln in res.lines]
    if approver is None:
        return subs
    return approve(s, subs, approver)


def build_scene(session) -> Scene:
    from tests.factories import World

    w = World(session)
    w.grid.display_name = "网格员小李"
    w.reviewer.display_name = "监委会老周"
    w.admin.display_name = "村委会老王"
    phones = []
    for i, person in enumerate(p for ps in w.people for p in ps):
        person.phone = f"1380731{i:04d}"
        phones.append(person.phone)
    session.flush()
    today = local_today(w.village.timezone)
    first = today.replace(day=1)
    day = max(first, today - dt.timedelta(days=3))
    last_month = first - dt.timedelta(days=1)
    (xmh, tg), (thj, mw, tfj), (jsg,), (ymj, jdy) = w.people
    h0, h1, h2, h3 = w.households
    e = {}
    # Last month is finished and published (公示): these entries are under notice now.
    e["h0_dj"] = _post(session, w, w.grid, "DJ-01", last_month, [Line(villager_id=xmh.id)], w.reviewer)[0]
    tg_entries = _post(session, w, w.grid, "DJ-01", day, [Line(villager_id=tg.id)], w.reviewer)
    tg_entries += _post(session, w, w.grid, "DJ-01", today, [Line(villager_id=tg.id)], w.reviewer)
    e["h0_capped"] = _post(session, w, w.grid, "DJ-01", today, [Line(villager_id=tg.id)], w.reviewer)[0]
    e["h0_yard"] = _post(session, w, w.grid, "WM-02", last_month, [Line(household_id=h0.id)], w.reviewer)[0]
    e["h0_last_month"] = _post(session, w, w.grid, "ZY-01", last_month, [Line(villager_id=tg.id)], w.reviewer)[0]
    e["h0_last_month_2"] = _post(session, w, w.grid, "ZY-01", last_month, [Line(villager_id=xmh.id)], w.reviewer)[0]
    e["h0_running"] = tg_entries[0]  # this month's: not published yet
    pending = _post(session, w, w.grid, "LJ-01", today, [Line(villager_id=xmh.id)], None)
    e["h1_dj"] = _post(session, w, w.grid, "DJ-01", last_month, [Line(villager_id=thj.id)], w.reviewer)[0]
    e["h1_mess"] = _post(session, w, w.grid, "WM-03", day, [Line(household_id=h1.id)], w.reviewer)[0]
    e["h1_fix"] = correct(session, e["h1_mess"], w.reviewer, "劝导后已整改，撤销扣分")
    e["h2_zc"] = _post(session, w, w.admin, "ZC-01", last_month, [Line(villager_id=jsg.id)], w.reviewer)[0]
    rule = session.execute(select(Rule).where(Rule.village_id == w.village.id, Rule.code == "ZY-01")).scalar_one()
    session.add(
        Activity(
            village_id=w.village.id,
            rule_id=rule.id,
            title="清扫村道",
            held_on=today + dt.timedelta(days=2),
            place="村委会门口",
            created_by_id=w.admin.id,
        )
    )
    publish_notice(session, w.village, month_key(last_month), w.reviewer)
    session.commit()
    return Scene(
        village=w.village.id,
        month=month_key(today),
        today=today,
        notice_month=month_key(last_month),
        households=[h.id for h in w.households],
        tokens=[h.card_token for h in w.households],
        people=[[p.id for p in ps] for ps in w.people],
        names={h.id: [p.name for p in ps] for h, ps in zip(w.households, w.people)},
        phones=phones,
        users={u.username: u.id for u in (w.admin, w.admin2, w.reviewer, w.reviewer2, w.grid)},
        entries={k: v.id for k, v in e.items()},
        pending=[s.id for s in pending],
    )


@pytest.fixture
def scene(app) -> Scene:
    from pointsapp.extensions import db

    with app.app_context():
        return build_scene(db.session)
