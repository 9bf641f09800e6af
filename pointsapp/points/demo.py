"""Demo data: 龙天坪村 (10 groups, 529 households, 1,582 people) and, for county scale, more
villages of the same shape, with about a year of realistic, cap-respecting activity.

Everything but the staff passwords is deterministic for a seed (and the day it runs): the
passwords are random one-time passwords, printed once. The registry is bulk-loaded; points are
posted through the one posting path (capture, then review's approve, which appends to the hash
chain and the tallies), and months are published and closed through the notice and lifecycle
services, each at the local time it happens in the demo's story.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.orm import Session

from .bulk import bulk_insert, fix_sequences
from .capture import Line, capture
from .db import utcnow
from .ledger import Submission, SubmissionStatus
from .lifecycle import close_month
from .notice import publish_notice
from .periods import DEFAULT_TZ, local_midnight_utc, local_today, month_key, parse_month, previous_month_of, zone_of
from .registry import Group, Household, Role, StaffUser, Village, Villager
from .rules import Rule, load_rulebook_text
from .shop.demo import stock_demo_shop
from .review import approve

GROUP_NAMES = ["第一组", "第二组", "第三组", "第四组", "第五组", "第六组", "第七组", "第八组", "第九组", "第十组"]
SURNAMES = ("向唐贾田彭张王李刘陈杨黄周吴覃符滕石龙麻谭瞿鲁欧阳胡邓宋雷罗侯舒姚蒋曾肖毛").replace("欧阳", "")
COMPOUND = ["欧阳", "司马"]
GIVEN = "明华海娟高芳金武生国兰宏英林伟勇平德秀桂云永强光文丽红军建春玉梅兵福贵顺安群珍凤霞志刚家成"
RARE = ["䶮", "𠮷"]
VILLAGE_STEMS = [
    "青山",
    "石门",
    "桃源",
    "白岩",
    "清水",
    "高坪",
    "枫林",
    "茶园",
    "新田",
    "黄土",
    "杉木",
    "龙潭",
    "竹园",
    "大湾",
    "松柏",
    "长岭",
    "马头",
    "鹅塘",
    "金坪",
    "柳溪",
]
RELATIONS = ["配偶", "子", "女", "儿媳", "女婿", "孙子", "孙女", "父亲", "母亲"]
HOUSEHOLD_SIZES = (1, 2, 2, 3, 3, 3, 3, 4, 4, 5)


@dataclass
class DemoResult:
    villages: int = 0
    households: int = 0
    villagers: int = 0
    entries: int = 0
    pending: int = 0
    accounts: list[tuple[str, str, str]] = field(default_factory=list)  # username, role, password

    def lines(self) -> list[str]:
        out = [
            f"demo: {self.villages} villages, {self.households} households, {self.villagers} villagers, "
            f"{self.entries} posted entries, {self.pending} captures waiting for review",
            "staff accounts (one-time passwords; each must be changed at first sign-in):",
        ]
        out += [f"  {u:<16} {r:<12} {p}" for u, r, p in self.accounts]
        return out


def _name(rng: random.Random, surname: str | None = None) -> str:
    if surname is None:
        surname = rng.choice(COMPOUND) if rng.random() < 0.01 else rng.choice(SURNAMES)
    n = 1 if rng.random() < 0.3 else 2
    return surname + "".join(rng.choice(GIVEN) for _ in range(n))


def build_demo(
    session: Session,
    *,
    villages: int = 1,
    months: int = 12,
    seed: int = 1,
    tz: str = DEFAULT_TZ,
    progress: Callable[[int, str], Any] | None = None,
    now: dt.datetime | None = None,
    size: tuple[int, int] = (529, 1582),
) -> DemoResult:
    """Villages of ``size`` (households, people) with ``months`` months of activity up to ``now``,
    posted through capture, review, the 公示 and the month close (see :func:`_activity`)."""
    rng = random.Random(seed)
    now = now or utcnow()
    today = local_today(tz, now)
    result = DemoResult()
    rules_text = resources.files("pointsapp").joinpath("demo_data/rules.yaml").read_text(encoding="utf-8")
    ids = {"household": 0, "villager": 0}
    first_month = dt.date(today.year, today.month, 1)
    for _ in range(months - 1):
        first_month = (first_month - dt.timedelta(days=1)).replace(day=1)
    bar = progress(villages, "demo villages") if progress else None
    stems = list(VILLAGE_STEMS)
    for vi in range(villages):
        name = "龙天坪村" if vi == 0 else f"{stems[vi % len(stems)]}{'' if vi < len(stems) else vi // len(stems) + 1}村"
        # a made-up committee phone, so the demo shows where it appears (card, notice, printed cards)
        village = Village(name=name, county="示范县", timezone=tz, committee_phone=f"0743-555{1234 + vi:04d}")
        session.add(village)
        session.flush()
        groups = [Group(village_id=village.id, name=g, sort_key=i + 1) for i, g in enumerate(GROUP_NAMES)]
        session.add_all(groups)
        session.flush()
        people = _people(rng, vi, *size)
        hh_rows: list[tuple[object, ...]] = []
        v_rows: list[tuple[object, ...]] = []
        households: list[_House] = []
        for hi, members in enumerate(people):
            ids["household"] += 1
            hid = ids["household"]
            group = groups[min(9, hi * 10 // len(people))]
            member_ids = []
            for mi, (pname, sex, birth_year, rel) in enumerate(members):
                ids["villager"] += 1
                member_ids.append(ids["villager"])
                phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}" if rng.random() < 0.6 else None
                v_rows.append(
                    (ids["villager"], village.id, hid, pname, sex, birth_year, rng.randint(1, 12), phone, rel, "active")
                )
            hh_rows.append(
                (hid, village.id, group.id, str(hi + 1), f"{hi + 1:03d}", None, secrets.token_urlsafe(24), True)
            )
            households.append((hid, group.id, member_ids, [m[2] for m in members]))
        bulk_insert(
            session,
            _HOUSEHOLDS,
            ("id", "village_id", "group_id", "number", "house_number", "head_id", "card_token", "active"),
            hh_rows,
        )
        bulk_insert(
            session,
            _VILLAGERS,
            (
                "id",
                "village_id",
                "household_id",
                "name",
                "sex",
                "birth_year",
                "birth_month",
                "phone",
                "relation",
                "status",
            ),
            v_rows,
        )
        session.execute(
            _HOUSEHOLDS.update().where(_HOUSEHOLDS.c.id == _bind("hid")).values(head_id=_bind("head")),
            [{"hid": h[0], "head": h[2][0]} for h in households],
        )
        load_rulebook_text(session, village, rules_text)
        staff = _staff(session, village, groups, vi, result)
        rules = {r.code: r for r in session.execute(select(Rule).where(Rule.village_id == village.id)).scalars()}
        _activity(session, rng, village, today, first_month, households, rules, staff, result, now)
        result.villages += 1
        result.households += len(households)
        result.villagers += len(v_rows)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    fix_sequences(session, [_HOUSEHOLDS, _VILLAGERS])
    session.flush()
    _demo_shop(session, rng, result, now)
    if villages > 1:
        _account(session, result, "county", Role.viewer, None, "县农业农村局")
        result.accounts.append(("v002-admin …", "admin", "set with `pointsapp user password USERNAME`"))
    session.flush()
    return result


def _demo_shop(session: Session, rng: random.Random, result: DemoResult, now: dt.datetime) -> None:
    """The demo village's 积分超市, through the shop's own services (see points/shop/demo.py)."""
    village = session.execute(select(Village).where(Village.name == "龙天坪村")).scalar_one()
    admin = session.execute(select(StaffUser).where(StaffUser.username == "admin")).scalar_one()
    stock_demo_shop(session, village, admin, rng, result, _account, now)


def _bind(name: str) -> BindParameter[Any]:
    return bindparam(name)


_HOUSEHOLDS = cast(Table, Household.__table__)
_VILLAGERS = cast(Table, Villager.__table__)
#: (household id, group id, member ids, member birth years) of a generated household
_House = tuple[int, int, list[int], list[int]]


def _people(
    rng: random.Random, vi: int, households: int = 529, people: int = 1582
) -> list[list[tuple[str, str, int, str]]]:
    """529 households of 1,582 people: (name, sex, birth year, relation to head)."""
    sizes = [rng.choice(HOUSEHOLD_SIZES) for _ in range(households)]
    while sum(sizes) != people:
        i = rng.randrange(households)
        if sum(sizes) > people and sizes[i] > 1:
            sizes[i] -= 1
        elif sum(sizes) < people and sizes[i] < 7:
            sizes[i] += 1
    out = []
    for h, size in enumerate(sizes):
        surname = rng.choice(SURNAMES)
        members = [(_name(rng, surname), rng.choice("男女"), rng.randint(1940, 1990), "户主")]
        for _ in range(size - 1):
            rel = rng.choice(RELATIONS)
            same = rel in ("子", "女", "孙子", "孙女", "父亲")
            members.append((_name(rng, surname if same else None), rng.choice("男女"), rng.randint(1935, 2015), rel))
        out.append(members)
    if vi == 0 and households == 529:  # rare characters must survive everywhere: rename two non-head members
        for h, (given, rare) in zip((369, 445), (("贾德", RARE[0]), ("杨明", RARE[1]))):
            house = out[h] if len(out[h]) > 1 else out[h + 1]
            _n, sex, year, rel = house[-1]
            house[-1] = (given + rare, sex, year, rel)
    return out


def _account(
    session: Session,
    result: DemoResult,
    username: str,
    role: Role,
    village: Village | None,
    display: str,
    groups: Sequence[Group] = (),
    *,
    usable: bool = True,
) -> StaffUser:
    """A staff account. Only the demo village's get (printed) passwords: hashing hundreds of
    county-scale accounts would dominate the run; set one with `pointsapp user password`."""
    user = StaffUser(
        username=username,
        role=role,
        village_id=village.id if village else None,
        display_name=display,
        must_change_password=True,
        groups=list(groups),
    )
    if usable:
        password = secrets.token_urlsafe(9)
        user.set_one_time_password(password)
        result.accounts.append((username, role.value, password))
    else:
        user.password_hash = "!"  # matches no password
    session.add(user)
    return user


def _staff(
    session: Session, village: Village, groups: list[Group], vi: int, result: DemoResult
) -> dict[str, StaffUser]:
    prefix = "" if vi == 0 else f"v{vi + 1:03d}-"
    usable = vi == 0
    staff = {
        "admin": _account(session, result, f"{prefix}admin", Role.admin, village, "村委会", usable=usable),
        "admin2": _account(session, result, f"{prefix}admin2", Role.admin, village, "村主任", usable=usable),
        "reviewer": _account(session, result, f"{prefix}reviewer", Role.reviewer, village, "监委会", usable=usable),
    }
    workers = 5 if vi == 0 else 1
    for w in range(workers):
        mine = groups[w * 10 // workers : (w + 1) * 10 // workers]
        staff[f"grid{w + 1}"] = _account(
            session, result, f"{prefix}grid{w + 1}", Role.grid_worker, village, f"网格员{w + 1}", mine, usable=usable
        )
    session.flush()
    return staff


# Monthly programme: rule, occasions per month, share of adults (or households) taking part.
PERSON_PROGRAMME = [
    ("DJ-01", 1, 0.25),
    ("LJ-01", 2, 0.15),
    ("LJ-02", 1, 0.05),
    ("ZC-01", 1, 0.2),
    ("ZY-01", 2, 0.25),
    ("ZY-02", 2, 0.06),
    ("ZF-02", 1, 0.005),
]
HOUSEHOLD_PROGRAMME = [("WM-02", 1, 0.55), ("WM-01", 1, 0.45), ("WM-03", 1, 0.015)]


@dataclass
class _Occasion:
    """One capture of the demo: a logger records a rule for some subjects on a day, at ``at``;
    the reviewer approves it at once unless it is recent (then it waits for review)."""

    at: dt.datetime
    day: dt.date
    code: str
    logger_id: int
    lines: list[Line]
    approve: bool


#: (occurred_on, rule code, villager id or None, household id, group id, quantity)
_Event = tuple[dt.date, str, int | None, int, int, int]


def _events(rng: random.Random, today: dt.date, first_month: dt.date, households: list[_House]) -> list[_Event]:
    """What happened: (occurred_on, rule code, villager id | None, household id, group id, quantity)."""
    events: list[_Event] = []
    adults = [(vid, h[0], h[1]) for h in households for vid, by in zip(h[2], h[3]) if by <= today.year - 16]
    month = first_month
    while month <= today:
        last = parse_month(month_key(month)).end
        days = [month + dt.timedelta(days=d) for d in range((min(last, today) - month).days + 1)]
        for code, per_month, share in PERSON_PROGRAMME:
            for _ in range(per_month):
                day = rng.choice(days)
                for vid, hid, gid in adults:
                    if rng.random() < share:
                        qty = rng.randint(1, 4) if code == "ZY-02" else 1
                        events.append((day, code, vid, hid, gid, qty))
        if month.month in (6, 7, 8):
            day = rng.choice(days)
            events += [(day, "FY-01", vid, hid, gid, 1) for vid, hid, gid in adults if rng.random() < 0.1]
        for code, per_month, share in HOUSEHOLD_PROGRAMME:
            day = rng.choice(days)
            for hid, gid, _m, _b in households:
                if rng.random() < share:
                    events.append((day, code, None, hid, gid, rng.randint(1, 5) if code == "WM-01" else 1))
        if month.month == 1:
            events += [(month, "JC-01", None, hid, gid, 1) for hid, gid, _m, _b in households]
        if rng.random() < 0.3:
            vid, hid, gid = rng.choice(adults)
            events.append((rng.choice(days), rng.choice(["BZ-01", "ZF-01"]), vid, hid, gid, 1))
        month = last + dt.timedelta(days=1)
    events.sort(key=lambda e: (e[0], e[1]))
    return events


def demo_occasions(
    rng: random.Random,
    village: Village,
    today: dt.date,
    first_month: dt.date,
    households: list[_House],
    rules: dict[str, Rule],
    staff: dict[str, StaffUser],
    now: dt.datetime,
) -> list[_Occasion]:
    """The demo's captures in the order they happen: one per day, rule and logger (the grid
    worker of the group for rules grid workers record, else the village committee), recorded
    one to three evenings after the day; the last four days' captures still wait for review."""
    pending_from = today - dt.timedelta(days=4)
    grid_for_group = {g.id: s for k, s in staff.items() if k.startswith("grid") for g in s.groups}
    by_occasion: dict[tuple[dt.date, str, int], list[Line]] = defaultdict(list)
    for day, code, vid, hid, gid, qty in _events(rng, today, first_month, households):
        version = rules[code].version_on(day)
        if version is None:
            continue
        logger = grid_for_group[gid] if "grid_worker" in version.logged_by_roles else staff["admin"]
        line = Line(household_id=hid, quantity=qty) if version.is_household else Line(villager_id=vid, quantity=qty)
        by_occasion[(day, code, logger.id)].append(line)
    out = []
    for (day, code, logger_id), lines in by_occasion.items():
        evening = _local(village, day + dt.timedelta(days=rng.randint(1, 3)), 20)
        out.append(_Occasion(min(now, evening), day, code, logger_id, lines, approve=day < pending_from))
    return out


def _local(village: Village, day: dt.date, hour: int) -> dt.datetime:
    return local_midnight_utc(day, zone_of(village)) + dt.timedelta(hours=hour)


def _activity(
    session: Session,
    rng: random.Random,
    village: Village,
    today: dt.date,
    first_month: dt.date,
    households: list[_House],
    rules: dict[str, Rule],
    staff: dict[str, StaffUser],
    result: DemoResult,
    now: dt.datetime,
) -> None:
    """Post the demo's year through the same services as the pages: capture, review (approve),
    publish the 公示 and close the month, each at the time it happens."""
    steps: list[tuple[dt.datetime, int, Any]] = []
    for n, occ in enumerate(demo_occasions(rng, village, today, first_month, households, rules, staff, now)):
        steps.append((occ.at, n, occ))
    steps += _lifecycle_steps(village, first_month, today, now)
    steps.sort(key=lambda s: (s[0], s[1]))
    reviewer, admin = staff["reviewer"], staff["admin"]
    for n, (at, _order, step) in enumerate(steps):
        if isinstance(step, _Occasion):
            logger = session.get(StaffUser, step.logger_id)
            assert logger is not None
            res = capture(
                session,
                actor=logger,
                village=village,
                lines=step.lines,
                rule_code=step.code,
                occurred_on=step.day,
                key=f"demo-{village.id}-{n}",
                source="demo",
                now=at,
            )
            subs = list(
                session.execute(
                    select(Submission).where(
                        Submission.batch_id == res.batch_id, Submission.status == SubmissionStatus.pending
                    )
                ).scalars()
            )
            if step.approve:
                result.entries += len(approve(session, subs, reviewer, now=at))
            else:
                result.pending += len(subs)
        elif step[0] == "publish":
            publish_notice(session, village, step[1], reviewer, now=at)
        else:
            close_month(session, village, step[1], admin, now=at)


def _lifecycle_steps(
    village: Village, first_month: dt.date, today: dt.date, now: dt.datetime
) -> list[tuple[dt.datetime, int, tuple[str, str]]]:
    """Months before last month are published on the 4th of the next month and closed on the
    12th; last month is published yesterday (today on the 1st) and is under notice."""
    steps: list[tuple[dt.datetime, int, tuple[str, str]]] = []
    this_month, prev_month = month_key(today), previous_month_of(today)
    m = first_month
    while month_key(m) < prev_month:
        end = parse_month(month_key(m)).end
        steps.append((_local(village, end + dt.timedelta(days=4), 9), -2, ("publish", month_key(m))))
        steps.append((_local(village, end + dt.timedelta(days=12), 10), -1, ("close", month_key(m))))
        m = end + dt.timedelta(days=1)
    if prev_month >= month_key(first_month) and prev_month != this_month:
        opens = max(today.replace(day=1), today - dt.timedelta(days=1))
        steps.append((min(now, _local(village, opens, 9)), -2, ("publish", prev_month)))
    return steps
