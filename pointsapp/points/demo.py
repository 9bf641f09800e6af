"""Demo data: 龙天坪村 (10 groups, 529 households, 1,582 people) and, for county scale, more
villages of the same shape, with about a year of realistic, cap-respecting activity.

Everything but the staff passwords is deterministic for a seed (and the day it runs): the
passwords are random one-time passwords, printed once. Bulk paths write entries with their
hash chain and tallies computed here, so ``ledger verify`` and the boards hold as usual.
"""
from __future__ import annotations

import bisect
import datetime as dt
import random
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from .bulk import bulk_insert, fix_sequences
from .db import utcnow
from .ledger import (
    GENESIS, HASHED_FIELDS, CaptureBatch, ClosedPeriod, EntryKind, LedgerEntry, Submission,
    SubmissionStatus, entry_hash,
)
from .notice import Notice, NoticeEntry, NoticeKind, notice_digest
from .periods import cap_window, local_today, month_key, parse_month
from .registry import Group, Household, Role, StaffUser, Village, Villager
from .rules import Rule, load_rulebook_text
from .shop.demo import stock_demo_shop
from .standings import Tally, tally_deltas

GROUP_NAMES = ["第一组", "第二组", "第三组", "第四组", "第五组", "第六组", "第七组", "第八组", "第九组", "第十组"]
SURNAMES = ("向唐贾田彭张王李刘陈杨黄周吴覃符滕石龙麻谭瞿鲁欧阳胡邓宋雷罗侯舒姚蒋曾肖毛").replace("欧阳", "")
COMPOUND = ["欧阳", "司马"]
GIVEN = "明华海娟高芳金武生国兰宏英林伟勇平德秀桂云永强光文丽红军建春玉梅兵福贵顺安群珍凤霞志刚家成"
RARE = ["䶮", "𠮷"]
VILLAGE_STEMS = ["青山", "石门", "桃源", "白岩", "清水", "高坪", "枫林", "茶园", "新田", "黄土", "杉木", "龙潭",
                 "竹园", "大湾", "松柏", "长岭", "马头", "鹅塘", "金坪", "柳溪"]
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
        out = [f"demo: {self.villages} villages, {self.households} households, {self.villagers} villagers, "
               f"{self.entries} posted entries, {self.pending} captures waiting for review",
               "staff accounts (one-time passwords; each must be changed at first sign-in):"]
        out += [f"  {u:<16} {r:<12} {p}" for u, r, p in self.accounts]
        return out


def _name(rng: random.Random, surname: str | None = None) -> str:
    if surname is None:
        surname = rng.choice(COMPOUND) if rng.random() < 0.01 else rng.choice(SURNAMES)
    n = 1 if rng.random() < 0.3 else 2
    return surname + "".join(rng.choice(GIVEN) for _ in range(n))


class _Chain:
    def __init__(self, village_id: int):
        self.village_id, self.seq, self.head = village_id, 0, GENESIS
        self.rows: list[tuple] = []

    def add(self, fields: dict, tz: ZoneInfo) -> None:
        self.seq += 1
        fields["village_id"], fields["seq"] = self.village_id, self.seq
        digest = entry_hash(self.head, fields)
        self.rows.append(tuple(fields[k] for k in HASHED_FIELDS) + (self.head, digest))
        self.head = digest


ENTRY_COLUMNS = HASHED_FIELDS + ("prev_hash", "hash")


def build_demo(session: Session, *, villages: int = 1, months: int = 12, seed: int = 1,
               tz: str = "Asia/Shanghai", progress=None, now: dt.datetime | None = None) -> DemoResult:
    rng = random.Random(seed)
    now = now or utcnow()
    zone = ZoneInfo(tz)
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
        people = _people(rng, vi)
        hh_rows, v_rows, households = [], [], []
        for hi, members in enumerate(people):
            ids["household"] += 1
            hid = ids["household"]
            group = groups[min(9, hi * 10 // len(people))]
            member_ids = []
            for mi, (pname, sex, birth_year, rel) in enumerate(members):
                ids["villager"] += 1
                member_ids.append(ids["villager"])
                phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}" if rng.random() < 0.6 else None
                v_rows.append((ids["villager"], village.id, hid, pname, sex, birth_year, rng.randint(1, 12),
                               phone, rel, "active"))
            hh_rows.append((hid, village.id, group.id, str(hi + 1), f"{hi + 1:03d}", None,
                            secrets.token_urlsafe(24), True))
            households.append((hid, group.id, member_ids, [m[2] for m in members]))
        bulk_insert(session, Household.__table__, ("id", "village_id", "group_id", "number", "house_number",
                                                   "head_id", "card_token", "active"), hh_rows)
        bulk_insert(session, Villager.__table__, ("id", "village_id", "household_id", "name", "sex", "birth_year",
                                                  "birth_month", "phone", "relation", "status"), v_rows)
        session.execute(Household.__table__.update().where(Household.__table__.c.id == _bind("hid"))
                        .values(head_id=_bind("head")),
                        [{"hid": h[0], "head": h[2][0]} for h in households])
        load_rulebook_text(session, village, rules_text)
        staff = _staff(session, village, groups, vi, result)
        rules = {r.code: r for r in session.execute(select(Rule).where(Rule.village_id == village.id)).scalars()}
        _activity(session, rng, village, zone, today, first_month, households, rules, staff, result, now)
        result.villages += 1
        result.households += len(households)
        result.villagers += len(v_rows)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    fix_sequences(session, [Household.__table__, Villager.__table__, LedgerEntry.__table__])
    session.flush()
    _demo_shop(session, rng, result, now)
    if villages > 1:
        _account(session, result, "county", Role.viewer, None, "县农业农村局")
        result.accounts.append(("v002-admin …", "admin", "set with `pointsapp user password USERNAME`"))
    session.flush()
    return result


def _demo_shop(session, rng, result, now) -> None:
    """The demo village's 积分超市, through the shop's own services (see points/shop/demo.py)."""
    village = session.execute(select(Village).where(Village.name == "龙天坪村")).scalar_one()
    admin = session.execute(select(StaffUser).where(StaffUser.username == "admin")).scalar_one()
    stock_demo_shop(session, village, admin, rng, result, _account, now)


def _bind(name):
    from sqlalchemy import bindparam

    return bindparam(name)


def _people(rng: random.Random, vi: int) -> list[list[tuple[str, str, int, str]]]:
    """529 households of 1,582 people: (name, sex, birth year, relation to head)."""
    sizes = [rng.choice(HOUSEHOLD_SIZES) for _ in range(529)]
    while sum(sizes) != 1582:
        i = rng.randrange(529)
        if sum(sizes) > 1582 and sizes[i] > 1:
            sizes[i] -= 1
        elif sum(sizes) < 1582 and sizes[i] < 7:
            sizes[i] += 1
    out = []
    for h, size in enumerate(sizes):
        surname = rng.choice(SURNAMES)
        members = [(_name(rng, surname), rng.choice("男女"), rng.randint(1940, 1990), "户主")]
        for _ in range(size - 1):
            rel = rng.choice(RELATIONS)
            same = rel in ("子", "女", "孙子", "孙女", "父亲")
            members.append((_name(rng, surname if same else None), rng.choice("男女"),
                            rng.randint(1935, 2015), rel))
        out.append(members)
    if vi == 0:  # rare characters must survive everywhere: rename two non-head members
        for h, (given, rare) in zip((369, 445), (("贾德", RARE[0]), ("杨明", RARE[1]))):
            house = out[h] if len(out[h]) > 1 else out[h + 1]
            _n, sex, year, rel = house[-1]
            house[-1] = (given + rare, sex, year, rel)
    return out


def _account(session, result, username, role, village, display, groups=(), *, usable=True):
    """A staff account. Only the demo village's get (printed) passwords: hashing hundreds of
    county-scale accounts would dominate the run; set one with `pointsapp user password`."""
    user = StaffUser(username=username, role=role, village_id=village.id if village else None,
                     display_name=display, must_change_password=True, groups=list(groups))
    if usable:
        password = secrets.token_urlsafe(9)
        user.set_one_time_password(password)
        result.accounts.append((username, role.value, password))
    else:
        user.password_hash = "!"  # matches no password
    session.add(user)
    return user


def _staff(session, village, groups, vi, result) -> dict[str, StaffUser]:
    prefix = "" if vi == 0 else f"v{vi + 1:03d}-"
    usable = vi == 0
    staff = {
        "admin": _account(session, result, f"{prefix}admin", Role.admin, village, "村委会", usable=usable),
        "admin2": _account(session, result, f"{prefix}admin2", Role.admin, village, "村主任", usable=usable),
        "reviewer": _account(session, result, f"{prefix}reviewer", Role.reviewer, village, "监委会", usable=usable),
    }
    workers = 5 if vi == 0 else 1
    for w in range(workers):
        mine = groups[w * 10 // workers:(w + 1) * 10 // workers]
        staff[f"grid{w + 1}"] = _account(session, result, f"{prefix}grid{w + 1}", Role.grid_worker, village,
                                         f"网格员{w + 1}", mine, usable=usable)
    session.flush()
    return staff


# Monthly programme: rule, occasions per month, share of adults (or households) taking part.
PERSON_PROGRAMME = [("DJ-01", 1, 0.25), ("LJ-01", 2, 0.15), ("LJ-02", 1, 0.05), ("ZC-01", 1, 0.2),
                    ("ZY-01", 2, 0.25), ("ZY-02", 2, 0.06), ("ZF-02", 1, 0.005)]
HOUSEHOLD_PROGRAMME = [("WM-02", 1, 0.55), ("WM-01", 1, 0.45), ("WM-03", 1, 0.015)]


def _activity(session, rng, village, zone, today, first_month, households, rules, staff, result, now):
    chain = _Chain(village.id)
    used: dict[tuple, int] = defaultdict(int)
    events: list[tuple] = []  # (occurred_on, rule code, villager id | None, household id, group id, quantity)
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
    pending_from = today - dt.timedelta(days=4)
    approver = staff["reviewer"].id
    entries, pending = [], []
    versions: dict[tuple[str, dt.date], tuple] = {}
    admin_id = staff["admin"].id
    grid_for_group = {g.id: s.id for k, s in staff.items() if k.startswith("grid") for g in s.groups}
    for day, code, vid, hid, gid, qty in events:
        if (code, day) not in versions:
            v = rules[code].version_on(day)
            versions[(code, day)] = (v.id, v.rule_id, v.points, v.is_household, v.caps,
                                     "grid_worker" in v.logged_by_roles) if v else None
        if versions[(code, day)] is None:
            continue
        version_id, rule_id, points, household_rule, caps, by_grid = versions[(code, day)]
        subject = hid if household_rule else vid
        requested = points * qty
        granted = requested
        if requested > 0 and caps:
            keys = [(code, p, cap_window(p, day)[0], subject) for p in caps]
            room = min(cap - used[k] for k, cap in zip(keys, caps.values()))
            granted = max(0, min(requested, room))
            for k in keys:
                used[k] += granted
        row = dict(kind=EntryKind.award if requested >= 0 else EntryKind.deduction, points=granted,
                   requested_points=requested, capped=granted < requested, quantity=qty,
                   rule_id=rule_id, rule_version_id=version_id,
                   villager_id=None if household_rule else vid, household_id=hid, group_id=gid,
                   occurred_on=day, note=f"cap reached: {granted} of {requested} points" if granted < requested else None,
                   captured_by_id=grid_for_group[gid] if by_grid else admin_id, submission_id=None, corrects_id=None, corrects_seq=None)
        if day >= pending_from:
            pending.append(row)
            continue
        recorded = dt.datetime.combine(day + dt.timedelta(days=rng.randint(1, 3)), dt.time(20), tzinfo=zone)
        row["recorded_at"] = min(recorded.astimezone(dt.timezone.utc), dt.datetime.combine(
            today, dt.time(0), tzinfo=zone).astimezone(dt.timezone.utc))
        row["approved_by_id"] = approver
        row["recorded_at"] = row["recorded_at"].replace(microsecond=0)
        entries.append(row)
    entries.sort(key=lambda r: r["recorded_at"])
    for row in entries:
        chain.add(row, zone)
    bulk_insert(session, LedgerEntry.__table__, ENTRY_COLUMNS, chain.rows)
    deltas = tally_deltas(entries)
    bulk_insert(session, Tally.__table__, ("period", "kind", "subject_id", "village_id", "points", "spent", "entries"),
                [(p, k, s, v[0], v[1], v[2], v[3]) for (p, k, s), v in deltas.items()])
    village.ledger_seq, village.ledger_head = chain.seq, chain.head
    _pending(session, village, pending, staff)
    _lifecycle(session, village, chain, staff, first_month, today, now, zone)
    result.entries += len(entries)
    result.pending += len(pending)


def _lifecycle(session, village, chain: _Chain, staff, first_month: dt.date, today: dt.date,
               now: dt.datetime, zone: ZoneInfo) -> None:
    """Months before last month were published on the 4th of the next month and closed on the
    12th; last month was published yesterday (today on the 1st) and is under notice."""
    seq_at, day_at, hash_at = HASHED_FIELDS.index("seq"), HASHED_FIELDS.index("occurred_on"), len(HASHED_FIELDS) + 1
    at_idx = HASHED_FIELDS.index("recorded_at")
    rows = chain.rows  # in seq order, recorded_at ascending

    times = [r[at_idx] for r in rows]

    def head_at(when: dt.datetime) -> tuple[int, str]:
        i = bisect.bisect_right(times, when)
        return (rows[i - 1][seq_at], rows[i - 1][hash_at]) if i else (0, GENESIS)

    def local(day: dt.date, hour: int) -> dt.datetime:
        return min(now, dt.datetime.combine(day, dt.time(hour), tzinfo=zone).astimezone(dt.timezone.utc))

    def publish(month: str, when: dt.datetime, opens: dt.date, days: int) -> None:
        p = parse_month(month)
        head_seq, head_hash = head_at(when)
        listed = [(r[seq_at], r[hash_at]) for r in rows
                  if r[seq_at] <= head_seq and p.start <= r[day_at] <= p.end]
        notice = Notice(village_id=village.id, month=month, number=1, kind=NoticeKind.main.value,
                        published_at=when, published_by_id=staff["reviewer"].id, opens_on=opens,
                        closes_on=opens + dt.timedelta(days=days - 1), window_days=days, head_seq=head_seq,
                        head_hash=head_hash, entry_count=len(listed),
                        digest=notice_digest(village.id, month, 1, head_seq, head_hash, listed))
        session.add(notice)
        session.flush()
        bulk_insert(session, NoticeEntry.__table__, ("notice_id", "seq", "village_id"),
                    [(notice.id, s, village.id) for s, _h in listed])

    this_month = month_key(today)
    prev_month = month_key(dt.date(today.year, today.month, 1) - dt.timedelta(days=1))
    m = first_month
    while month_key(m) < prev_month:
        end = parse_month(month_key(m)).end
        publish(month_key(m), local(end + dt.timedelta(days=4), 9), end + dt.timedelta(days=4), village.notice_days)
        closed_at = local(end + dt.timedelta(days=12), 10)
        head_seq, head_hash = head_at(closed_at)
        session.add(ClosedPeriod(village_id=village.id, month=month_key(m), closed_by_id=staff["admin"].id,
                                 closed_at=closed_at, head_seq=head_seq, head_hash=head_hash))
        m = end + dt.timedelta(days=1)
    if prev_month >= month_key(first_month) and prev_month != this_month:
        opens = max(today.replace(day=1), today - dt.timedelta(days=1))
        publish(prev_month, local(opens, 9), opens, village.notice_days)


def _pending(session, village, rows, staff) -> None:
    """Recent activity left waiting for review, as captures by the grid workers."""
    by_logger: dict[int, list[dict]] = defaultdict(list)
    for r in rows:
        by_logger[r["captured_by_id"]].append(r)
    for logger_id, items in by_logger.items():
        batch = CaptureBatch(village_id=village.id, key=f"demo-{village.id}-{logger_id}", source="demo",
                             actor_id=logger_id)
        session.add(batch)
        session.flush()
        session.add_all(Submission(
            village_id=village.id, batch_id=batch.id, line_no=i, rule_id=r["rule_id"],
            rule_version_id=r["rule_version_id"], villager_id=r["villager_id"], household_id=r["household_id"],
            group_id=r["group_id"], occurred_on=r["occurred_on"], quantity=r["quantity"],
            requested_points=r["requested_points"], points=r["points"], capped=r["capped"],
            status=SubmissionStatus.pending, captured_by_id=logger_id, note=r["note"])
            for i, r in enumerate(items, 1))
    session.flush()
