"""Routes of the admin feature: registry, roster import/export, rule book, staff users, audit log,
village settings. Every view is for admins (viewers may read the registry lists)."""
from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="templates", url_prefix="/admin")

from . import views_activities, views_audit, views_registry, views_roster, views_rules, views_users  # noqa: E402,F401
