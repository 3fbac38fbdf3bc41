"""Dashboard sign-in and sign-out (Flask-Login sessions, Flask-WTF forms with CSRF)."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from blueprints.auth import views  # noqa: E402,F401
