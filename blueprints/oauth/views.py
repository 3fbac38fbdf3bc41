"""Protocol views: thin, each hands the request to the authorization server."""
from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749.errors import InsecureTransportError
from flask import Blueprint, jsonify, request

from blueprints.extensions import csrf
from blueprints.oauth.client_auth import record_rejected_request
from blueprints.oauth.errors import printable
from blueprints.oauth.metadata import server_metadata
from blueprints.oauth.par import push_authorization_request
from blueprints.oauth.server import authorization, body_parameters, json_body
from blueprints.rate_limits import par_limits
from models.state import app_state

bp = Blueprint("oauth", __name__)

FORM = "application/x-www-form-urlencoded"


def check_body_shape() -> str | None:
    """What is wrong with the shape of a protocol request's body; None if fine."""
    if request.content_length and request.mimetype not in (FORM, "application/json"):
        return f"the body must be {FORM} or application/json"
    if request.mimetype == "application/json" and not isinstance(json_body(request), dict):
        return "the JSON body must be an object of string parameters"
    # RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once."
    for name, values in body_parameters(request).lists():
        if len(values) > 1:
            return f"parameter {printable(name[:40])} is included more than once"
    return None


def check_token_request_shape() -> str | None:
    """What is wrong with the shape of a token request, before any OAuth processing; None if fine."""
    problem = check_body_shape()
    if problem:
        return problem
    body = body_parameters(request)
    if "grant_type" not in body:
        if "grant_type" in request.args:
            return "grant_type must be sent in the request body, not the query string"
        return "grant_type is required"
    return None


@bp.post("/oauth/token")
@csrf.exempt
def token():
    """RFC 6749 §3.2: the token endpoint."""
    problem = check_token_request_shape()
    if problem:
        record_rejected_request("token", "malformed_request", problem)
        return authorization.handle_error_response(None, InvalidRequestError(problem))
    try:
        return authorization.create_token_response()
    except InsecureTransportError:
        return authorization.handle_error_response(None, InvalidRequestError("the token endpoint requires https"))


def _token_request_endpoint(endpoint: str, respond):
    """Shape check, then `respond()`; https required as at the token endpoint."""
    problem = check_body_shape()
    if problem:
        record_rejected_request(endpoint, "malformed_request", problem)
        return authorization.handle_error_response(None, InvalidRequestError(problem))
    try:
        return respond()
    except InsecureTransportError:
        return authorization.handle_error_response(None, InvalidRequestError(f"the {endpoint} endpoint requires https"))


@bp.post("/oauth/revoke")
@csrf.exempt
def revoke():
    """RFC 7009 §2: token revocation (revocation.py)."""
    return _token_request_endpoint("revocation", lambda: authorization.create_endpoint_response("revocation"))


@bp.post("/oauth/introspect")
@csrf.exempt
def introspect():
    """RFC 7662 §2: token introspection (introspection.py)."""
    return _token_request_endpoint("introspection", lambda: authorization.create_endpoint_response("introspection"))


@bp.post("/oauth/par")
@csrf.exempt
@par_limits
def par():
    """RFC 9126 §2: pushed authorization requests (par.py)."""
    def respond():
        oauth_request = authorization.create_oauth2_request(None)
        try:
            return authorization.handle_response(*push_authorization_request(authorization, oauth_request))
        except OAuth2Error as error:
            error.redirect_uri = error.state = None  # PAR answers the client in JSON, never by redirect
            return authorization.handle_error_response(oauth_request, error)

    return _token_request_endpoint("par", respond)


@bp.get("/.well-known/jwks.json")
def jwks():
    """The public half of the signing keys: current, next and previous (RFC 7517)."""
    response = jsonify(app_state().signing_keys.public_jwks())
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


@bp.get("/.well-known/oauth-authorization-server")
def oauth_metadata():
    """RFC 8414 §3."""
    return jsonify(server_metadata(authorization))


@bp.get("/.well-known/openid-configuration")
def openid_configuration():
    """The same document at the OpenID Connect Discovery path (RFC 8414 §5), for clients that look there."""
    return jsonify(server_metadata(authorization))
