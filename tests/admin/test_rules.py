"""Rule book pages: table, history, edit with dry run (old → new, gains and losses), new version
keeps old entries' points; YAML upload with dry run and errors; download."""

from __future__ import annotations

import datetime as dt
import html
import io

from sqlalchemy import select

from pointsapp.extensions import db
from pointsapp.points.audit import AuditEvent
from pointsapp.points.lifecycle import close_month
from pointsapp.points.notice import publish_notice
from pointsapp.points.ledger import LedgerEntry
from pointsapp.points.registry import Household, StaffUser, Village
from pointsapp.points.rules import Rule, load_rulebook_text
from pointsapp.points.standings import balance
from tests.samples import sample

from .conftest import Line, post_entries


def text(resp):
    return html.unescape(resp.get_data(as_text=True))


def rule(app, code, village_id):
    return db.session.execute(select(Rule).where(Rule.code == code, Rule.village_id == village_id)).scalar_one()


FORM = {
    "name": "参加党日活动或村民议事会",
    "category": "党建引领",
    "points": "5",
    "per": "occasion",
    "unit": "次",
    "scope": "person",
    "cap_month": "10",
    "evidence": "sign_in",
    "logged_by": ["grid_worker", "admin"],
    "effective_from": "2026-12-01",
    "version_note": "2026年11月村民代表大会",
}


def test_rule_table_and_history(admin, app_world):
    page = text(admin.get("/admin/rules"))
    for needle in ("党建引领", "廉洁教育", "DJ-01", "BZ-03", "每月 10", "网格员、管理员", "签到表", "2026-01-01"):
        assert needle in page
    page = text(admin.get("/admin/rules/DJ-01"))
    assert 'id="history"' in page and "2026年1月村民代表大会通过" in page
    assert admin.get("/admin/rules/DJ-01/edit").status_code == 200


def test_edit_with_dry_run_then_confirm_creates_version_2(admin, app_world, app):
    vid = app_world["village"]
    old_entries = post_entries(app, app_world, [Line(villager_id=app_world["people"][0][0])], day=dt.date(2026, 11, 5))
    with app.app_context():
        h1 = db.session.get(Household, app_world["households"][0])
        before = balance(db.session, household=h1)
    data = dict(FORM, points="8", preview="1")
    resp = admin.post("/admin/rules/DJ-01/edit", data=data)
    page = text(resp)
    assert resp.status_code == 200 and 'id="dry-run"' in page and 'id="confirm"' in page
    assert "<td>积分</td><td>5</td><td>8</td>" in page
    assert "<td>生效日期</td><td>2026-01-01</td><td>2026-12-01</td>" in page
    with app.app_context():
        assert len(rule(app, "DJ-01", vid).versions) == 1  # the dry run saved nothing
    resp = admin.post("/admin/rules/DJ-01/edit", data=dict(FORM, points="8", confirm="1"))
    assert resp.status_code == 302
    with app.app_context():
        r = rule(app, "DJ-01", vid)
        assert [v.version for v in r.versions] == [1, 2]
        assert (r.latest.points, r.latest.effective_from) == (8, dt.date(2026, 12, 1))
        assert r.latest.version_note == "2026年11月村民代表大会"
        assert r.version_on(dt.date(2026, 11, 30)).points == 5
        entry = db.session.get(LedgerEntry, old_entries[0])
        assert entry.points == 5 and entry.rule_version.version == 1
        assert balance(db.session, household=db.session.get(Household, app_world["households"][0])) == before
        ev = db.session.execute(select(AuditEvent).where(AuditEvent.action == "rule.change")).scalar_one()
        assert "points" in ev.detail and ev.ip == "127.0.0.1"
    page = text(admin.get("/admin/rules/DJ-01"))
    assert "2026-12-01" in page and "2026年11月村民代表大会" in page


def test_dry_run_shows_gains_and_losses_in_last_closed_month(admin, app_world, app):
    p = app_world["people"]
    post_entries(
        app,
        app_world,
        [Line(villager_id=p[0][0]), Line(villager_id=p[0][0]), Line(villager_id=p[1][0])],
        day=dt.date(2026, 10, 5),
    )
    with app.app_context():
        village = db.session.get(Village, app_world["village"])
        village.notice_days = 0  # published on paper: the month can close at once
        publish_notice(db.session, village, "2026-10", db.session.get(StaffUser, app_world["users"]["rev1"]))
        close_month(db.session, village, "2026-10", db.session.get(StaffUser, app_world["users"]["admin1"]))
        db.session.commit()
    resp = admin.post("/admin/rules/DJ-01/edit", data=dict(FORM, points="6", cap_month="6", preview="1"))
    page = text(resp)
    assert "2026-10" in page and 'id="impact"' in page
    impact = page.split('id="impact"')[1].split("</table>")[0]
    assert "向明华" in impact and "-4" in impact and "唐海娟" in impact and "+1" in impact
    assert "1 户增加，1 户减少" in page


def test_nothing_changed_and_bad_input(admin, app_world, app):
    resp = admin.post("/admin/rules/DJ-01/edit", data=dict(FORM, effective_from="2026-01-01", preview="1"))
    assert resp.status_code == 400 and "须晚于" in text(resp)
    resp = admin.post("/admin/rules/DJ-01/edit", data=dict(FORM, preview="1"))
    assert resp.status_code == 200 and "没有变化" in text(resp) and 'id="confirm"' not in text(resp)
    for bad, needle in [
        ({"points": "abc"}, "积分"),
        ({"points": "0"}, "非 0"),
        ({"effective_from": "12/01"}, "日期"),
        ({"logged_by": []}, "角色"),
        ({"per": "hour"}, "计分方式"),
        ({"cap_month": "-3"}, "上限"),
        ({"points": "-5"}, "caps"),
    ]:
        resp = admin.post("/admin/rules/DJ-01/edit", data=dict(FORM, preview="1", **bad))
        assert resp.status_code == 400, bad
        assert needle in text(resp), bad
    with app.app_context():
        assert len(rule(app, "DJ-01", app_world["village"]).versions) == 1


def test_unknown_and_other_village_rules_are_404(admin, app_world, app, other):
    with app.app_context():
        load_rulebook_text(
            db.session,
            db.session.get(Village, other["village"]),
            "rules:\n  - {code: QT-99, name: 外村细则, category: 其他, points: 1, per: occasion, unit: 次, "
            "scope: person, evidence: none, logged_by: [admin], effective_from: 2026-01-01}\n",
        )
        db.session.commit()
    for url in ("/admin/rules/NOPE", "/admin/rules/QT-99", "/admin/rules/QT-99/edit"):
        assert admin.get(url).status_code == 404
    assert admin.post("/admin/rules/QT-99/edit", data=dict(FORM, confirm="1")).status_code == 404


def test_download_and_upload_rule_book(admin, app_world, app):
    resp = admin.get("/admin/rules/export.yaml")
    assert resp.status_code == 200 and "DJ-01" in text(resp) and "attachment" in resp.headers["Content-Disposition"]
    yaml_text = (
        text(resp)
        .replace("name: 见义勇为, category: 特殊贡献, points: 50", "name: 见义勇为, category: 特殊贡献, points: 60")
        .replace(
            "points: 60, per: occasion, unit: 次, scope: person, evidence: document, logged_by: [admin], "
            "effective_from: 2026-01-01",
            "points: 60, per: occasion, unit: 次, scope: person, evidence: document, "
            "logged_by: [admin], effective_from: 2027-01-01",
        )
    )
    yaml_text += (
        "  - {code: XZ-01, name: 新增细则, category: 其他, points: 2, per: occasion, unit: 次, scope: person, "
        "evidence: none, logged_by: [admin], effective_from: 2027-01-01}\n"
    )
    assert admin.get("/admin/rules/upload").status_code == 200
    resp = admin.post(
        "/admin/rules/upload",
        data={"file": (io.BytesIO(yaml_text.encode()), "rules.yaml")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    page = text(admin.get(resp.location))
    assert "BZ-03" in page and "XZ-01" in page and 'id="confirm"' in page
    with app.app_context():
        assert rule(app, "BZ-03", app_world["village"]).latest.points == 50
    done = admin.post(resp.location)
    assert done.status_code == 302
    with app.app_context():
        r = rule(app, "BZ-03", app_world["village"])
        assert [v.points for v in r.versions] == [50, 60]
        assert rule(app, "XZ-01", app_world["village"]).latest.points == 2
        assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "rule.upload")).scalar_one()


def test_upload_errors_are_listed_per_rule_and_field(admin, app_world, app):
    bad = (
        "rules:\n  - {code: DJ-01, name: x, category: y, points: zero, per: occasion, unit: 次, scope: person, "
        "evidence: none, logged_by: [admin], effective_from: 2027-01-01}\n"
        "  - {code: AB-1, name: x, category: y, points: 1, per: sometimes, unit: 次, scope: person, "
        "evidence: none, logged_by: [boss], effective_from: 2027-01-01}\n"
    )
    resp = admin.post(
        "/admin/rules/upload",
        data={"file": (io.BytesIO(bad.encode()), "rules.yaml")},
        content_type="multipart/form-data",
    )
    page = text(admin.get(resp.location))
    assert (
        "rule DJ-01: field 'points'" in page
        and "rule AB-1: field 'per'" in page
        and "rule AB-1: field 'logged_by'" in page
    )
    assert 'id="confirm"' not in page
    assert "未做任何修改" in text(admin.post(resp.location, follow_redirects=True))
    for data, name, needle in [
        (b"rules: [", "r.yaml", "not valid YAML"),
        (b"\xff\xfe\xfa", "r.yaml", "UTF-8"),
        (sample("rules-example.yaml").read_bytes(), "r.txt", "YAML"),
    ]:
        resp = admin.post(
            "/admin/rules/upload", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
        )
        if resp.status_code == 302:
            resp = admin.get(resp.location)
        assert needle in text(resp), name
    with app.app_context():
        assert len(rule(app, "DJ-01", app_world["village"]).versions) == 1


WM = {
    "name": "庭院卫生月评（每星2分）",
    "category": "文明创建",
    "points": "2",
    "per": "unit",
    "unit": "星",
    "scope": "household",
    "cap_month": "10",
    "evidence": "photo",
    "logged_by": ["reviewer", "admin"],
    "effective_from": "2026-12-01",
    "max_quantity": "5",
}


def _max_quantities(app, vid, code):
    """The oracle: each version's max_quantity as stored."""
    from sqlalchemy import text as sql

    with app.app_context():
        return db.session.execute(
            sql(
                "SELECT rv.version, rv.max_quantity FROM rule_versions rv JOIN rules r ON r.id = rv.rule_id "
                "WHERE r.village_id = :v AND r.code = :c ORDER BY rv.version"
            ),
            {"v": vid, "c": code},
        ).all()


def test_the_edit_form_shows_and_keeps_the_most_units_on_one_entry(admin, app_world, app):
    vid = app_world["village"]
    assert _max_quantities(app, vid, "WM-01") == [(1, 5)]
    page = text(admin.get("/admin/rules/WM-01/edit"))
    assert 'name="max_quantity"' in page and 'value="5"' in page and "每条最多数量" in page
    # changing another field keeps the limit (it used to fall back to the default, 1000)
    resp = admin.post("/admin/rules/WM-01/edit", data=dict(WM, points="3", confirm="1"))
    assert resp.status_code == 302
    assert _max_quantities(app, vid, "WM-01") == [(1, 5), (2, 5)]
    # changing the limit itself: the dry run names it, the new version stores it
    page = text(
        admin.post(
            "/admin/rules/WM-01/edit",
            data=dict(WM, points="3", max_quantity="8", effective_from="2026-12-05", preview="1"),
        )
    )
    assert "<td>每条最多数量</td><td>5</td><td>8</td>" in page
    resp = admin.post(
        "/admin/rules/WM-01/edit", data=dict(WM, points="3", max_quantity="8", effective_from="2026-12-05", confirm="1")
    )
    assert resp.status_code == 302
    assert _max_quantities(app, vid, "WM-01") == [(1, 5), (2, 5), (3, 8)]
    assert "最多 8" in text(admin.get("/admin/rules/WM-01"))


def test_a_bad_most_units_on_one_entry_is_refused_naming_the_field(admin, app_world, app):
    vid = app_world["village"]
    for bad in ("0", "10001", "-3"):
        resp = admin.post("/admin/rules/WM-01/edit", data=dict(WM, max_quantity=bad, confirm="1"))
        page = text(resp)
        assert resp.status_code == 400 and "每条最多数量：请填 1 到 10000 之间的整数。" in page, bad
    resp = admin.post("/admin/rules/DJ-01/edit", data=dict(FORM, max_quantity="3", confirm="1"))
    assert resp.status_code == 400 and "每条最多数量：按次计分的规则每条只记一次" in text(resp)
    assert _max_quantities(app, vid, "WM-01") == [(1, 5)]
    assert [q for _v, q in _max_quantities(app, vid, "DJ-01")] == [None]
