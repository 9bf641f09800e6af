import datetime as dt
from collections import defaultdict

from sqlalchemy import text

from pointsapp.points.capture import Line, capture
from pointsapp.points.ledger import Submission
from pointsapp.points.registry import Villager
from pointsapp.points.standings import balance, competition_ranks, leaderboard, rebuild_tallies
from tests.points.helpers import cap, post


def test_competition_ranking():
    assert competition_ranks([9, 7, 7, 5, 5, 5, 1]) == [1, 2, 2, 4, 4, 4, 7]


def _award(session, world, people, rule="ZY-01", day=dt.date(2026, 11, 4), qty=1):
    res = capture(
        session,
        actor=world.admin,
        village=world.village,
        rule_code=rule,
        occurred_on=day,
        lines=[Line(villager_id=p.id, quantity=qty) for p in people],
        key=world.key(),
    )
    return post(session, world, res)


def test_boards_rank_ties_stably_and_list_zeros(world, session):
    a, b, c = world.people[0][0], world.people[1][0], world.people[1][1]
    _award(session, world, [a, b, c])
    _award(session, world, [a], rule="ZY-02", qty=3)
    rows = leaderboard(session, "villager", "2026-11", village=world.village)
    assert [(r.rank, r.id, r.points) for r in rows[:3]] == [(1, a.id, 11), (2, b.id, 5), (2, c.id, 5)]
    # Zero points: listed last and not ranked (未参与), so nobody is "4th" with nothing.
    assert len(rows) == 8 and [(r.rank, r.points) for r in rows[3:]] == [(None, 0)] * 5
    assert [r.id for r in leaderboard(session, "villager", "2026-11", village=world.village, limit=2)] == [a.id, b.id]


def test_household_and_group_boards_have_per_head(world, session):
    _award(session, world, world.people[1])  # household 2 has 3 people: 15 points
    _award(session, world, world.people[3][:1])  # household 4: 5 points, 2 people
    hh = {r.id: r for r in leaderboard(session, "household", "2026-Q4", village=world.village)}
    h2, h4 = hh[world.households[1].id], hh[world.households[3].id]
    assert (h2.points, h2.per_head, h2.name) == (15, 5.0, "唐海娟")
    assert (h4.points, h4.per_head) == (5, 2.5)
    groups = leaderboard(session, "group", "2026", village=world.village)
    assert [(g.name, g.points, g.per_head) for g in groups] == [("第一组", 15, 3.0), ("第二组", 5, 1.67)]


def test_periods_month_quarter_year_all(world, session):
    p = world.people[0][0]
    _award(session, world, [p], day=dt.date(2026, 9, 30))
    _award(session, world, [p], day=dt.date(2026, 10, 1))

    def pts(period):
        return {r.id: r.points for r in leaderboard(session, "villager", period, village=world.village)}[p.id]

    assert (pts("2026-09"), pts("2026-10"), pts("2026-Q3"), pts("2026-Q4"), pts("2026"), pts("all")) == (
        5,
        5,
        5,
        5,
        10,
        10,
    )


def test_only_posted_entries_count_and_pending_is_shown_apart(world, session):
    p = world.people[0][0]
    cap(session, world, world.grid, "ZY-01", [p])
    session.commit()
    assert balance(session, villager=p).as_dict() == {"honour": 0, "redeemable": 0, "pending": 5}
    assert leaderboard(session, "villager", "2026-11", village=world.village)[0].points == 0
    assert balance(session, household=world.households[0]).pending == 5
    # a caller that has read the household's pending captures passes them instead (the card page)
    waiting = session.execute(
        text("SELECT id FROM submissions WHERE household_id = :h AND status = 'pending'"),
        {"h": world.households[0].id},
    ).scalars()
    given = [session.get(Submission, i) for i in waiting]
    assert len(given) == 1
    assert balance(session, household=world.households[0], pending=given) == balance(
        session, household=world.households[0]
    )


def test_moving_house_keeps_past_entries_with_the_old_household(world, session):
    mover = world.people[0][1]
    _award(session, world, [mover])
    old, new = world.households[0], world.households[2]
    mover.household_id = new.id
    session.commit()
    assert balance(session, household=old).honour == 5
    assert balance(session, household=new).honour == 0
    _award(session, world, [session.get(Villager, mover.id)], day=dt.date(2026, 11, 20))
    assert balance(session, household=new).honour == 5 and balance(session, household=old).honour == 5
    assert balance(session, villager=mover).honour == 10


def test_county_board_spans_villages(world, session):
    _award(session, world, [world.people[0][0]])
    rows = leaderboard(session, "villager", "all", village=None, limit=3)
    assert rows[0].village == "龙天坪村" and rows[0].points == 5


def ledger_oracle(session) -> list[tuple]:
    """The tallies computed from raw ledger rows, independently of the standings module: each entry
    counts for its villager, household and group in its month, quarter, year and "all"; redemptions
    and expiries are spent, everything else is honour."""
    acc: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    rows = session.execute(
        text("SELECT kind, points, villager_id, household_id, group_id, occurred_on FROM ledger_entries")
    )
    for kind, points, villager, household, group, day in rows:
        day = dt.date.fromisoformat(day) if isinstance(day, str) else day
        periods = (f"{day.year}-{day.month:02d}", f"{day.year}-Q{(day.month - 1) // 3 + 1}", str(day.year), "all")
        subjects = [("h", household), ("g", group)] + ([("v", villager)] if villager is not None else [])
        for period in periods:
            for code, sid in subjects:
                row = acc[(period, code, sid)]
                row[0 if kind not in ("redemption", "expiry") else 1] += points
                row[2] += 1
    return sorted((*k, *v) for k, v in acc.items())


def stored_tallies(session) -> list[tuple]:
    return sorted(
        tuple(r) for r in session.execute(text("SELECT period, kind, subject_id, points, spent, entries FROM tallies"))
    )


def test_tallies_equal_the_ledger_summed_in_sql_rows(world, session):
    _award(session, world, world.people[0] + world.people[1])
    _award(session, world, [world.people[2][0]], rule="ZY-02", qty=2, day=dt.date(2026, 12, 1))
    _award(session, world, [world.people[0][0]], rule="ZF-01", day=dt.date(2026, 9, 30))  # a deduction
    expected = ledger_oracle(session)
    assert len(expected) > 10 and any(r[3] < 0 for r in expected)
    assert stored_tallies(session) == expected
    rebuild_tallies(session, world.village)
    assert stored_tallies(session) == expected


def test_household_standing_is_one_ranked_query_that_matches_raw_rows(world, session):
    """household_standing (one window-function query) against an oracle over the raw tallies rows:
    active households of the scope, competition ranks over the non-zero ones (ties share a rank,
    negatives come after), zeros unranked; and the same places as the full leaderboard."""
    import random

    from pointsapp.points.registry import Household
    from pointsapp.points.standings import household_standing, household_standings

    rnd = random.Random(12)
    groups = [world.g1, world.g2]
    for n in range(40):
        h = Household(village_id=world.village.id, group_id=groups[n % 2].id, number=f"x{n}", active=n % 13 != 5)
        session.add(h)
        session.flush()
        for i in range(rnd.randint(0, 3)):
            session.add(
                Villager(
                    village_id=world.village.id,
                    household_id=h.id,
                    name=f"人{n}{i}",
                    status="active" if i != 2 else "moved_out",
                )
            )
    session.flush()
    hids = list(
        session.execute(text("SELECT id FROM households WHERE village_id = :v"), {"v": world.village.id}).scalars()
    )
    for hid in hids:
        pts = rnd.choice([0, 0, 5, 5, 5, 10, 12, -3, -3, 20])
        if pts or rnd.random() < 0.5:  # a zero tally row, or no row at all
            session.execute(
                text(
                    "INSERT INTO tallies (period, kind, subject_id, village_id, points, spent, entries) "
                    "VALUES ('2026-11', 'h', :h, :v, :p, 0, 1)"
                ),
                {"h": hid, "v": world.village.id, "p": pts},
            )
    session.flush()
    raw = session.execute(
        text(
            "SELECT h.id, h.group_id, h.active, COALESCE(t.points, 0), "
            "(SELECT COUNT(*) FROM villagers m WHERE m.household_id = h.id AND m.status = 'active') "
            "FROM households h LEFT JOIN tallies t ON t.subject_id = h.id AND t.period = '2026-11' AND t.kind = 'h' "
            "WHERE h.village_id = :v"
        ),
        {"v": world.village.id},
    ).all()

    def oracle(hid, group_id=None):
        scope = [r for r in raw if r[2] and (group_id is None or r[1] == group_id)]
        mine = next((r for r in scope if r[0] == hid), None)
        nonzero = [r[3] for r in scope if r[3] != 0]
        if mine is None:
            return (0, None, 0, None)
        rank = 1 + sum(1 for p in nonzero if p > mine[3]) if mine[3] != 0 else None
        return (mine[3], rank, len(nonzero), round(mine[3] / mine[4], 2) if mine[4] else 0.0)

    board = {r.id: r for r in leaderboard(session, "household", "2026-11", village=world.village)}
    seen_tie = seen_negative = seen_zero = False
    for hid in hids:
        h = session.get(Household, hid)
        got = household_standing(session, h, "2026-11")
        assert (got.points, got.rank, got.of, got.per_head) == oracle(hid), hid
        group = world.g1 if h.group_id == world.g1.id else world.g2
        in_group = household_standing(session, h, "2026-11", group=group)
        assert (in_group.points, in_group.rank, in_group.of, in_group.per_head) == oracle(hid, h.group_id)
        both = household_standings(session, h, "2026-11")  # the card's one query for both places
        assert [(s.points, s.rank, s.of, s.per_head) for s in both] == [oracle(hid), oracle(hid, h.group_id)]
        if h.active:
            assert got.rank == board[hid].rank and got.points == board[hid].points
        seen_tie |= got.rank is not None and sum(1 for r in board.values() if r.rank == got.rank) > 1
        seen_negative |= got.points < 0
        seen_zero |= h.active and got.rank is None
    assert seen_tie and seen_negative and seen_zero  # the data covers the edges
