"""The admin services check the actor themselves (deny by default), whatever the view did."""

from __future__ import annotations

import datetime as dt

import pytest

from pointsapp.admin.services import auditlog, registry, roster, rules, users
from pointsapp.extensions import db
from pointsapp.points.errors import Refused
from pointsapp.points.imports.roster_export import export_roster
from pointsapp.points.registry import Group, Household, StaffUser, Village, Villager


def _calls(v, h, p, g, u):
    return [
        lambda a: registry.list_households(db.session, a, v),
        lambda a: registry.save_group(db.session, a, v, "新组", 9),
        lambda a: registry.create_household(db.session, a, v, g, "99", None),
        lambda a: registry.update_villager(db.session, a, v, p, registry.VillagerData(name="x")),
        lambda a: registry.add_villager(db.session, a, v, h, registry.VillagerData(name="x")),
        lambda a: registry.set_status(db.session, a, v, p, "deceased"),
        lambda a: registry.move_villager(db.session, a, v, p, h, dt.date(2026, 11, 1)),
        lambda a: users.create_user(db.session, a, v, username="zzz", display_name=None, role="reviewer", groups=[]),
        lambda a: users.reset_password(db.session, a, v, u),
        lambda a: users.set_active(db.session, a, v, u, False),
        lambda a: rules.rule_table(db.session, a, v),
        lambda a: rules.export_book(db.session, a, v),
        lambda a: auditlog.update_settings(db.session, a, v, notice_days=3, show_blacklist=True),
        lambda a: auditlog.events(db.session, a, v, auditlog.AuditFilter()),
        lambda a: export_roster(db.session, a, v, today=dt.date(2026, 11, 20)),
        lambda a: roster.preview(db.session, a, v, b"", "x.xlsx"),
    ]


@pytest.mark.parametrize("who", ["rev1", "grid1", "other-admin", "inactive-admin", None])
def test_services_refuse_everyone_but_an_active_admin_of_the_village(app, app_world, other, who):
    with app.app_context():
        v = db.session.get(Village, app_world["village"])
        h = db.session.get(Household, app_world["households"][2])
        p = db.session.get(Villager, app_world["people"][0][1])
        g = db.session.get(Group, h.group_id)
        u = db.session.get(StaffUser, app_world["users"]["rev2"])
        if who == "other-admin":
            actor = db.session.get(StaffUser, other["user"])
        elif who == "inactive-admin":
            actor = db.session.get(StaffUser, app_world["users"]["admin2"])
            actor.active = False
        else:
            actor = db.session.get(StaffUser, app_world["users"][who]) if who else None
        for n, call in enumerate(_calls(v, h, p, g, u)):
            with pytest.raises(Refused) as exc:
                call(actor)
            assert exc.value.code == "not_allowed", n
        db.session.rollback()


def test_services_refuse_objects_of_another_village(app, app_world, other):
    with app.app_context():
        v = db.session.get(Village, app_world["village"])
        admin = db.session.get(StaffUser, app_world["users"]["admin1"])
        foreign = db.session.get(Villager, other["villager"])
        foreign_h = db.session.get(Household, other["household"])
        foreign_g = db.session.get(Group, other["group"])
        foreign_u = db.session.get(StaffUser, other["user"])
        for call in (
            lambda: registry.set_status(db.session, admin, v, foreign, "deceased"),
            lambda: registry.update_villager(db.session, admin, v, foreign, registry.VillagerData(name="x")),
            lambda: registry.create_household(db.session, admin, v, foreign_g, "98", None),
            lambda: registry.add_villager(db.session, admin, v, foreign_h, registry.VillagerData(name="x")),
            lambda: users.reset_password(db.session, admin, v, foreign_u),
            lambda: users.create_user(
                db.session, admin, v, username="zz1", display_name=None, role="grid_worker", groups=[foreign_g]
            ),
        ):
            with pytest.raises(Refused) as exc:
                call()
            assert exc.value.code == "not_found"
        db.session.rollback()
