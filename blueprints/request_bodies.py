"""Refusing an oversized request body without breaking the connection.

Werkzeug refuses a body over MAX_CONTENT_LENGTH (APPCREDS_MAX_BODY_BYTES) before reading any of
it. If the server then answers and closes while the body is still arriving, the client's next
write fails ("Broken pipe") and the kernel resets the connection: a proxy in front (nginx) turns
that into 502 Bad Gateway, and a direct client may never read the 413. So before answering 413
the body is read and thrown away, up to APPCREDS_DISCARD_BODY_BYTES; a body declared larger than
that is not read, and the connection is closed as before.
"""
from flask import current_app, request

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
