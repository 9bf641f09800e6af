"""Routes of the admin feature: registry, roster import/export, rule book, staff users, audit log,
village settings. Every view is for admins (viewers may read the registry lists)."""

from . import views_activities, views_audit, views_registry, views_roster, views_rules, views_users  # noqa: F401
from .blueprint import bp

__all__ = ["bp"]
