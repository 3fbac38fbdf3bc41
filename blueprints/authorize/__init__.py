"""End users: the authorization endpoint's pages (sign-in, consent) and their account page.

HTML for people, with sessions and CSRF, apart from the dashboard: an end user never gets a
dashboard session (blueprints/authorize/session.py keeps its own session key), and the
dashboard's administrators cannot sign in to applications here.

views.py defines the blueprint and the /authorize pages; account.py adds sign-in and /account
to it.
"""
from blueprints.authorize import account
from blueprints.authorize.views import bp

__all__ = ["account", "bp"]
