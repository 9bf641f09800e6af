"""Routes of the shop feature. Importing the view modules registers their routes on ``bp``."""

from . import views_admin, views_desk, views_public, views_stock  # noqa: F401
from .blueprint import bp

__all__ = ["bp"]
