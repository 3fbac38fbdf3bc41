"""RFC 9126: Pushed Authorization Requests at POST /oauth/par.

In order:
1. the body carries no request_uri (§2.1) - the view already checked its shape;
2. the client authenticates with its own method, whichever it is, through the front door
   (endpoint "par"), which records the attempt;
3. a `request` parameter must be a valid request object (request_objects.py) and then only
   its parameters count (§3); without one, the body's authorization parameters are the request;
4. an application that requires signed requests must send a request object (RFC 9101 §10.5);
5. the parameters are validated as /authorize would (§2.1): Authlib's grant checks redirect
   URI, response type, audience and scopes, PKCE;
6. they are stored under a one-time reference that lives par_request_expiry seconds, and the
   answer is 201 with request_uri and expires_in (§2.2).
"""
import secrets
from datetime import timedelta

from authlib.oauth2.rfc6749 import InvalidRequestError

from blueprints.oauth import inspection
from blueprints.oauth.housekeeping import purge_now_and_then
from blueprints.oauth.request_objects import AUTHORIZATION_PARAMETERS, RequestObjectError, check_request_object
from blueprints.oauth.request_resolution import (
    REQUEST_URI_PREFIX,
    check_room_for,
    ignored_outside,
    record_request_failure,
    record_request_object_checked,
    validate_parameters,
)
from models import PushedRequest, db
from models.auth_methods import USER_FLOW_METHODS
from models.timeutil import utcnow
from models.tokens import token_digest

# RFC 9126 §2: any client may push, public ones (none) included.
PAR_METHODS = USER_FLOW_METHODS
# Parameters of the PAR request itself, never part of the authorization request.
CLIENT_AUTH_PARAMETERS = ("client_id", "client_secret", "client_assertion", "client_assertion_type", "request")


def push_authorization_request(server, oauth_request) -> tuple[int, dict, list]:
    """Authenticate the client, validate the pushed request, store it; returns (status, body, headers)."""
    form = oauth_request.form
    # RFC 9126 §2.1: "The request_uri authorization request parameter MUST NOT be provided".
    if "request_uri" in form:
        raise InvalidRequestError("request_uri must not be sent to the PAR endpoint")
    client = server.authenticate_client(oauth_request, PAR_METHODS, "par")
    outer_client_id = form.get("client_id") or client.client_id
    if "request" in form:
        try:
            parameters = check_request_object(client, form["request"], outer_client_id)
        except RequestObjectError as error:
            record_request_failure(client, "par", error, inspection.failed_document(error))
            raise
        record_request_object_checked(client, "par")
        notes = ignored_outside(form, parameters, CLIENT_AUTH_PARAMETERS)
        signed = True
    else:
        if client.require_signed_request_object:
            raise InvalidRequestError("this application requires signed authorization requests: send a request "
                                      "object in the request parameter (JAR, RFC 9101)")
        parameters = {name: form[name] for name in AUTHORIZATION_PARAMETERS if name in form}
        notes, signed = [], False
    parameters["client_id"] = client.client_id
    validate_parameters(client, parameters)
    check_room_for(PushedRequest, client)
    reference = secrets.token_urlsafe(32)
    lifetime = int(client.par_request_expiry)
    db.session.add(PushedRequest(
        reference_digest=token_digest(reference), client_pk=client.id, parameters=parameters, signed=signed,
        notes=notes, created_at=utcnow(), expires_at=utcnow() + timedelta(seconds=lifetime)))
    db.session.commit()
    purge_now_and_then()
    # RFC 9126 §2.2: 201 Created with the request_uri and its lifetime.
    return 201, {"request_uri": REQUEST_URI_PREFIX + reference, "expires_in": lifetime}, [
        ("Content-Type", "application/json"), ("Cache-Control", "no-store")]
