"""Routes of the reports feature (see its issue)."""
from flask import Blueprint

bp = Blueprint("reports", __name__, template_folder="templates")
