"""The staff feature's blueprint, on its own so the view modules and ``routes`` import it without a cycle."""

from flask import Blueprint

bp = Blueprint("staff", __name__, template_folder="templates")
