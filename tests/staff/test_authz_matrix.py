"""Authorization matrix: every endpoint of every blueprint x every role (and anonymous).

The expectations are the hand-written table EXPECTED below: it is the policy as the project
means it, written independently of the decorators and of ``points/policy.py`` that it checks.
A new route fails here until a row is added for it by hand. Denied = 302 to /login for
anonymous, 403 (or 404) for a signed-in user; allowed = neither 403 nor a login redirect (and
never a server error). ``vviewer`` is a viewer bound to the village (no county pages).
"""

from __future__ import annotations

import pytest

from pointsapp.extensions import db
from pointsapp.points.capture import Line, approve, capture
from pointsapp.points.ledger import Submission
from pointsapp.points.notice import publish_notice
from pointsapp.points.objections import raise_objection
from pointsapp.points.periods import month_key
from pointsapp.points.registry import Household, Role, StaffUser, Village
from tests.conftest import login
from tests.staff.conftest import make_activity, today, last_month_day

ANY = "anonymous admin reviewer grid_worker viewer vviewer clerk"
STAFF = "admin reviewer grid_worker viewer vviewer"  # report readers
ACCOUNTS = STAFF + " clerk"  # every signed-in account

# endpoint -> who may use it. Written by hand; do not generate it from the code.
EXPECTED: dict[str, str] = {
    # public pages (villagers, sign-in, language, health)
    "web.index": ANY,
    "web.set_language": ANY,
    "web.healthz": ANY,
    "staff.login": ANY,
    "staff.service_worker": ANY,
    "villagers.board": ANY,
    "villagers.card": ANY,
    "villagers.notice": ANY,
    "villagers.object_entry": ANY,
    "villagers.report_missing": ANY,
    "villagers.rules": ANY,
    # every signed-in account
    "staff.logout": ACCOUNTS,
    "staff.change_password": ACCOUNTS,
    "staff.home": ACCOUNTS,
    # capture (grid workers, reviewers, admins)
    "staff.capture_start": "admin reviewer grid_worker",
    "staff.capture": "admin reviewer grid_worker",
    "staff.new_activity": "admin reviewer grid_worker",
    "staff.sign_in_sheet": "admin reviewer grid_worker",
    "staff.activity_photo": "admin reviewer grid_worker",
    "staff.capture_result": "admin reviewer grid_worker",
    "staff.capture_photo": "admin reviewer grid_worker",
    "staff.my_captures": "admin reviewer grid_worker",
    # review, public notice, objections (reviewers and admins)
    "staff.review": "admin reviewer",
    "staff.approve": "admin reviewer",
    "staff.reject": "admin reviewer",
    "staff.notices": "admin reviewer",
    "staff.notice": "admin reviewer",
    "staff.notice_print": "admin reviewer",
    "staff.publish": "admin reviewer",
    "staff.objections": "admin reviewer",
    "staff.objection": "admin reviewer",
    "staff.new_objection": "admin reviewer",
    "reports.notice_pdf": "admin reviewer",
    # admins only
    "staff.award": "admin",
    "staff.close": "admin",
    "villagers.cards": "admin",
    "villagers.passbook": "admin",
    "villagers.rotate": "admin",
    "admin.home": "admin",
    "admin.activities": "admin",
    "admin.activity_cancel": "admin",
    "admin.activity_edit": "admin",
    "admin.audit_csv": "admin",
    "admin.audit_log": "admin",
    "admin.group_create": "admin",
    "admin.group_edit": "admin",
    "admin.household": "admin",
    "admin.household_edit": "admin",
    "admin.household_new": "admin",
    "admin.roster_cancel": "admin",
    "admin.roster_confirm": "admin",
    "admin.roster_export": "admin",
    "admin.roster_page": "admin",
    "admin.roster_preview": "admin",
    "admin.roster_upload": "admin",
    "admin.rule": "admin",
    "admin.rule_edit": "admin",
    "admin.rules": "admin",
    "admin.rules_export": "admin",
    "admin.rules_upload": "admin",
    "admin.rules_upload_confirm": "admin",
    "admin.rules_upload_preview": "admin",
    "admin.settings": "admin",
    "admin.user_activate": "admin",
    "admin.user_deactivate": "admin",
    "admin.user_edit": "admin",
    "admin.user_new": "admin",
    "admin.user_reset_password": "admin",
    "admin.users": "admin",
    "admin.villager": "admin",
    "admin.villager_edit": "admin",
    "admin.villager_move": "admin",
    "admin.villager_new": "admin",
    "admin.villager_status": "admin",
    "reports.export_roster": "admin",
    "reports.monthly_pack": "admin",
    # read-only registry lists and the village list: admins and viewers
    "admin.groups": "admin viewer vviewer",
    "admin.households": "admin viewer vviewer",
    "staff.villages": "admin viewer vviewer",
    # reports
    "reports.dashboard": STAFF,
    "reports.chart": STAFF,
    "reports.export_ledger": "admin viewer vviewer",
    # county-wide pages: county accounts only (a village-bound viewer is refused)
    "reports.county": "viewer",
    "reports.county_chart": "viewer",
    # 积分超市: the public list; the desk (clerks, and admins, who can do all a clerk can); the shop's admin pages
    "shop.public_shop": ANY,
    "shop.item_photo": ANY,
    "shop.desk": "admin clerk",
    "shop.household": "admin clerk",
    "shop.redeem": "admin clerk",
    "shop.receipt": "admin clerk",
    "shop.cancel": "admin clerk",
    "shop.redemptions": "admin clerk",
    "shop.stock": "admin clerk",
    "shop.stock_in_post": "admin clerk",
    "shop.write_off_post": "admin clerk",
    "shop.stars": "admin clerk",
    "shop.plaques": "admin clerk",
    "shop.items": "admin",
    "shop.edit_item": "admin",
    "shop.settings": "admin",
    "shop.reset": "admin",
}

ROLE_USERS = {
    "admin": "admin1",
    "reviewer": "rev1",
    "grid_worker": "grid1",
    "viewer": "view1",
    "vviewer": "vview1",
    "clerk": "clerk1",
}
SKIP_ENDPOINTS = {"static"}  # Flask's own static files: no view function of ours


def _is_static(endpoint: str) -> bool:
    return endpoint in SKIP_ENDPOINTS or endpoint.endswith(".static")


def test_every_view_declares_allowed_roles(app):
    missing = [
        ep for ep, view in app.view_functions.items() if not _is_static(ep) and not getattr(view, "allowed_roles", None)
    ]
    assert not missing, f"views without @roles_required/@public: {missing}"


def test_every_endpoint_has_a_hand_written_row(app):
    endpoints = {ep for ep in app.view_functions if not _is_static(ep)}
    assert not endpoints - set(EXPECTED), (
        f"add these endpoints to EXPECTED by hand: {sorted(endpoints - set(EXPECTED))}"
    )
    assert not set(EXPECTED) - endpoints, (
        f"EXPECTED lists endpoints that no longer exist: {sorted(set(EXPECTED) - endpoints)}"
    )


@pytest.fixture
def ids(app, world):
    """Objects every parameterised route can point at."""
    aid = make_activity(app, world)
    with app.app_context():
        village = db.session.get(Village, world["village"])
        grid = db.session.get(StaffUser, world["users"]["grid1"])
        rev = db.session.get(StaffUser, world["users"]["rev1"])
        res = capture(
            db.session,
            actor=grid,
            village=village,
            key="matrix",
            lines=[Line(villager_id=p) for p in world["people"][0]],
            rule_code="LJ-01",
            occurred_on=last_month_day(),
            activity_id=aid,
        )
        entries = approve(db.session, [db.session.get(Submission, res.lines[0].submission_id)], rev)
        publish_notice(db.session, village, month_key(last_month_day()), rev)
        household = db.session.get(Household, world["households"][0])
        obj = raise_objection(db.session, entries[0], household, "matrix")
        vview = StaffUser(username="vview1", role=Role.viewer, village_id=village.id)  # a village-bound viewer
        vview.set_password("correct horse 1")
        db.session.add(vview)
        spare = StaffUser(username="spare", role=Role.grid_worker, village_id=village.id)  # a target for user pages
        spare.set_password("correct horse 1")
        db.session.add(spare)
        clerk = StaffUser(username="clerk1", role=Role.clerk, village_id=village.id)  # 兑换员
        clerk.set_password("correct horse 1")
        db.session.add(clerk)
        db.session.commit()
        values = {
            "activity_id": aid,
            "batch_id": res.batch_id,
            "entry_id": entries[0].id,
            "objection_id": obj.id,
            "submission_id": res.lines[1].submission_id,
            "household_id": household.id,
            "villager_id": world["people"][0][0],
            "person_id": world["people"][0][0],
            "group_id": household.group_id,
            "village_id": village.id,
            "village": village.id,
            "user_id": spare.id,
            "rule_id": world["rules"]["LJ-01"],
            "month": month_key(today()),
            "period": month_key(today()),
            "code": "LJ-01",
            "rule_code": "LJ-01",
            "token": household.card_token,
            "card_token": household.card_token,
            "lang": "en",
        }
    return values


def _url(app, rule, values) -> str:
    args = {}
    for name in rule.arguments:
        conv = type(rule._converters[name]).__name__
        if name in values:
            args[name] = values[name]
        elif conv in ("IntegerConverter", "NumberConverter"):
            args[name] = 1
        else:
            args[name] = "x"
        if conv in ("IntegerConverter", "NumberConverter") and not isinstance(args[name], int):
            args[name] = 1
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **args)


def _routes(app):
    out = []
    for rule in app.url_map.iter_rules():
        if _is_static(rule.endpoint):
            continue
        methods = rule.methods - {"HEAD", "OPTIONS"}
        method = "GET" if "GET" in methods else "POST"
        out.append((rule, method))
    return sorted(out, key=lambda rm: (rm[1] == "POST", rm[0].rule))


def _request(client, method, url):
    resp = client.get(url) if method == "GET" else client.post(url, data={})
    resp.get_data()  # drain streamed responses (CSV exports) so their contexts close
    resp.close()
    return resp


def _is_login_redirect(resp) -> bool:
    return resp.status_code in (301, 302, 303) and "/login" in resp.headers.get("Location", "")


def test_authorization_matrix(app, world, ids):
    clients = {None: app.test_client()}
    for role, username in ROLE_USERS.items():
        c = app.test_client()
        assert login(c, username).status_code == 302
        clients[role] = c
    problems = []
    server_errors = []
    checked = 0
    for rule, method in _routes(app):
        allowed = set(EXPECTED.get(rule.endpoint, "").split())
        url = _url(app, rule, ids)
        for role, c in clients.items():
            if method == "POST" and role is not None:
                c.post("/logout")  # start each POST with a fresh session of this role
                login(c, ROLE_USERS[role])
            resp = _request(c, method, url)
            who = role or "anonymous"
            ok = who in allowed
            if ok:
                if resp.status_code == 403 or _is_login_redirect(resp):
                    problems.append(f"{method} {url} as {who}: expected allowed, got {resp.status_code}")
                elif resp.status_code >= 500:
                    server_errors.append(f"{method} {url} as {who}: {resp.status_code}")
            elif role is None:
                if not _is_login_redirect(resp):
                    problems.append(f"{method} {url} as anonymous: expected redirect to login, got {resp.status_code}")
            elif resp.status_code not in (403, 404):
                problems.append(f"{method} {url} as {who}: expected 403 or 404, got {resp.status_code}")
            checked += 1
    print(f"\nauthorization matrix: {checked} checks over {len(_routes(app))} routes")
    assert not problems, "\n".join(problems)
    assert not server_errors, "server errors:\n" + "\n".join(server_errors)
