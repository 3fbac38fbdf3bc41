"""One warning per process when a request reaches the server at another address than its issuer.

Audiences, assertion `aud` values and the Endpoints page all derive from APPCREDS_ISSUER, so a
server run on another port than its issuer names (make run PORT=5077 with an old issuer) hands out
addresses that do not work. The dashboard says so on each of its pages (dashboard/common.py
`issuer_mismatch`); this says it in the server's log too, once, at the first such request, naming
both addresses. Until then a request costs one tuple comparison; after it, one attribute read.
"""
import logging
from urllib.parse import urlsplit

from flask import Flask, request

from models.auth_event import loggable

log = logging.getLogger("appcreds")


class IssuerHostCheck:
    """A before-request hook comparing the request's scheme and host with the issuer's."""

    def __init__(self, issuer: str):
        named = urlsplit(issuer)
        self.issuer = issuer
        self.expected = (named.scheme, named.netloc.lower())
        self.warned = False  # each process has its own copy: each worker warns once

    def __call__(self):
        if self.warned or (request.scheme, request.host.lower()) == self.expected:
            return
        self.warned = True
        log.warning("a request reached %s://%s but the issuer is %s: audiences and addresses derived from the "
                    "issuer will not work here; set APPCREDS_ISSUER (make run derives it from HOST and PORT)",
                    request.scheme, loggable(request.host), self.issuer)


def init_issuer_host_check(app: Flask) -> None:
    app.before_request(IssuerHostCheck(app.config["APPCREDS_ISSUER"]))
