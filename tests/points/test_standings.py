import datetime as dt

from sqlalchemy import select

from pointsapp.points.capture import Line, capture
from pointsapp.points.registry import Villager
from pointsapp.points.standings import Tally, balance, competition_ranks, leaderboard, rebuild_tallies
from tests.points.helpers import cap, post


def test_competition_ranking():
    assert competition_ranks([9, 7, 7, 5, 5, 5, 1]) == [1, 2, 2, 4, 4, 4, 7]


def _award(session, world, people, rule="ZY-01", day=dt.date(2026, 11, 4), qty=1):
    res = capture(session, actor=world.admin, village=world.village, rule_code=rule, occurred_on=day,
                  lines=[Line(villager_id=p.id, quantity=qty) for p in people], key=world.key())
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
    _award(session, world, world.people[1])   # household 2 has 3 people: 15 points
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
    pts = lambda period: {r.id: r.points for r in leaderboard(session, "villager", period, village=world.village)}[p.id]
    assert (pts("2026-09"), pts("2026-10"), pts("2026-Q3"), pts("2026-Q4"), pts("2026"), pts("all")) == (5, 5, 5, 5, 10, 10)


def test_only_posted_entries_count_and_pending_is_shown_apart(world, session):
    p = world.people[0][0]
    cap(session, world, world.grid, "ZY-01", [p])
    session.commit()
    assert balance(session, villager=p).as_dict() == {"honour": 0, "redeemable": 0, "pending": 5}
    assert leaderboard(session, "villager", "2026-11", village=world.village)[0].points == 0
    assert balance(session, household=world.households[0]).pending == 5


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


def test_tallies_equal_a_rebuild_from_the_ledger(world, session):
    _award(session, world, world.people[0] + world.people[1])
    _award(session, world, [world.people[2][0]], rule="ZY-02", qty=2, day=dt.date(2026, 12, 1))
    before = sorted(tuple(t) for t in session.execute(select(Tally.period, Tally.kind, Tally.subject_id, Tally.points, Tally.entries)))
    rebuild_tallies(session, world.village)
    after = sorted(tuple(t) for t in session.execute(select(Tally.period, Tally.kind, Tally.subject_id, Tally.points, Tally.entries)))
    assert before == after and len(before) > 10
