"""The protocol endpoints: /oauth/* and /.well-known/* (JSON only, no CSRF, no sessions).

views.py defines the blueprint and hands each request to the authorization server (server.py).
"""
from blueprints.oauth.views import bp

__all__ = ["bp"]
