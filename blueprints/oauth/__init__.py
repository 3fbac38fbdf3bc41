"""The protocol endpoints: /oauth/* and /.well-known/* (JSON only, no CSRF, no sessions)."""
from flask import Blueprint

bp = Blueprint("oauth", __name__)

from blueprints.oauth import views  # noqa: E402,F401
