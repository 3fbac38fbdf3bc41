"""RFC 6749 §5.2 error helpers for the protocol endpoints.

Hooks raise these; the server renders them as JSON with `Cache-Control: no-store`.
Descriptions must stay in the RFC 6749 character set (printable ASCII without `"` or `\\`).
"""
from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidClientError

GENERIC_CLIENT_FAILURE = "client authentication failed"


class ClientAuthFailure(InvalidClientError):
    """`invalid_client` (always 401) with a private reason for the event log.

    The response says only "client authentication failed", the same for an unknown client,
    a wrong secret or a bad signature, so nobody can probe which applications exist. The
    precise `reason_code` and `reason` go to the event log (node-oidc-provider's
    error_description / error_detail split).
    """

    status_code = 401

    def __init__(self, reason_code: str, reason: str, description: str = GENERIC_CLIENT_FAILURE):
        super().__init__(description=description, status_code=401)
        self.reason_code = reason_code
        self.reason = reason
        self.basic_attempted = False  # set by the front door; adds WWW-Authenticate (RFC 6749 §5.2)

    def get_headers(self):
        headers = OAuth2Error.get_headers(self)
        if self.basic_attempted:
            headers.append(("WWW-Authenticate", 'Basic realm="appcreds", error="invalid_client"'))
        return headers


class ClientRequestError(OAuth2Error):
    """A malformed client-authentication request: `invalid_request` (400) with a log reason."""

    error = "invalid_request"
    status_code = 400

    def __init__(self, reason_code: str, description: str):
        super().__init__(description=description)
        self.reason_code = reason_code
        self.reason = description
