"""The card's form token (web/security.py bound_form_token): bound to a card link and a time window.

Oracle: the lifetime rule written out (valid for at least ``lifetime`` seconds, never after 1½), and
the cards' rollover instants counted independently, second by second."""

from __future__ import annotations

import random

from pointsapp.web.security import bound_form_token, bound_form_token_ok

SECRET, LIFETIME = "test-secret", 3600


def test_a_token_lives_at_least_its_lifetime_and_never_past_one_and_a_half():
    rng = random.Random(7)
    for _ in range(300):
        card = "".join(rng.choice("abcdefghijkLMNOP0123456789_-") for _ in range(32))
        made = 1_790_000_000 + rng.randrange(10**6)
        token = bound_form_token(SECRET, card, made, LIFETIME)
        for later in (0, 1, rng.randrange(LIFETIME), LIFETIME):
            assert bound_form_token_ok(SECRET, card, token, made + later, LIFETIME), (card, made, later)
        assert not bound_form_token_ok(SECRET, card, token, made + LIFETIME * 3 // 2 + 1, LIFETIME)
        assert not bound_form_token_ok(SECRET, card, token, made - LIFETIME, LIFETIME)  # from the future
        assert not bound_form_token_ok(SECRET, card + "x", token, made, LIFETIME)  # another card
        assert not bound_form_token_ok("other-secret", card, token, made, LIFETIME)
        assert not bound_form_token_ok(
            SECRET, card, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), made, LIFETIME
        )


def test_cards_turn_to_a_new_token_at_different_moments():
    """A cached card page holds its token: if all cards turned at one second, the whole cache would be
    rendered again at once. Over one half-lifetime every card turns once, at its own moment."""
    start = 1_790_000_000
    moments = []
    for n in range(200):
        card = f"card-{n:04d}-abcdefghijklmnopqrstu"
        first = bound_form_token(SECRET, card, start, LIFETIME)
        turns = [
            t
            for t in range(start, start + LIFETIME // 2 + 1, 5)
            if bound_form_token(SECRET, card, t, LIFETIME) != first
        ]
        assert turns, card
        moments.append(turns[0])
    assert len(set(moments)) > 150  # spread over the half hour, not one instant
    assert max(moments) - min(moments) > LIFETIME // 3
