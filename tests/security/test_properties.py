"""Property tests (hypothesis): random and adversarial input (odd Unicode, control characters,
huge numbers, wrong types) to the roster and score importers, the rule-book loader and every
staff form. Each answer is a clear error or a success: never an unhandled exception, never a
500. (The ``next`` checks have theirs in test_f2_open_redirect.py.)"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import select

from pointsapp.extensions import db
from pointsapp.points.errors import Refused
from pointsapp.points.imports.errors import ImportErrors
from pointsapp.points.imports.reader import ReadError, read_table
from pointsapp.points.imports.roster import ROSTER_COLUMNS, import_roster
from pointsapp.points.imports.scores import SCORE_COLUMNS, import_scores
from pointsapp.points.registry import StaffUser, Village
from pointsapp.points.rules import RuleBookError, parse_rulebook
from tests.security.conftest import sign_in

REPO = Path(__file__).resolve().parents[2]
SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

ODD = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\t",
        "\r\n",
        "\u200b",
        "\ufeff",
        "\u202e",
        "𠮷",
        "䶮",
        "＝1+1",
        "=1+1",
        "@SUM(A1)",
        "-0",
        "1e309",
        "9" * 40,
        "NaN",
        "inf",
        "1958年13月",
        "2026-02-30",
        "00000",
        "户主",
        "男",
        "女",
        "第一组",
        "DJ-01",
        "'",
        '"',
        "\\",
        "../../etc/passwd",
        "<script>",
    ]
)
TEXT = st.one_of(ODD, st.text(max_size=30), st.text(alphabet=st.characters(max_codepoint=0x2FFFF), max_size=12))
NUMBERS = st.one_of(st.integers(min_value=-(10**30), max_value=10**30), st.floats(allow_nan=True, allow_infinity=True))
CELL = st.one_of(
    TEXT, NUMBERS, st.booleans(), st.none(), st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1))
)


def _csv(header: list[str], rows: list[list]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else str(v) for v in r])
    return buf.getvalue().encode("utf-8", "surrogatepass")


def _xlsx(header: list[str], rows: list[list]) -> bytes:
    book = Workbook()
    ws = book.active
    ws.append(header)
    for r in rows:
        clean = []
        for v in r:
            if isinstance(v, str):
                v = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", v)  # openpyxl itself refuses these
            if isinstance(v, float) and (math.isnan(v) or v in (float("inf"), float("-inf"))):
                v = str(v)
            clean.append(v)
        ws.append(clean)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _table_strategy(columns):
    names = [c.spellings[0] for c in columns]
    return st.tuples(
        st.sampled_from(["csv", "xlsx"]),
        st.lists(st.lists(CELL, min_size=len(names), max_size=len(names)), min_size=1, max_size=6),
        st.just(names),
    )


@pytest.fixture
def village_session(app, app_world):
    with app.app_context():
        yield db.session, db.session.get(Village, app_world["village"]), app_world


def _read(kind, names, rows, columns):
    data = _csv(names, rows) if kind == "csv" else _xlsx(names, rows)
    return read_table(data, columns, filename=f"upload.{kind}")


def test_roster_importer_property(village_session):
    session, village, _world = village_session

    @settings(max_examples=60, **SETTINGS)
    @given(_table_strategy(ROSTER_COLUMNS))
    def check(case):
        kind, rows, names = case
        try:
            table = _read(kind, names, rows, ROSTER_COLUMNS)
            import_roster(session, village, table, dry_run=True)
        except (ReadError, ImportErrors, Refused):
            pass
        finally:
            session.rollback()

    check()


def test_score_importer_property(village_session):
    session, village, world = village_session
    admin = session.get(StaffUser, world["users"]["admin1"])

    @settings(max_examples=60, **SETTINGS)
    @given(_table_strategy(SCORE_COLUMNS))
    def check(case):
        kind, rows, names = case
        try:
            table = _read(kind, names, rows, SCORE_COLUMNS)
            import_scores(session, village, table, by=admin, dry_run=True)
        except (ReadError, ImportErrors, Refused):
            pass
        finally:
            session.rollback()

    check()


FIELDS = [
    "code",
    "name",
    "category",
    "points",
    "per",
    "unit",
    "scope",
    "caps",
    "evidence",
    "logged_by",
    "effective_from",
    "effective_to",
    "bogus",
]
VALUE = st.recursive(
    CELL,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["day", "month", "x", "1"]), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=200, **SETTINGS)
@given(
    st.one_of(
        st.lists(st.dictionaries(st.sampled_from(FIELDS), VALUE, max_size=13), max_size=4).map(
            lambda rules: yaml.safe_dump({"rules": rules}, allow_unicode=True, default_flow_style=None)
        ),
        st.text(max_size=200),
        st.text(alphabet=st.sampled_from(list("&*ab:[]{},-\n |>!?%@`'\"")), max_size=80),
    )
)
def test_rule_book_loader_property(doc):
    try:
        book = parse_rulebook(doc)
    except RuleBookError as exc:
        assert exc.errors and all(isinstance(e, str) and len(e) < 2000 for e in exc.errors)
    else:
        assert all(isinstance(r.code, str) and r.points != 0 for r in book.rules)


def _staff_posts(app, ids):
    """Every POST route of the staff feature, with the ids of real objects filled in."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("staff.") or "POST" not in rule.methods or rule.endpoint == "staff.logout":
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(rf"<(?:[a-z]+:)?{arg}>", str(ids.get(arg, 1)), url)
        out.append(url)
    return sorted(out)


def _form_names() -> list[str]:
    names = set()
    for path in (REPO / "pointsapp" / "staff").rglob("*"):
        if path.suffix in (".html", ".py"):
            names |= set(re.findall(r'name="([a-z_]+)"', path.read_text()))
    from wtforms.fields.core import UnboundField

    from pointsapp.staff import forms

    for cls in vars(forms).values():
        if isinstance(cls, type):
            names |= {n for n, v in vars(cls).items() if isinstance(v, UnboundField)}
    return sorted(names - {"csrf_token"})


def test_every_staff_form_property(app, app_world):
    from tests.staff.conftest import make_activity

    with app.app_context():
        world = dict(app_world)
        world["rules"] = {
            r.code: r.id
            for r in db.session.execute(select(__import__("pointsapp.points.rules", fromlist=["Rule"]).Rule)).scalars()
        }
    aid = make_activity(app, world)
    urls = _staff_posts(app, {"activity_id": aid, "objection_id": 1, "month": "2026-11", "batch_id": 1})
    names = _form_names()
    assert len(urls) >= 8 and "note" in names and "p" in names
    clients = {}
    for who in ("admin1", "grid1", "rev1"):
        clients[who] = app.test_client()
        assert sign_in(clients[who], who).status_code == 302
    http_text = TEXT.map(lambda t: t.encode("utf-8", "ignore").decode())  # what a browser can send
    form_value = st.one_of(
        http_text, NUMBERS.map(str), st.sampled_from([str(p) for ps in app_world["people"] for p in ps])
    )

    @settings(max_examples=150, **SETTINGS)
    @given(
        st.sampled_from(urls),
        st.sampled_from(sorted(clients)),
        st.dictionaries(st.sampled_from(names), st.one_of(form_value, st.lists(form_value, max_size=4)), max_size=8),
    )
    def check(url, who, data):
        resp = clients[who].post(url, data=data)
        assert resp.status_code < 500, f"{url} as {who} with {data!r}: {resp.status_code}"
        body = resp.get_data(as_text=True)
        assert "Traceback" not in body

    check()
    for who, c in clients.items():  # the property run never signed anyone out by accident
        assert c.get("/staff").status_code in (200, 302)
