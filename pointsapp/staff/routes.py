"""Routes of the staff feature (see its issue)."""
from flask import Blueprint

bp = Blueprint("staff", __name__, template_folder="templates")
