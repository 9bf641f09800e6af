"""Every UI string of the staff feature has a Chinese translation and the catalog is current."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.conftest import login

REPO = Path(__file__).resolve().parents[2]
PO = REPO / "pointsapp" / "staff" / "translations" / "zh_Hans" / "LC_MESSAGES" / "messages.po"


def test_every_msgid_is_translated():
    catalog = read_po(PO.open("rb"))
    missing = [
        m.id for m in catalog if m.id and (not (m.string if isinstance(m.string, str) else all(m.string)) or m.fuzzy)
    ]
    assert not missing, f"untranslated: {missing}"


def test_catalog_covers_every_string_in_the_source():
    method_map = [("**.py", "python"), ("**.html", "jinja2")]
    keywords = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
    found = {
        msg[2] if isinstance(msg[2], str) else msg[2][0]
        for msg in extract_from_dir(str(REPO / "pointsapp" / "staff"), method_map, keywords=keywords)
    }
    catalog = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(PO.open("rb")) if m.id}
    assert not found - catalog, f"run scripts/i18n staff: {sorted(found - catalog)}"


def test_staff_pages_in_english(client, world):
    client.get("/lang/en?next=/")
    assert "Staff sign-in" in client.get("/login").get_data(as_text=True)
    login(client, "admin1")
    for url, text in (
        ("/staff", "Staff desk"),
        ("/review", "Review queue"),
        ("/capture", "Which activity?"),
        ("/notices", "Publish a month"),
        ("/objections", "Objections"),
        ("/close", "Month close"),
        ("/awards/new", "Special award or deduction"),
        ("/activities/new", "New activity"),
        ("/capture/mine", "My captures"),
        ("/password", "Change password"),
    ):
        resp = client.get(url)
        assert resp.status_code == 200 and text in resp.get_data(as_text=True), url
