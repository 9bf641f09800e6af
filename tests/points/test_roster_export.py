"""The one roster export (points/imports/roster_export.py) re-imports cleanly, holds no formula,
and a move gives the same registry whether made on the admin's page or through a roster file.
Oracles: raw SQL snapshots of the registry, and cell types read back with openpyxl."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
from sqlalchemy import text

import pointsapp.points.models  # noqa: F401  (every table, for create_all)
from pointsapp.admin.services import registry as admin_registry
from pointsapp.points.imports.reader import read_table
from pointsapp.points.imports.roster import ROSTER_COLUMNS, import_roster
from pointsapp.points.imports.roster_export import ROSTER_HEADERS, export_roster, roster_rows, roster_workbook
from pointsapp.points.registry import Villager, VillagerStatus

MOVED_ON = dt.date(2026, 11, 20)


def snapshot(session, village_id: int) -> dict:
    q = lambda sql: [tuple(r) for r in session.execute(text(sql), {"v": village_id}).all()]  # noqa: E731
    return {
        "households": q(
            "SELECT h.number, h.house_number, g.name, hv.name FROM households h "
            "JOIN groups g ON g.id = h.group_id LEFT JOIN villagers hv ON hv.id = h.head_id "
            "WHERE h.village_id = :v ORDER BY h.number"
        ),
        "villagers": q(
            "SELECT v.id, v.name, h.number, v.relation, v.sex, v.birth_year, v.birth_month, v.phone, "
            "v.status FROM villagers v JOIN households h ON h.id = v.household_id "
            "WHERE v.village_id = :v ORDER BY v.id"
        ),
        "moves": q(
            "SELECT m.villager_id, f.number, t.number, m.moved_on FROM household_moves m "
            "JOIN households f ON f.id = m.from_household_id JOIN households t ON t.id = m.to_household_id "
            "JOIN villagers v ON v.id = m.villager_id WHERE v.village_id = :v ORDER BY m.id"
        ),
    }


def _details(session, world):
    """Birth dates (a move is recognised by them), phones, a house number with a leading zero,
    a name that looks like a formula, and one deceased person."""
    for i, person in enumerate(p for ps in world.people for p in ps):
        person.birth_year, person.birth_month = 1950 + i, i % 12 + 1
        person.sex = "男" if i % 2 else "女"
        person.phone = f"1390731{i:04d}"
    world.people[1][2].name = '=HYPERLINK("http://evil.example/","x")'
    world.people[3][1].status = VillagerStatus.deceased
    session.flush()


def test_export_reimports_without_a_change_and_holds_no_formula(session, world):
    _details(session, world)
    before = snapshot(session, world.village.id)
    data = export_roster(session, world.admin, world.village, today=dt.date(2026, 12, 1))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[2]] == list(ROSTER_HEADERS)
    cells = [c for row in sheet.iter_rows(min_row=3) for c in row if c.value is not None]
    assert cells and not [c.coordinate for c in cells if c.data_type == "f"]
    assert '=HYPERLINK("http://evil.example/","x")' in [c.value for c in cells]
    assert sheet.cell(row=3, column=10).value == "001" and sheet.cell(row=3, column=10).data_type == "s"
    assert [r[10] for r in sheet.iter_rows(min_row=3, values_only=True)].count("已故") == 1
    assert sheet.max_row - 2 == len(before["villagers"])

    table = read_table(data, ROSTER_COLUMNS, filename="roster.xlsx")
    report = import_roster(session, world.village, table, dry_run=True)
    assert report.changes == 0 and not report.unmatched and not report.not_in_file, report.lines()
    report = import_roster(session, world.village, table)
    assert report.changes == 0 and report.unchanged == len(before["villagers"])
    assert snapshot(session, world.village.id) == before
    assert session.execute(text("SELECT count(*) FROM audit_events WHERE action = 'export.roster'")).scalar_one() == 1


def _move_by_roster(session, world, person: Villager, to_number: str, relation: str) -> None:
    """Edit the exported roster as a clerk would: the person's row goes to the other household;
    the old household's rows name its next head (its first remaining active member, by SQL)."""
    source = session.execute(
        text("SELECT h.number FROM households h JOIN villagers v ON v.household_id = h.id WHERE v.id = :p"),
        {"p": person.id},
    ).scalar_one()
    next_head = session.execute(
        text(
            "SELECT name FROM villagers WHERE household_id = (SELECT household_id FROM villagers WHERE id = :p) "
            "AND id != :p AND status = 'active' ORDER BY id LIMIT 1"
        ),
        {"p": person.id},
    ).scalar_one()
    to_group, to_head, to_house = session.execute(
        text(
            "SELECT g.name, v.name, h.house_number FROM households h JOIN villagers v ON v.id = h.head_id "
            "JOIN groups g ON g.id = h.group_id WHERE h.village_id = :v AND h.number = :n"
        ),
        {"v": world.village.id, "n": to_number},
    ).one()
    rows = []
    for row in roster_rows(session, world.village):
        row = list(row)
        if row[4] == person.name:
            row[1], row[2], row[3], row[5], row[9] = to_group, to_number, to_head, relation, to_house
        elif row[2] == source:
            row[3] = next_head
        rows.append(tuple(row))
    data = roster_workbook(world.village, rows, title_date="2026-12-01")
    import_roster(
        session,
        world.village,
        read_table(data, ROSTER_COLUMNS, filename="r.xlsx"),
        moved_on=MOVED_ON,
        actor_id=world.admin.id,
    )


def test_a_head_moved_by_admin_or_by_roster_gives_the_same_registry(session, world):
    _details(session, world)
    session.commit()
    person = world.people[1][0]  # 唐海娟, head of household 2
    to = world.households[3]  # household 4
    results = []
    for path in ("admin", "roster"):
        nested = session.begin_nested()
        if path == "admin":
            admin_registry.move_villager(session, world.admin, world.village, person, to, MOVED_ON, relation="母亲")
        else:
            _move_by_roster(session, world, person, to.number, "母亲")
        session.flush()
        results.append(snapshot(session, world.village.id))
        nested.rollback()
        session.expire_all()
    admin, roster = results
    assert admin == roster
    heads = {number: head for number, _house, _group, head in admin["households"]}
    assert heads["2"] == "麻武" and heads["4"] == "杨明𠮷"
    assert [(v, f, t, str(on)) for v, f, t, on in admin["moves"]] == [(person.id, "2", "4", MOVED_ON.isoformat())]
    assert ("唐海娟", "4", "母亲") in [(n, h, r) for _i, n, h, r, *_rest in admin["villagers"]]
