"""WSGI entry point: ``gunicorn wsgi:app``."""

from pointsapp import create_app

app = create_app()
