"""Core fixtures: a plain SQLAlchemy session, no Flask app."""

import pytest
from sqlalchemy.orm import Session

from tests.factories import World


@pytest.fixture
def session(engine):
    with Session(engine) as s:
        yield s


@pytest.fixture
def world(session) -> World:
    w = World(session)
    session.commit()
    return w
