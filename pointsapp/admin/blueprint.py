"""The admin feature's blueprint, on its own so the view modules and ``routes`` import it without a cycle."""

from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="templates", url_prefix="/admin")
