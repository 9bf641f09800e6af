"""Routes of the admin feature (see its issue)."""
from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="templates", url_prefix="/admin")
