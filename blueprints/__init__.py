"""Blueprints, one per audience: protocol JSON (oauth, demo_api), browser pages (auth, authorize,
dashboard), CLI. Each blueprint package defines `bp` in its views module and its __init__.py
re-exports it, so no module imports the package it belongs to.
"""
import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from blueprints.extensions import PROTOCOL_PATH_PREFIXES
from blueprints.management_api.errors import http_error_response
from blueprints.oauth.client_auth import record_rejected_request
from blueprints.oauth.errors import printable
from models import db

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
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)


def wants_json() -> bool:
    # By path, not Accept: routing errors never reach blueprint handlers (Flask docs, blueprints).
    return request.path.startswith(PROTOCOL_PATH_PREFIXES)


def handle_http_error(error: HTTPException):
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


def handle_unexpected_error(error: Exception):
    """Log the traceback, roll back half-done work, and answer without any detail."""
    log.exception("unhandled error on %s %s", request.method, request.path)
    db.session.rollback()
    if wants_json():
        response = jsonify({"error": "server_error", "error_description": "internal error"})
        response.status_code = 500
        return response
    return render_template("errors/error.html", error=None), 500
