"""Routes of the villagers feature (see its issue)."""
from flask import Blueprint

bp = Blueprint("villagers", __name__, template_folder="templates")
