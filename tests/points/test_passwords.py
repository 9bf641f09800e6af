"""The core's password hashes are werkzeug's format: each side verifies the other's."""

from __future__ import annotations

import pytest
from werkzeug.security import check_password_hash as wz_check
from werkzeug.security import generate_password_hash as wz_generate

from pointsapp.points.passwords import check_password_hash, generate_password_hash


@pytest.mark.parametrize("method", ["scrypt:1024:8:1", "pbkdf2:sha256:1000", "pbkdf2:sha512:2000"])
def test_hashes_verify_both_ways_with_werkzeug(method):
    ours = generate_password_hash("correct horse 1", method=method)
    theirs = wz_generate("correct horse 1", method=method)
    assert ours.startswith(method + "$") and len(ours.split("$")[1]) == 16
    assert wz_check(ours, "correct horse 1") and check_password_hash(theirs, "correct horse 1")
    assert not wz_check(ours, "correct horse 2") and not check_password_hash(theirs, "correct horse 2")
    assert generate_password_hash("x", method=method) != generate_password_hash("x", method=method)  # salted


def test_default_is_scrypt_and_garbage_does_not_verify():
    assert generate_password_hash("pw").startswith("scrypt:32768:8:1$")
    for bad in ("", "no dollars", "md5$salt$abc", "pbkdf2:sha256:x$salt$abc"):
        assert check_password_hash(bad, "pw") is False
