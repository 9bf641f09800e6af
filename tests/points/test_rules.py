import datetime as dt

import pytest
import yaml
from sqlalchemy import func, select

from pointsapp.points.rules import (
    Rule,
    RuleBookError,
    RuleVersion,
    export_rulebook,
    load_rulebook_text,
    parse_rulebook,
)
from pointsapp.points.registry import Village
from pointsapp.points.standings import balance
from tests.samples import sample
from tests.points.helpers import cap, post

SAMPLE = sample("rules-example.yaml").read_text(encoding="utf-8")


def test_sample_loads_as_version_one(world, session):
    versions = session.execute(select(RuleVersion)).scalars().all()
    assert len(versions) == 20 and {v.version for v in versions} == {1}
    zy2 = session.execute(select(Rule).where(Rule.code == "ZY-02")).scalar_one().latest
    assert (zy2.points, zy2.per, zy2.unit, zy2.caps) == (2, "unit", "小时", {"day": 8, "month": 30})
    assert zy2.logged_by_roles == ("grid_worker", "admin")


def test_unchanged_reload_adds_nothing(world, session):
    report = load_rulebook_text(session, world.village, SAMPLE)
    assert report.added == [] and report.changed == [] and len(report.unchanged) == 20


def test_export_round_trip_changes_nothing(world, session):
    exported = export_rulebook(session, world.village)
    assert parse_rulebook(exported).rules == parse_rulebook(SAMPLE).rules
    report = load_rulebook_text(session, world.village, exported)
    assert report.added == report.changed == report.retired == []
    assert session.execute(select(func.count()).select_from(RuleVersion)).scalar_one() == 20


def test_invalid_file_names_rule_and_field_and_loads_nothing(session):
    village = Village(name="空村")
    session.add(village)
    session.flush()
    data = yaml.safe_load(SAMPLE)
    data["rules"][1]["points"] = "five"
    data["rules"][2]["scope"] = "family"
    del data["rules"][3]["logged_by"]
    data["rules"][4]["caps"] = {"week": 3}
    with pytest.raises(RuleBookError) as info:
        load_rulebook_text(session, village, yaml.safe_dump(data, allow_unicode=True))
    text = str(info.value)
    assert "rule DJ-01: field 'points'" in text
    assert "rule LJ-01: field 'scope'" in text
    assert "rule LJ-02: field 'logged_by' is required" in text
    assert "rule ZC-01: field 'caps' has unknown period 'week'" in text
    assert session.execute(select(func.count()).select_from(Rule)).scalar_one() == 0


def _bump(points: int, start: str) -> str:
    data = yaml.safe_load(SAMPLE)
    rule = next(r for r in data["rules"] if r["code"] == "DJ-01")
    rule["points"], rule["effective_from"] = points, dt.date.fromisoformat(start)
    return yaml.safe_dump(data, allow_unicode=True)


def test_version_two_applies_from_its_date_and_never_rescores(world, session):
    person = world.people[1][1]
    first = cap(session, world, world.grid, "DJ-01", [person], day=dt.date(2026, 11, 30))
    post(session, world, first)
    assert balance(session, villager=person).honour == 5
    report = load_rulebook_text(session, world.village, _bump(8, "2026-12-01"))
    session.commit()
    assert report.changed == ["DJ-01"]
    assert balance(session, villager=person).honour == 5  # version 1 entry unchanged
    before = cap(session, world, world.grid, "DJ-01", [world.people[0][1]], day=dt.date(2026, 11, 30))
    # Dated 2 December, captured that day (nothing can be dated after the village's today).
    after = cap(
        session,
        world,
        world.grid,
        "DJ-01",
        [person],
        day=dt.date(2026, 12, 2),
        now=dt.datetime(2026, 12, 2, 4, 0, tzinfo=dt.timezone.utc),
    )
    assert before.lines[0].points == 5 and after.lines[0].points == 8
    entries = post(session, world, after)
    assert entries[0].rule_version.version == 2 and entries[0].points == 8
    assert balance(session, villager=person).honour == 13


def test_changed_rule_needs_a_later_start(world, session):
    with pytest.raises(RuleBookError, match="rule DJ-01: field 'effective_from' must be after 2026-01-01"):
        load_rulebook_text(session, world.village, _bump(8, "2026-01-01"))


def test_retired_rule_is_not_in_effect(world, session):
    data = yaml.safe_load(SAMPLE)
    data["rules"][1]["effective_to"] = dt.date(2026, 6, 30)
    report = load_rulebook_text(session, world.village, yaml.safe_dump(data, allow_unicode=True))
    assert report.retired == ["DJ-01"]
    res = cap(session, world, world.grid, "DJ-01", [world.people[0][1]], day=dt.date(2026, 7, 1))
    assert res.lines[0].code == "rule_not_in_effect"
