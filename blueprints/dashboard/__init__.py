"""The dashboard: applications, their settings, credentials and logs (administrators only)."""
from flask import Blueprint

bp = Blueprint("dashboard", __name__)

# The Credentials tab's JAR/PAR section registers itself with credentials.py.
from blueprints.dashboard import authorization_requests, views  # noqa: E402,F401
