"""The one authorization policy: deny by default, village-bound vs county accounts, maker-checker."""

from __future__ import annotations

import pytest

from pointsapp.points.errors import Refused
from pointsapp.points.policy import ACTIONS, Scope, allowed, require, review_refusal
from pointsapp.points.registry import Role, Village


@pytest.fixture
def other(world, session):
    v = Village(name="青山村")
    session.add(v)
    session.flush()
    return v


def test_unknown_actions_and_missing_or_inactive_accounts_are_refused(world):
    with pytest.raises(Refused, match="unknown action"):
        require(world.admin, world.village, "ledger.rewrite")
    assert not allowed(None, world.village, "reports.read")
    world.admin.active = False
    assert not allowed(world.admin, world.village, "village.admin")


def test_roles_are_checked_against_the_table(world):
    for action, perm in ACTIONS.items():
        for user in (world.admin, world.reviewer, world.grid):
            assert allowed(user, world.village, action) == (Role(user.role) in perm.roles), (action, user.username)


def test_a_village_bound_account_never_acts_or_reads_outside_its_village(world, other):
    for action in ACTIONS:
        assert not allowed(world.admin, other, action), action
        assert not allowed(world.admin, None, action), action  # county-wide


def test_county_wide_reads_are_for_county_accounts_only(world, other):
    local_viewer = world.user("view1", Role.viewer)  # a viewer bound to 龙天坪村
    county = world.user("county1", Role.viewer)
    county.village_id = None
    for action in ("reports.read", "reports.export", "registry.read"):
        assert allowed(county, None, action) and allowed(county, other, action), action
        assert allowed(local_viewer, world.village, action), action
        assert not allowed(local_viewer, None, action), action  # the county leak
        assert not allowed(local_viewer, other, action), action  # nor another village
    with pytest.raises(Refused, match="only county accounts"):
        require(local_viewer, None, "reports.read")


def test_county_accounts_never_write(world):
    county_admin = world.user("countyadmin", Role.admin)
    county_admin.village_id = None
    writes = [a for a, p in ACTIONS.items() if p.scope is Scope.VILLAGE]
    assert "capture" in writes and "village.admin" in writes
    for action in writes:
        assert not allowed(county_admin, world.village, action), action


def test_review_refusal_is_maker_checker_and_own_household(world):
    h0, h1 = world.households[0], world.households[1]
    rev = world.reviewer
    assert review_refusal(rev, captured_by_id=rev.id, household_id=None) == "maker_checker"
    assert review_refusal(rev, captured_by_id=world.grid.id, household_id=h0.id) is None
    neighbour = world.user("rev3", Role.reviewer, villager=world.people[0][1])  # lives in household 0
    assert review_refusal(neighbour, captured_by_id=world.grid.id, household_id=h0.id) == "conflict_of_interest"
    assert review_refusal(neighbour, captured_by_id=world.grid.id, household_id=h1.id) is None
