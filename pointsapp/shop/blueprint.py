"""The shop feature's blueprint (its views register on it)."""

from flask import Blueprint

bp = Blueprint("shop", __name__, template_folder="templates")
