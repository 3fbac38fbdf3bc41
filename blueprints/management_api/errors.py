"""Errors in Auth0's shape, always JSON: {"statusCode", "error", "message", "errorCode"}.

Views raise ManagementApiError; `error_response` renders it. Routing errors (404, 405, 413) under
/api/v2/ are rendered by the app-wide handler (blueprints/__init__.py) through `http_error_response`,
since a blueprint's handlers never see them. Nothing here ever shows a stack trace.
"""
from flask import jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES


class ManagementApiError(Exception):
    """An answer other than success: the status, a sentence that says what is wrong, Auth0's errorCode."""

    def __init__(self, status: int, message: str, error_code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code
        self.headers = headers or {}


def bad_request(message: str, error_code: str = "invalid_body") -> ManagementApiError:
    return ManagementApiError(400, message, error_code)


def not_found(message: str) -> ManagementApiError:
    return ManagementApiError(404, message, "inexistent_resource")


def error_response(error: ManagementApiError):
    body = {"statusCode": error.status, "error": HTTP_STATUS_CODES.get(error.status, "Error"),
            "message": error.message}
    if error.error_code:
        body["errorCode"] = error.error_code
    response = jsonify(body)
    response.status_code = error.status
    response.headers.update(error.headers)
    response.headers["Cache-Control"] = "no-store"
    return response


ROUTING_ERROR_CODES = {404: "inexistent_resource", 405: "method_not_allowed", 413: "payload_too_large",
                       415: "unsupported_media_type"}


def http_error_response(error: HTTPException):
    """A routing or protocol error (404, 405 with its Allow header, 413 ...) in Auth0's shape."""
    messages = {404: "Not Found: no such path in the Management API",
                413: "Payload too large: the request body exceeds the size limit"}
    message = messages.get(error.code) or (error.description or error.name)
    response = error_response(ManagementApiError(error.code, message, ROUTING_ERROR_CODES.get(error.code)))
    for name, value in error.get_headers():
        if name.lower() == "allow":  # RFC 9110 §15.5.6: a 405 names the methods the resource has
            response.headers["Allow"] = value
    return response
