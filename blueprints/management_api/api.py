"""The Management API's blueprint, /api/v2, and how its errors are answered (always Auth0's JSON)."""
import logging

from flask import Blueprint
from werkzeug.exceptions import HTTPException

from blueprints.management_api.errors import ManagementApiError, error_response, http_error_response
from models import db

log = logging.getLogger("appcreds.management_api")

bp = Blueprint("management_api", __name__, url_prefix="/api/v2")


@bp.errorhandler(ManagementApiError)
def handle_management_error(error: ManagementApiError):
    db.session.rollback()  # nothing is stored half-way
    return error_response(error)


@bp.errorhandler(HTTPException)
def handle_http_error(error: HTTPException):
    db.session.rollback()
    return http_error_response(error)


@bp.errorhandler(Exception)
def handle_unexpected_error(error: Exception):
    """Log the traceback, roll back, and answer a bare 500 in Auth0's shape: never a stack trace."""
    log.exception("unhandled error in the Management API")
    db.session.rollback()
    return error_response(ManagementApiError(500, "Internal error", "internal_error"))
