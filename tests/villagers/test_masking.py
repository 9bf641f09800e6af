"""Public pages (board, star list, 公示) and the pack's public chart show masked names only.

The oracle is independent of pointsapp.points.names: names come from raw SQL and the
expected mask is written out here (first character, one *, last character if there are
three or more)."""

from __future__ import annotations

import re

from sqlalchemy import text as sql

from pointsapp.extensions import db
from tests.villagers.test_pages import table_rows


def expected_mask(name: str) -> str:
    return name[0] + "*" + (name[-1] if len(name) >= 3 else "")


def _rename_and_read(app, scene) -> dict[str, str]:
    """Give one head a compound surname and one member a one-character name; return
    every villager's full name -> expected mask (raw SQL)."""
    with app.app_context():
        head = db.session.execute(
            sql("SELECT head_id FROM households WHERE id = :h"), {"h": scene.households[0]}
        ).scalar_one()
        other = db.session.execute(
            sql("SELECT id FROM villagers WHERE household_id = :h ORDER BY id LIMIT 1"), {"h": scene.households[1]}
        ).scalar_one()
        db.session.execute(sql("UPDATE villagers SET name = '欧阳兰宏' WHERE id = :i"), {"i": head})
        db.session.execute(sql("UPDATE villagers SET name = '麻' WHERE id = :i"), {"i": other})
        db.session.commit()
        names = db.session.execute(sql("SELECT name FROM villagers")).scalars().all()
    return {n: (n + "*" if len(n) == 1 else expected_mask(n)) for n in names}


def _notice_names(html: str) -> list[str]:
    return [m.strip() for m in re.findall(r'<li class="vbox"><strong>[^<]*</strong> · ([^·<]+) ·', html)]


def test_public_pages_show_only_masked_names(app, client, scene):
    masks = _rename_and_read(app, scene)
    assert masks["欧阳兰宏"] == "欧*宏"
    allowed = set(masks.values())
    seen: dict[str, list[str]] = {}
    for url in (
        f"/board?period={scene.month}&show=households",
        f"/board?period={scene.month}&show=people",
        f"/board?period={scene.today.year}&show=people",
        "/notice",
    ):
        html = client.get(url).get_data(as_text=True)
        for full in masks:
            if len(full) > 1:
                assert full not in html, f"{full} shown on {url}"
        assert "**" not in html, url
        if url.startswith("/board"):
            names = [r[1] for r in table_rows(html, "board-table")]
            if 'id="stars-table"' in html:
                stars = [r[1] for r in table_rows(html, "stars-table")]
                seen["stars"] = stars
                names += stars
        else:
            names = _notice_names(html)
        shown = [n for n in names if not n.startswith(("第", "Household", "#"))]
        assert shown, url
        assert set(shown) <= allowed, (url, set(shown) - allowed)
        seen[url] = shown
    assert seen.get("stars"), "the star list was not shown on the board"
    # the compound surname keeps only its first character: the length stays hidden
    assert "欧*宏" in seen[f"/board?period={scene.month}&show=households"]
    assert "欧*宏" in seen[f"/board?period={scene.today.year}&show=people"]


def test_pack_public_chart_masks_the_top_households(app, scene):
    from pointsapp.points.registry import Village
    from pointsapp.reports.packdata import PackData, gather

    masks = _rename_and_read(app, scene)
    with app.app_context():
        data = gather(db.session, db.session.get(Village, scene.village), scene.month, top_n=10)
        heads = dict(
            db.session.execute(sql("SELECT h.id, v.name FROM households h JOIN villagers v ON v.id = h.head_id")).all()
        )
        labels = [PackData.household_label(r, masked=True) for r in data.top]
        rows = list(data.top)
    assert rows
    assert labels == [f"{masks[heads[r.id]]}户（{r.group}）" for r in rows]
