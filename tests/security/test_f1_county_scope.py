"""Finding 1 (high): a viewer bound to a village read the whole county.

County-wide reads are for county accounts only (``village_id IS NULL``); a village-bound
viewer stays in its village everywhere. The oracle is raw SQL over ledger_entries."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from pointsapp.extensions import db
from tests.security.conftest import sign_in

REFUSED = (403, 404)


def _hashes(app, village_id: int) -> set[str]:
    with app.app_context():
        return set(
            db.session.execute(
                text("SELECT hash FROM ledger_entries WHERE village_id = :v"), {"v": village_id}
            ).scalars()
        )


@pytest.fixture
def vview(client, two_villages):
    assert sign_in(client, "vview").status_code == 302
    return client


@pytest.mark.parametrize("url", ["/county", "/county?period=2026-11", "/reports/county/villages.png?period=2026-11"])
def test_village_viewer_cannot_open_county_pages(vview, url):
    assert vview.get(url).status_code in REFUSED


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_village_viewer_ledger_export_holds_only_its_village(app, vview, two_villages, fmt):
    own, other = _hashes(app, two_villages["village"]), _hashes(app, two_villages["village2"])
    assert own and other
    for url in (
        f"/reports/export/ledger.{fmt}?period=2026-11",
        f"/reports/export/ledger.{fmt}?period=2026-11&village={two_villages['village2']}",
    ):
        resp = vview.get(url)
        body = resp.get_data()
        if resp.status_code in REFUSED:
            continue
        assert resp.status_code == 200, url
        if fmt == "csv":
            rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))[1:]
            found = {r[-1] for r in rows}
            villages = {r[0] for r in rows}
        else:
            ws = load_workbook(io.BytesIO(body), read_only=True).active
            rows = list(ws.iter_rows(min_row=2, values_only=True))
            assert rows and rows[-1][0] == "合计"  # the workbook ends with its totals row
            rows = rows[:-1]
            found = {r[-1] for r in rows}
            villages = {r[0] for r in rows}
        assert not (found & other), f"{url}: another village's entries are in the export"
        assert found == own, f"{url}: the export should hold exactly the village's own entries"
        assert villages == {"龙天坪村"}
        assert "石门村".encode() not in body and "石大山".encode() not in body


def test_village_viewer_dashboard_stays_in_its_village(vview, two_villages):
    page = vview.get(f"/dashboard?village={two_villages['village2']}").get_data(as_text=True)
    assert "石门村" not in page and "石大山" not in page
    villages = vview.get("/villages").get_data(as_text=True)
    assert "石门村" not in villages


def test_county_viewer_still_reads_the_county(app, client, two_villages):
    assert sign_in(client, "county1").status_code == 302
    assert client.get("/county?period=2026-11").status_code == 200
    body = client.get("/reports/export/ledger.csv?period=2026-11").get_data()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))[1:]
    everything = _hashes(app, two_villages["village"]) | _hashes(app, two_villages["village2"])
    assert {r[-1] for r in rows} == everything


def test_service_refuses_county_reads_to_village_accounts(app, two_villages):
    """The cause, in the service layer: village=None needs a county account."""
    from sqlalchemy import select

    from pointsapp.points.errors import Refused
    from pointsapp.points.policy import require
    from pointsapp.points.registry import StaffUser
    from pointsapp.reports.dashboard import county_dashboard

    with app.app_context():
        vview = db.session.execute(select(StaffUser).where(StaffUser.username == "vview")).scalar_one()
        county = db.session.execute(select(StaffUser).where(StaffUser.username == "county1")).scalar_one()
        for action in ("reports.read", "reports.export"):
            with pytest.raises(Refused):
                require(vview, None, action)
            require(county, None, action)
        with pytest.raises(Refused):
            county_dashboard(db.session, vview, "2026-11")
        assert county_dashboard(db.session, county, "2026-11").villages
