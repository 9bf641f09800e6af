import datetime as dt

import pytest

from pointsapp.points.capture import approve, reject
from pointsapp.points.errors import Refused
from pointsapp.points.registry import Role, VillagerStatus
from tests.points.helpers import NOV, cap, subs


def test_maker_checker_refuses_approving_your_own_capture(world, session):
    res = cap(session, world, world.admin, "ZY-01", [world.people[2][0]])
    with pytest.raises(Refused) as info:
        approve(session, subs(session, res), world.admin)
    assert info.value.code == "maker_checker"
    approve(session, subs(session, res), world.admin2)  # a second person may


def test_conflict_guard_refuses_own_household_at_capture_and_at_review(world, session):
    me = world.people[0][0]
    grid = world.user("grid-me", Role.grid_worker, groups=[world.g1], villager=me)
    res = cap(session, world, grid, "ZY-01", [world.people[0][1]])
    assert res.lines[0].code == "conflict_of_interest"
    reviewer = world.user("rev-me", Role.reviewer, villager=me)
    other = cap(session, world, world.grid, "ZY-01", [world.people[0][1]])
    with pytest.raises(Refused) as info:
        approve(session, subs(session, other), reviewer)
    assert info.value.code == "conflict_of_interest"


@pytest.mark.parametrize(
    "case, code",
    [
        ("role", "role_not_allowed"),
        ("outside", "outside_groups"),
        ("inactive", "inactive_villager"),
        ("not_in_effect", "rule_not_in_effect"),
        ("household_for_person_rule", "needs_person"),
        ("quantity", "bad_quantity"),
    ],
)
def test_refusals_have_clear_reasons(world, session, case, code):
    p = world.people[1][1]
    rule, subject, day, qty = "ZY-01", p, NOV, 1
    if case == "role":
        rule = "BZ-03"  # admin only
    elif case == "outside":
        subject = world.people[3][0]
    elif case == "inactive":
        p.status = VillagerStatus.moved_out
    elif case == "not_in_effect":
        day = dt.date(2025, 12, 31)
    elif case == "household_for_person_rule":
        subject = world.households[1]
    elif case == "quantity":
        qty = 0
    res = cap(session, world, world.grid, rule, [subject], day=day, qty=qty)
    assert res.lines[0].status == "refused" and res.lines[0].code == code
    assert res.lines[0].message


def test_viewer_and_other_villages_cannot_capture(world, session):
    viewer = world.user("county", Role.viewer)
    viewer.village_id = None
    with pytest.raises(Refused, match="may not capture"):
        cap(session, world, viewer, "ZY-01", [world.people[0][0]])


def test_rejection_needs_a_reason_and_is_kept(world, session):
    res = cap(session, world, world.grid, "ZY-01", [world.people[0][0]])
    with pytest.raises(Refused):
        reject(session, subs(session, res), world.reviewer, " ")
    reject(session, subs(session, res), world.reviewer, "没有签到记录")
    sub = subs(session, res)[0]
    assert (sub.status, sub.reason, sub.decided_by_id) == ("rejected", "没有签到记录", world.reviewer.id)
    with pytest.raises(Refused, match="not pending"):
        approve(session, [sub], world.admin)


def test_entry_records_rule_version_logger_and_approver(world, session):
    res = cap(session, world, world.grid, "ZY-02", [world.people[0][0]], qty=2)
    entry = approve(session, subs(session, res), world.reviewer)[0]
    assert (entry.kind, entry.points, entry.quantity) == ("award", 4, 2)
    assert entry.rule_version.rule.code == "ZY-02" and entry.rule_version.version == 1
    assert (entry.captured_by_id, entry.approved_by_id) == (world.grid.id, world.reviewer.id)
    assert entry.household_id == world.households[0].id and entry.occurred_on == NOV
    assert entry.recorded_at.tzinfo is not None


def test_deduction_is_a_negative_entry(world, session):
    res = cap(session, world, world.grid, "WM-03", [world.households[0]])
    entry = approve(session, subs(session, res), world.reviewer)[0]
    assert (entry.kind, entry.points) == ("deduction", -10)
