"""Authorization matrix: every endpoint of every blueprint x every role (and anonymous).

Each view must declare ``allowed_roles`` (``@roles_required`` or ``@public``); a new route
without it fails here. Each role is then allowed or denied exactly as declared:
denied = 302 to /login for anonymous, 403 for a signed-in user of another role;
allowed = neither of those (and never a server error).
"""
from __future__ import annotations

import pytest

from pointsapp.extensions import db
from pointsapp.points.capture import Line, approve, capture
from pointsapp.points.ledger import Submission
from pointsapp.points.notice import publish_notice, raise_objection
from pointsapp.points.periods import month_key
from pointsapp.points.registry import Household, Role, StaffUser, Village
from pointsapp.web.auth import PUBLIC
from tests.conftest import login
from tests.staff.conftest import make_activity, today

ROLE_USERS = {Role.admin: "admin1", Role.reviewer: "rev1", Role.grid_worker: "grid1", Role.viewer: "view1",
              Role.clerk: "clerk1"}
SKIP_ENDPOINTS = {"static"}  # Flask's own static files: no view function of ours


def _is_static(endpoint: str) -> bool:
    return endpoint in SKIP_ENDPOINTS or endpoint.endswith(".static")


def test_every_view_declares_allowed_roles(app):
    missing = [ep for ep, view in app.view_functions.items()
               if not _is_static(ep) and not getattr(view, "allowed_roles", None)]
    assert not missing, f"views without @roles_required/@public: {missing}"


@pytest.fixture
def ids(app, world):
    """Objects every parameterised route can point at."""
    aid = make_activity(app, world)
    with app.app_context():
        village = db.session.get(Village, world["village"])
        grid = db.session.get(StaffUser, world["users"]["grid1"])
        rev = db.session.get(StaffUser, world["users"]["rev1"])
        res = capture(db.session, actor=grid, village=village, key="matrix",
                      lines=[Line(villager_id=p) for p in world["people"][0]], rule_code="LJ-01",
                      occurred_on=today(), activity_id=aid)
        entries = approve(db.session, [db.session.get(Submission, res.lines[0].submission_id)], rev)
        publish_notice(db.session, village, month_key(today()), rev)
        household = db.session.get(Household, world["households"][0])
        obj = raise_objection(db.session, entries[0], household, "matrix")
        spare = StaffUser(username="spare", role=Role.grid_worker, village_id=village.id)  # a target for user pages
        spare.set_password("correct horse 1")
        db.session.add(spare)
        clerk = StaffUser(username="clerk1", role=Role.clerk, village_id=village.id)  # 兑换员
        clerk.set_password("correct horse 1")
        db.session.add(clerk)
        db.session.commit()
        values = {
            "activity_id": aid, "batch_id": res.batch_id, "entry_id": entries[0].id, "objection_id": obj.id,
            "submission_id": res.lines[1].submission_id, "household_id": household.id,
            "villager_id": world["people"][0][0], "person_id": world["people"][0][0],
            "group_id": household.group_id, "village_id": village.id, "village": village.id,
            "user_id": spare.id, "rule_id": world["rules"]["LJ-01"],
            "month": month_key(today()), "period": month_key(today()), "code": "LJ-01", "rule_code": "LJ-01",
            "token": household.card_token, "card_token": household.card_token, "lang": "en",
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
        view = app.view_functions[rule.endpoint]
        allowed = view.allowed_roles
        url = _url(app, rule, ids)
        for role, c in clients.items():
            if method == "POST" and role is not None:
                c.post("/logout")  # start each POST with a fresh session of this role
                login(c, ROLE_USERS[role])
            resp = _request(c, method, url)
            ok = allowed == PUBLIC or (role is not None and role in allowed)
            who = role.value if role else "anonymous"
            if ok:
                if resp.status_code == 403 or _is_login_redirect(resp):
                    problems.append(f"{method} {url} as {who}: expected allowed, got {resp.status_code}")
                elif resp.status_code >= 500:
                    server_errors.append(f"{method} {url} as {who}: {resp.status_code}")
            elif role is None:
                if not _is_login_redirect(resp):
                    problems.append(f"{method} {url} as anonymous: expected redirect to login, got {resp.status_code}")
            elif resp.status_code != 403:
                problems.append(f"{method} {url} as {who}: expected 403, got {resp.status_code}")
            checked += 1
    print(f"\nauthorization matrix: {checked} checks over {len(_routes(app))} routes")
    assert not problems, "\n".join(problems)
    assert not server_errors, "server errors:\n" + "\n".join(server_errors)
