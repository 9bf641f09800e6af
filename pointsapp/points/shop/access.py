"""Who may do what at the shop. Deny by default."""
from __future__ import annotations

from ..errors import Refused
from ..registry import Role, StaffUser, Village

# Admins can do everything a clerk (兑换员) can.
SHOP_ACTIONS: dict[str, frozenset[Role]] = {
    "shop.redeem": frozenset({Role.clerk, Role.admin}),
    "shop.stock": frozenset({Role.clerk, Role.admin}),
    "shop.cancel_same_day": frozenset({Role.clerk, Role.admin}),
    "shop.cancel": frozenset({Role.admin}),
    "shop.manage": frozenset({Role.admin}),
}


def allowed(actor: StaffUser | None, village: Village, action: str) -> bool:
    return (actor is not None and actor.active and actor.village_id == village.id
            and Role(actor.role) in SHOP_ACTIONS[action])


def require(actor: StaffUser | None, village: Village, action: str) -> None:
    if actor is None or not actor.active:
        raise Refused("not_allowed", f"an active staff account is needed for {action}")
    if Role(actor.role) not in SHOP_ACTIONS[action]:
        raise Refused("not_allowed", f"role {Role(actor.role).value} may not do {action}")
    if actor.village_id != village.id:
        raise Refused("not_allowed", f"user {actor.username} does not belong to village {village.name}")
