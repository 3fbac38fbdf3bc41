"""RFC 6749 §5.2 error helpers for the protocol endpoints.

The front door, the method checks and the endpoints raise these; the server renders them as
JSON with `Cache-Control: no-store`.
Descriptions must stay in the RFC 6749 character set (printable ASCII without `"` or `\\`):
`printable` makes any text safe to quote in one.
"""
from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidClientError

GENERIC_CLIENT_FAILURE = "client authentication failed"


def printable(text) -> str:
    """Text safe for error_description (RFC 6749 §5.2: printable ASCII without quote or backslash).

    Anything else would make Authlib's error itself fail, a 500.
    """
    return "".join(ch for ch in str(text) if 0x20 <= ord(ch) <= 0x7E and ch not in '"\\')


class LoggedOAuth2Error(OAuth2Error):
    """An RFC 6749 §5.2 error that also carries a `reason_code` and a `reason` for the event log.

    `description` goes on the wire; `reason` (the description, unless given) only to the log.
    """

    def __init__(self, reason_code: str, description: str, reason: str | None = None):
        super().__init__(description=description)
        self.reason_code = reason_code
        self.reason = reason or description


class ClientAuthFailure(LoggedOAuth2Error, InvalidClientError):
    """`invalid_client` (always 401) with a private reason for the event log.

    The response says only "client authentication failed", the same for an unknown client,
    a wrong secret or a bad signature, so nobody can probe which applications exist. The
    precise `reason_code` and `reason` go to the event log (node-oidc-provider's
    error_description / error_detail split).
    """

    status_code = 401

    def __init__(self, reason_code: str, reason: str, description: str = GENERIC_CLIENT_FAILURE):
        super().__init__(reason_code, description, reason)
        self.authorization_header_used = False  # set by the front door; adds WWW-Authenticate (RFC 6749 §5.2)

    def get_headers(self):
        headers = OAuth2Error.get_headers(self)
        if self.authorization_header_used:
            headers.append(("WWW-Authenticate", 'Basic realm="appcreds", error="invalid_client"'))
        return headers


class ClientRequestError(LoggedOAuth2Error):
    """A malformed client-authentication request: `invalid_request` (400) with a log reason."""

    error = "invalid_request"
    status_code = 400


class TooManyRequestsError(LoggedOAuth2Error):
    """429 with Retry-After (RFC 6585 §4; RFC 9126 §2.3 for PAR): a rate limit or a cap was reached.

    `temporarily_unavailable` is RFC 6749 §4.1.2.1's code for "try again later"; on the other
    endpoints it keeps the RFC 6749 §5.2 shape, and the status says the rest.
    """

    error = "temporarily_unavailable"
    status_code = 429

    def __init__(self, reason_code: str, description: str, retry_after: int, reason: str | None = None):
        super().__init__(reason_code, description, reason)
        self.retry_after = max(1, int(retry_after))

    def get_headers(self):
        return [*super().get_headers(), ("Retry-After", str(self.retry_after))]
