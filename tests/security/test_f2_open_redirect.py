"""Finding 2 (medium): a tab got past the ``next`` check (``/\\t/evil.example`` → ``//evil.example``)
and a newline gave a 500, on sign-in and on the language switch.

The oracle does what a browser does with a Location header (drops tabs and newlines, reads a
backslash as a slash, resolves against the page) and checks the result stays on the site."""

from __future__ import annotations

from urllib.parse import quote, urljoin, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pointsapp.web.security import safe_next
from tests.security.conftest import sign_in

SITE = "http://localhost/"
ATTACKS = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "/\t\\evil.example",
    " //evil.example",
    "/%09/evil.example",
    "\t//evil.example",
    "/\x00/evil.example",
    "/\u3000/evil.example",
    "javascript:alert(1)",
    "/\x0b/evil.example",
]


def browser_target(location: str) -> str:
    """Where a browser goes for this Location (WHATWG URL parsing, the parts that matter)."""
    cleaned = "".join(ch for ch in location if ch not in "\t\n\r").strip("\x00 \x0b\x0c")
    return urljoin(SITE, cleaned.replace("\\", "/"))


def stays_on_site(location: str) -> bool:
    return urlsplit(browser_target(location)).netloc == "localhost"


@pytest.mark.parametrize("target", ATTACKS)
def test_language_switch_never_leaves_the_site(client, target):
    resp = client.get(f"/lang/en?next={quote(target, safe='')}")
    assert resp.status_code == 302
    assert stays_on_site(resp.headers["Location"]), resp.headers["Location"]


@pytest.mark.parametrize("target", ATTACKS)
def test_sign_in_never_leaves_the_site(client, app_world, target):
    resp = sign_in(client, "grid1", next=target)
    assert resp.status_code == 302
    assert stays_on_site(resp.headers["Location"]), resp.headers["Location"]


def test_newline_in_next_is_not_a_server_error(client, app_world):
    assert client.get("/lang/en?next=%2F%0A%2Fevil.example").status_code == 302
    assert client.get("/login?next=%2F%0D%0A%2Fevil.example").status_code == 200


def test_a_plain_next_still_works(client, app_world):
    assert client.get("/lang/en?next=/rules%3Fx%3D1").headers["Location"] == "/rules?x=1"
    assert sign_in(client, "admin1", next="/review?month=2026-11").headers["Location"] == "/review?month=2026-11"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(),
        st.text(alphabet=st.sampled_from(list("/\\\t\n\r \x00:.@%?#evilx\u3000\u200b\ufeff")), max_size=24),
        st.builds(lambda a, b: a + b, st.sampled_from(["/", "//", "/\t/", "\\", "/\\"]), st.text(max_size=30)),
        st.integers(),
        st.none(),
        st.binary(),
    )
)
def test_safe_next_property(target):
    """Whatever comes in: None, or a path that a browser resolves to this site."""
    result = safe_next(target)
    assert result is None or (isinstance(result, str) and result.startswith("/") and stays_on_site(result))
