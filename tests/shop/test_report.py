"""The ceremony pack's shop parts: 兑换明细 and 库存台账 sheets, the redeemed-by-item chart, the star list."""

from openpyxl import load_workbook
from sqlalchemy import text

from pointsapp.points.shop.redeem import Want, cancel, redeem
from pointsapp.points.shop.stock import write_off
from pointsapp.reports.pack import build_monthly_pack
from pointsapp.reports.packdata import gather
from tests.shop.helpers import NOW, give, stocked


def test_pack_has_redemptions_stock_ledger_chart_and_stars(world, session, tmp_path):
    a, b = world.households[:2]
    give(session, world, [a], times=16)  # 320: ★★★★★
    give(session, world, [b], times=4)  # 80: ★★
    soap = stocked(session, world, qty=10)
    stocked(session, world, code="RICE", name="大米", price=25, qty=4, unit="袋")
    redeem(
        session,
        actor=world.clerk,
        village=world.village,
        household=a,
        wants=[Want(3, code="SOAP"), Want(2, code="RICE")],
        key="r1",
        now=NOW,
    )
    r2 = redeem(
        session, actor=world.clerk, village=world.village, household=b, wants=[Want(1, code="RICE")], key="r2", now=NOW
    ).redemption
    write_off(session, world.village, world.clerk, soap, 1, reason="破损", now=NOW)
    session.commit()
    cancel(session, r2, world.clerk, now=NOW)
    session.commit()
    result = build_monthly_pack(session, world.village, "2026-11", tmp_path, progress=False, now=NOW)
    assert (tmp_path / "2026-11-6-redeemed.png").exists()
    data = gather(session, world.village, "2026-11", now=NOW)
    assert data.redeemed_items == [("大米", 50), ("香皂", 30)]  # the cancelled redemption counts nothing
    assert [(r.name, r.stars) for r in data.stars] == [("向明华", 5), ("唐海娟", 2)]
    assert result.sections["stars"] == 1
    wb = load_workbook(result.xlsx, read_only=True)
    reds = list(wb["兑换明细"].iter_rows(values_only=True))
    assert [r[0] for r in reds[1:]] == ["2026-00001", "2026-00002"]
    assert reds[1][8] == 80 and reds[2][11] == "2026-11-20"  # points; the cancellation's date
    stock = {r[0]: r for r in list(wb["库存台账"].iter_rows(values_only=True))[1:]}
    raw = dict(
        session.execute(
            text(
                "SELECT i.code, sum(m.qty) FROM stock_movements m JOIN shop_items i ON i.id = m.item_id GROUP BY i.code"
            )
        ).all()
    )
    assert {code: row[8] for code, row in stock.items()} == raw == {"SOAP": 6, "RICE": 2}
    assert stock["SOAP"][4:9] == (0, 10, 3, 1, 6) and stock["RICE"][4:9] == (0, 4, 2, 0, 2)
