"""Blueprints, one per audience: protocol JSON (oauth, demo_api), browser pages (auth, authorize,
dashboard), CLI. Each blueprint package defines `bp` in its views module and its __init__.py
re-exports it, so no module imports the package it belongs to.
"""
import logging

from flask import Flask, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from blueprints.extensions import PROTOCOL_PATH_PREFIXES
from blueprints.issuer_host import init_issuer_host_check
from blueprints.management_api.errors import http_error_response
from blueprints.oauth.client_auth import record_rejected_request
from blueprints.oauth.errors import printable
from blueprints.oauth.inspection import init_inspection
from blueprints.rate_limits import init_rate_limits, retry_after
from blueprints.request_bodies import discard_request_body
from blueprints.security_headers import init_security_headers
from models import db
from models.auth_event import loggable

log = logging.getLogger("appcreds")
MANAGEMENT_API_PREFIX = "/api/v2/"


def register_blueprints(app: Flask) -> None:
    from blueprints import auth, authorize, cli, dashboard, demo_api, management_api, oauth
    from blueprints.extensions import csrf
    from blueprints.oauth.server import init_authorization_server

    init_authorization_server(app)
    app.register_blueprint(oauth.bp)
    app.register_blueprint(authorize.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(demo_api.bp)
    csrf.exempt(management_api.bp)  # bearer tokens, never a cookie: nothing to forge across sites
    app.register_blueprint(management_api.bp)
    cli.register_commands(app)
    init_security_headers(app)  # framing, CSP, caching, HSTS: blueprints/security_headers.py
    init_rate_limits(app)  # sign-in, /authorize, PAR, failed client authentication: blueprints/rate_limits.py
    init_issuer_host_check(app)  # one log warning when a request's host is not the issuer's
    init_inspection(app)  # each request's inspector record ends with it: blueprints/oauth/inspection.py
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)


def wants_json() -> bool:
    # By path, not Accept: routing errors never reach blueprint handlers (Flask docs, blueprints).
    return request.path.startswith(PROTOCOL_PATH_PREFIXES)


def handle_http_error(error: HTTPException):
    if error.code == 413:
        discard_request_body()  # so the client (or the proxy in front) can read the 413
    if error.code == 429:  # a rate limit (blueprints/rate_limits.py): say when to come back
        response = rate_limited_response(error)
        response.headers["Retry-After"] = str(retry_after())
        return response
    if not wants_json():
        return render_template("errors/error.html", error=error), error.code
    if request.path.startswith(MANAGEMENT_API_PREFIX):  # Auth0's error shape (blueprints/management_api/errors.py)
        return http_error_response(error)
    if request.path.startswith("/oauth/"):
        if error.code == 413:
            description = "the request body is too large"
            record_rejected_request(request.path.rsplit("/", 1)[-1], "body_too_large", description)
        else:
            description = error.description if error.code in (404, 405) else "bad request"
        # RFC 6749 §5.2 shape for every protocol error.
        body = {"error": "invalid_request", "error_description": printable(description)}
    else:
        body = {"error": error.name.lower().replace(" ", "_"), "error_description": printable(error.description)}
    response = jsonify(body)
    response.status_code = error.code
    response.headers["Cache-Control"] = "no-store"
    return response


def rate_limited_response(error: HTTPException):
    """429: RFC 6749 §5.2 JSON on the protocol endpoints, Auth0's shape on /api/v2, else a page."""
    if not wants_json():
        return make_response(render_template("errors/error.html", error=error), 429)
    if request.path.startswith(MANAGEMENT_API_PREFIX):
        return http_error_response(error)
    response = jsonify({"error": "temporarily_unavailable", "error_description": "too many requests; try again later"})
    response.status_code = 429
    response.headers["Cache-Control"] = "no-store"
    return response


def handle_unexpected_error(error: Exception):
    """Log the traceback, roll back half-done work, and answer without any detail."""
    log.exception("unhandled error on %s %s", loggable(request.method), loggable(request.path))
    db.session.rollback()
    if wants_json():
        response = jsonify({"error": "server_error", "error_description": "internal error"})
        response.status_code = 500
        return response
    return render_template("errors/error.html", error=None), 500
