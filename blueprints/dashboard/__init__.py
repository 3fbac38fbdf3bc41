"""The dashboard: applications, their settings, credentials and logs (administrators only)."""
from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from blueprints.dashboard import views  # noqa: E402,F401
