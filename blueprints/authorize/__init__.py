"""End users: the authorization endpoint's pages (sign-in, consent) and their account page.

HTML for people, with sessions and CSRF, apart from the dashboard: an end user never gets a
dashboard session (blueprints/authorize/session.py keeps its own session key), and the
dashboard's administrators cannot sign in to applications here.
"""
from flask import Blueprint

bp = Blueprint("authorize", __name__)

from blueprints.authorize import account, views  # noqa: E402,F401
