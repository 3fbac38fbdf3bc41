"""The Management API's blueprint, /api/v2, and how its errors are answered (always Auth0's JSON)."""
import logging

from flask import Blueprint, g, request
from werkzeug.exceptions import HTTPException

from blueprints.management_api.errors import ManagementApiError, error_response, http_error_response
from models import db
from models.applications import find_application
from models.auth_event import MANAGEMENT_API
from models.state import app_state

log = logging.getLogger("appcreds.management_api")

bp = Blueprint("management_api", __name__, url_prefix="/api/v2")


@bp.errorhandler(ManagementApiError)
def handle_management_error(error: ManagementApiError):
    db.session.rollback()  # nothing is stored half-way
    record_refusal(error)
    return error_response(error)


def record_refusal(error: ManagementApiError) -> None:
    """Every refused call is in the event log too (Auth0's fapi), on the caller's Logs tab when it is known."""
    caller_id = (g.get("management_caller") or {}).get("client_id")
    caller = find_application(caller_id) if caller_id else None
    app_state().events.record(
        event_type="management_api_call", client_id_sent=caller_id, client_pk=caller.id if caller else None,
        endpoint=MANAGEMENT_API, method=None, outcome="failure", reason_code=error.error_code or str(error.status),
        reason=f"{request.method} {request.path[:200]} refused ({error.status}): {error.message[:300]}",
        source_ip=request.remote_addr, actor=f"application {caller_id}" if caller_id else None)


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
