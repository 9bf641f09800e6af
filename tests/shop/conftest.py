"""Core fixtures for the shop tests: a plain SQLAlchemy session, no Flask app."""

import pytest
from sqlalchemy.orm import Session

from pointsapp.points.registry import Role
from tests.factories import World


@pytest.fixture
def session(engine):
    with Session(engine) as s:
        yield s


@pytest.fixture
def world(session) -> World:
    w = World(session)
    w.clerk = w.user("clerk1", Role.clerk)
    session.commit()
    return w
