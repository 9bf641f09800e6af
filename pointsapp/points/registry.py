"""Registry: village → group (村民小组) → household (户) → villager, and staff users."""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from typing import TypeVar

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .db import Base, UTCDateTime, str_enum, utcnow
from .errors import NotFound
from .passwords import check_password_hash, generate_password_hash


class VillagerStatus(enum.StrEnum):
    active = "active"
    moved_out = "moved_out"
    deceased = "deceased"


class Role(enum.StrEnum):
    admin = "admin"  # village committee (两委)
    reviewer = "reviewer"  # supervision committee / scoring panel (监委会)
    grid_worker = "grid_worker"  # 网格员, scoped to groups
    viewer = "viewer"  # read-only county office
    clerk = "clerk"  # 积分超市 desk: redemptions and stock


# werkzeug's default (scrypt). Tests lower it to keep the suite fast; never in production.
PASSWORD_METHOD = "scrypt"
MIN_PASSWORD_LENGTH = 12  # ASVS level 2 (2.1.1)
# A one-time password (new account, reset) works this long; then an admin must reset it again.
ONE_TIME_PASSWORD_LIFETIME = dt.timedelta(hours=72)


def new_session_secret() -> str:
    """The per-user secret that every session and remember-me token of the user is bound to."""
    return secrets.token_hex(32)


def new_card_token() -> str:
    """An unguessable card token: 24 random bytes = 192 bits, URL-safe."""
    return secrets.token_urlsafe(24)


class Village(Base):
    __tablename__ = "villages"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    county: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    notice_days: Mapped[int] = mapped_column(Integer, default=7)  # 公示 objection window
    show_blacklist: Mapped[bool] = mapped_column(Boolean, default=False)  # 黑榜 off by default
    # The village committee's phone, shown on cards, the public notice and printed QR cards.
    committee_phone: Mapped[str | None] = mapped_column(String(32))
    # Award tiers of the monthly 评比, "一等奖:3;二等奖:6;三等奖:10" (see points.awards); None = default.
    award_tiers: Mapped[str | None] = mapped_column(String(300))
    # The date printed on certificates (None: the day they are printed).
    certificate_date: Mapped[dt.date | None] = mapped_column(Date)
    # Head of the village's hash chain; advanced only under the village row lock.
    ledger_seq: Mapped[int] = mapped_column(Integer, default=0)
    ledger_head: Mapped[str] = mapped_column(String(64), default="0" * 64)
    # Corrections up to this seq were posted before migration 0002_lifecycle: their hash holds the
    # corrected entry's id where later ones hold its seq (see ledger.verify_chain). 0: none.
    legacy_hash_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    groups: Mapped[list[Group]] = relationship(back_populates="village", order_by="Group.sort_key")

    def __repr__(self) -> str:
        return f"<Village {self.id} {self.name}>"


class Group(Base):
    """村民小组."""

    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("village_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    sort_key: Mapped[int] = mapped_column(Integer, default=0)

    village: Mapped[Village] = relationship(back_populates="groups")


class Household(Base):
    """户. ``number`` is the village-unique 户号; the head is one of its villagers."""

    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("village_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    number: Mapped[str] = mapped_column(String(20))
    house_number: Mapped[str | None] = mapped_column(String(50))  # 门牌号, text ("001")
    head_id: Mapped[int | None] = mapped_column(
        ForeignKey("villagers.id", use_alter=True, name="fk_households_head_id_villagers")
    )
    card_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_card_token)
    card_rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    group: Mapped[Group] = relationship()
    head: Mapped[Villager | None] = relationship(foreign_keys=[head_id], post_update=True)
    members: Mapped[list[Villager]] = relationship(
        back_populates="household", foreign_keys="Villager.household_id", order_by="Villager.id"
    )

    @property
    def head_name(self) -> str:
        return self.head.name if self.head else f"#{self.number}"

    def rotate_card(self) -> str:
        self.card_token = new_card_token()
        self.card_rotated_at = utcnow()
        return self.card_token


class Villager(Base):
    __tablename__ = "villagers"
    __table_args__ = (
        Index("ix_villagers_household_status", "household_id", "status"),
        CheckConstraint("status IN ('active', 'moved_out', 'deceased')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    name: Mapped[str] = mapped_column(String(50), index=True)
    sex: Mapped[str | None] = mapped_column(String(4))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    birth_month: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str | None] = mapped_column(String(30))  # never shown publicly
    relation: Mapped[str | None] = mapped_column(String(20))  # 与户主关系
    status: Mapped[VillagerStatus] = mapped_column(str_enum(VillagerStatus), default=VillagerStatus.active)

    household: Mapped[Household] = relationship(back_populates="members", foreign_keys=[household_id])

    @property
    def is_active(self) -> bool:
        return self.status == VillagerStatus.active


class HouseholdMove(Base):
    """A villager's move between households (marriage is common). History only."""

    __tablename__ = "household_moves"

    id: Mapped[int] = mapped_column(primary_key=True)
    villager_id: Mapped[int] = mapped_column(ForeignKey("villagers.id"), index=True)
    from_household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    to_household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    moved_on: Mapped[dt.date] = mapped_column(Date)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


staff_groups = Table(
    "staff_user_groups",
    Base.metadata,
    Column("user_id", ForeignKey("staff_users.id"), primary_key=True),
    Column("group_id", ForeignKey("groups.id"), primary_key=True),
)


class StaffUser(Base):
    """A staff account. No default accounts exist; the first admin comes from the CLI."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(50))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"), index=True)
    villager_id: Mapped[int | None] = mapped_column(ForeignKey("villagers.id"))  # the person they also are
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set with a one-time password: after this moment the password no longer signs in.
    password_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Sessions and remember-me tokens are signed with it; a new one ends them all
    # (sign-out, password change, admin reset, deactivation).
    session_secret: Mapped[str] = mapped_column(String(64), default=new_session_secret)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    village: Mapped[Village | None] = relationship()
    villager: Mapped[Villager | None] = relationship()
    groups: Mapped[list[Group]] = relationship(secondary=staff_groups, order_by="Group.sort_key")

    def set_password(self, password: str) -> None:
        """A password the user chose: it does not expire, and every other session ends."""
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        self.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)
        self.password_expires_at = None
        self.end_sessions()

    def set_one_time_password(self, password: str, now: dt.datetime | None = None) -> None:
        """A password an admin hands over: it must be changed at sign-in and expires unused."""
        self.set_password(password)
        self.must_change_password = True
        self.password_expires_at = (now or utcnow()) + ONE_TIME_PASSWORD_LIFETIME

    def password_expired(self, now: dt.datetime | None = None) -> bool:
        expires = self.password_expires_at
        if expires is None:
            return False
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=dt.timezone.utc)
        return (now or utcnow()) >= expires

    def end_sessions(self) -> None:
        """Rotate the session secret: every session and remember-me token of this user stops working."""
        self.session_secret = new_session_secret()

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def own_household_id(self) -> int | None:
        return self.villager.household_id if self.villager else None

    @property
    def group_ids(self) -> set[int]:
        return {g.id for g in self.groups}

    # Flask-Login's protocol, written out so that the core needs no Flask import.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)


_Owned = TypeVar("_Owned", bound=Base)


def in_village(session: Session, model: type[_Owned], ident: object, village: Village) -> _Owned | None:
    """The ``model`` row with id ``ident`` if it belongs to ``village`` (has its ``village_id``), else None:
    another village's ids are simply not found."""
    obj = session.get(model, ident)
    return obj if obj is not None and getattr(obj, "village_id", None) == village.id else None


def get_in_village(session: Session, model: type[_Owned], ident: object, village: Village, what: str) -> _Owned:
    """:func:`in_village`, refusing with ``NotFound(what, ident)`` when there is none."""
    obj = in_village(session, model, ident, village)
    if obj is None:
        raise NotFound(what, ident)
    return obj
