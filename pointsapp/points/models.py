"""Imports every core model so that the metadata is complete (migrations, create_all)."""

from .ledger import CaptureBatch, ClosedPeriod, LedgerEntry, Submission  # noqa: F401
from .registry import Group, Household, HouseholdMove, StaffUser, Village, Villager  # noqa: F401
from .rules import Rule, RuleVersion  # noqa: F401
from .standings import Tally  # noqa: F401
from .activities import Activity  # noqa: F401,E402
from .audit import AuditEvent  # noqa: F401,E402
from .notice import Notice, NoticeEntry  # noqa: F401,E402
from .objections import Objection  # noqa: F401,E402
from .shop.models import (  # noqa: F401,E402
    RedeemableReset,
    Redemption,
    RedemptionLine,
    ResetLine,
    ShopItem,
    ShopSettings,
    StockMovement,
)
from .throttle import SignInThrottle  # noqa: F401,E402
from .versions import VillageVersion  # noqa: F401,E402
