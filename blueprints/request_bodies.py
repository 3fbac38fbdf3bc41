"""Request bodies: an oversized one refused without breaking the connection; forms parsed cheaply.

Werkzeug refuses a body over MAX_CONTENT_LENGTH (APPCREDS_MAX_BODY_BYTES) before reading any of
it. If the server then answers and closes while the body is still arriving, the client's next
write fails ("Broken pipe") and the kernel resets the connection: a proxy in front (nginx) turns
that into 502 Bad Gateway, and a direct client may never read the 413. So before answering 413
the body is read and thrown away, up to APPCREDS_DISCARD_BODY_BYTES; a body declared larger than
that is not read, and the connection is closed as before.

`AppCredsRequest`, Flask's request class for every path here, parses form bodies more cheaply.
"""
from urllib.parse import parse_qsl

import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" decoding error handler used below
from flask import Request, current_app, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

FORM = "application/x-www-form-urlencoded"

CHUNK_BYTES = 64 * 1024


def discard_request_body() -> None:
    """Read what is left of the request body and throw it away, up to the configured bound."""
    bound = int(current_app.config["APPCREDS_DISCARD_BODY_BYTES"])
    declared = request.content_length
    if declared is not None and declared > bound:
        return
    stream = request.environ.get("wsgi.input")
    if stream is None:
        return
    remaining = bound if declared is None else declared  # a chunked body: read until it ends or the bound
    try:
        while remaining > 0:
            chunk = stream.read(min(CHUNK_BYTES, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
    except OSError:  # the client went away: nothing is left to answer
        return


class AppCredsRequest(Request):
    """Flask's request, with a form-urlencoded body read and parsed the way Werkzeug parses it, minus
    the objects Werkzeug builds per request: its form parser (three settings read through
    `current_app`, the Content-Type's parameters parsed again), about 25 µs per token request, and,
    when the body's length is declared, its guarding stream (`_form_body`), about 8 µs more.

    Same rules as Werkzeug 3's `FormDataParser._parse_urlencoded`: a body over MAX_CONTENT_LENGTH is
    refused with 413 before it is read, blank values are kept, undecodable %-escapes are kept as they
    were, and a body that is not UTF-8 is an empty form. Every other content type, multipart
    included, goes to Werkzeug unchanged.
    """

    def _load_form_data(self) -> None:
        if "form" in self.__dict__ or self.mimetype != FORM:
            super()._load_form_data()  # parsed already, or another content type: Werkzeug's parsers
            return
        try:
            items = parse_qsl(self._form_body().decode(), keep_blank_values=True, errors="werkzeug.url_quote")
        except ValueError:  # not UTF-8: Werkzeug answers an empty form too
            items = []
        self.__dict__["form"] = self.parameter_storage_class(items)
        self.__dict__["files"] = self.parameter_storage_class()

    def _form_body(self) -> bytes:
        """The whole body. With a Content-Length, PEP 3333's way: one read of exactly that many bytes
        from the server's stream, which must not give more. A body that ends early is a client that
        went away, as for Werkzeug's LimitedStream. Without one (chunked), or when `get_data` has
        read the body already, Werkzeug's stream, which enforces the limit as it reads."""
        length = self.content_length
        if length is None or getattr(self, "_cached_data", None) is not None:
            return self._get_stream_for_parsing().read()
        limit = self.max_content_length
        if limit is not None and length > limit:
            raise RequestEntityTooLarge()
        body = self.environ["wsgi.input"].read(length)
        if len(body) != length:
            raise ClientDisconnected()
        return body
